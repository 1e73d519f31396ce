"""engine.posted (D27): which months are posted, what they bill, where their correction goes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.plan import Create, Update
from engine.posted import PostedMonth, explain, first_open, keep_posted_contract_ends, posted_months
from engine.resources import ActualObject

STAMP = "2026-11-05T08:00:00"


def _units(sub: str, period: str, units: int, price: str, cost: str, posted: str = "") -> ActualObject:
    address = f'adjustment["{sub}"]["{period}"]'
    attributes = {"units": units, "unitPrice": Decimal(price), "unitCost": Decimal(cost)}
    return ActualObject(address, "adjustment", 1, attributes, locked=bool(posted), posted=posted)


def _charge(sub: str, period: str, name: str, price: str, cost: str) -> ActualObject:
    address = f'charge["{sub}"]["{period}"]["{name}"]'
    attributes = {"unitQuantity": Decimal(1), "unitPrice": Decimal(price), "unitCost": Decimal(cost)}
    return ActualObject(address, "charge", 2, attributes)


def test_a_posted_month_bills_its_units_rounded_to_the_cent_plus_the_charges_its_key_names() -> None:
    objects = {
        o.address: o
        for o in (
            _units("S1", "2026-10", 3, "3.3333", "2.6667", STAMP),  # 9.9999 → 10.00 ; 8.0001 → 8.00
            _charge("S1", "2026-10", "rounding", "0.01", "-0.01"),
            _charge("S1", "2026-10", "correction-2026-11-02", "5.00", "4.00"),
            _charge("S1", "2026-10", "correction-2026-11-20", "1.00", "0.50"),
            _units("S1", "2026-11", 3, "3.3333", "2.6667"),  # not posted
            _units("S2", "2026-10", 1, "7", "6", STAMP),
            _units("S3", "2026-09", 1, "7", "6", STAMP),  # a month the plan does not cover
        )
    }

    posted = posted_months(objects, ["2026-10", "2026-11"])

    assert sorted(posted) == [("S1", "2026-10"), ("S2", "2026-10")]
    month = posted[("S1", "2026-10")]
    assert month == PostedMonth(
        f"approveAndPostDate {STAMP}",
        Decimal("10.01"),
        Decimal("7.99"),
        {"2026-11-02": (Decimal("5.00"), Decimal("4.00")), "2026-11-20": (Decimal("1.00"), Decimal("0.50"))},
    )
    # the correction being planned is left out, so once applied it renders the same amount again
    assert month.billed("2026-11-20") == (Decimal("15.01"), Decimal("11.99"))
    assert month.billed("2026-12-01") == (Decimal("16.01"), Decimal("12.49"))


def test_a_month_billed_by_one_charge_is_posted_once_that_charge_is_billed() -> None:
    billed = _charge("AZ", "2026-10", "x", "41.37", "35.00")
    billed = ActualObject('charge["AZ"]["2026-10"]', "charge", 7, billed.attributes, locked=True)
    rounding = ActualObject(
        'charge["AZ"]["2026-10"]["rounding"]', "charge", 8, billed.attributes, locked=True
    )
    open_month = ActualObject('charge["AZ"]["2026-11"]', "charge", 9, billed.attributes)
    objects = {o.address: o for o in (billed, rounding, open_month)}

    posted = posted_months(objects, ["2026-10", "2026-11"])

    assert posted == {
        ("AZ", "2026-10"): PostedMonth("its charge is billed", Decimal("82.74"), Decimal("70.00"), {})
    }
    # a billed rounding charge alone does not post a month billed by units
    assert posted_months({rounding.address: rounding}, ["2026-10"]) == {}


def test_the_first_open_month_skips_posted_months_and_the_year_end() -> None:
    month = PostedMonth(STAMP, Decimal(0), Decimal(0), {})
    posted = {("S1", "2026-11"): month, ("S1", "2026-12"): month, ("S2", "2027-01"): month}
    assert first_open("S1", "2026-11", posted) == "2027-01"
    assert first_open("S2", "2026-12", posted) == "2027-02"
    assert first_open("S3", "2026-11", posted) == "2026-12"


def test_a_planned_correction_of_a_posted_month_says_why_and_other_changes_are_untouched() -> None:
    posted = f"approveAndPostDate {STAMP}"
    source = {"period": "2026-10", "posted": posted, "billed_in": "2026-11", "correction": "2026-11-02"}
    fix = Create('charge["S1"]["2026-10"]["correction-2026-11-02"]', "charge", {}, source=source)
    plain = Create('charge["S1"]["2026-11"]["rounding"]', "charge", {}, source={"period": "2026-11"})
    update = Update('contract["S1"]', "contract", 5, {"contractName": "a"}, {"contractName": "b"})

    out = explain([fix, plain, update])

    assert out[0].reason == (
        f"month 2026-10 is posted in Autotask (approveAndPostDate {STAMP}); "
        "the change is billed as a correction in 2026-11"
    )
    assert out[1:] == [plain, update]


def test_a_contract_end_is_never_moved_before_a_posted_month() -> None:
    objects = {
        o.address: o
        for o in (_units("S1", "2026-10", 3, "10", "8", STAMP), _units("S2", "2026-10", 3, "10", "8", STAMP))
    }
    shorter = Update(
        'contract["S1"]',
        "contract",
        5,
        {"endDate": date(2026, 12, 31), "contractName": "old"},
        {"endDate": date(2026, 9, 30), "contractName": "new"},
    )
    only_end = Update(
        'contract["S2"]', "contract", 6, {"endDate": date(2026, 12, 31)}, {"endDate": date(2026, 9, 30)}
    )
    after_posted = Update(
        'contract["S2"]', "contract", 6, {"endDate": date(2026, 12, 31)}, {"endDate": date(2026, 10, 31)}
    )
    unposted = Update(
        'contract["S3"]', "contract", 7, {"endDate": date(2026, 12, 31)}, {"endDate": date(2026, 1, 31)}
    )

    out, messages = keep_posted_contract_ends([shorter, only_end, after_posted, unposted], objects)

    assert out == [
        Update('contract["S1"]', "contract", 5, {"contractName": "old"}, {"contractName": "new"}),
        after_posted,
        unposted,
    ]
    assert messages == [
        f'contract["{sub}"]: endDate would move to 2026-09-30, but month 2026-10 is posted in Autotask, so '
        "billsync leaves the end date (D27); un-post the month in Autotask to end the contract earlier"
        for sub in ("S1", "S2")
    ]
