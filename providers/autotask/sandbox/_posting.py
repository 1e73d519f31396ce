"""Approve & Post: periods of recurring billing that Autotask has posted, and what that freezes.

Autotask posts recurring billing period by period; a posted period's unit rows carry
``approveAndPostDate`` (API-FACTS A9.4) and a charge, once invoiced, ``isBilled`` (A9.5). After
that, changes that would modify a posted period are refused until an administrator un-posts it
(A10, KB370000000540): a ContractServiceAdjustment effective inside a posted period, a contract
end date moved so that it cuts a posted period off, and (A9.5, CONFIRMED) any update of a billed
charge. The REST error text is NOT FOUND: the sandbox answers the stricter 500 ``errors`` shape
with its own wording (FIDELITY.md).

The sandbox posts every contract alike (``post_through``); each posting is kept with its time,
and a unit row's ``approveAndPostDate`` is the time of the first posting that covered its period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from providers.autotask.entities import PERIOD_MONTHS

from ._billing import add_months
from ._errors import ApiError
from ._values import parse_date

if TYPE_CHECKING:
    from ._store import Row, SandboxStore

SCHEMA = "CREATE TABLE IF NOT EXISTS tenant_posts (through TEXT PRIMARY KEY, posted_at TEXT NOT NULL)"
"""Each approve-and-post run: the last day it covered and when it ran (earliest run kept)."""


@dataclass(frozen=True)
class Postings:
    """Every posting of the tenant: (through, posted_at), ``posted_at`` a canonical datetime text."""

    runs: tuple[tuple[date, str], ...] = ()

    @property
    def through(self) -> date | None:
        """The last day any posting covered (None: nothing is posted)."""
        return max((day for day, _at in self.runs), default=None)

    def posted_at(self, period_end: date) -> str | None:
        """``approveAndPostDate`` of a unit row whose billing period ends on ``period_end``."""
        times = [at for day, at in self.runs if day >= period_end]
        return min(times) if times else None


NOTHING_POSTED = Postings()
"""A tenant that has posted nothing."""


@dataclass(frozen=True)
class PostResult:
    """What one ``post_through`` did."""

    through: date
    posted_at: str
    charges_billed: int


def load_postings(store: SandboxStore) -> Postings:
    with store.transaction():
        rows = store.connection.execute("SELECT through, posted_at FROM tenant_posts ORDER BY through")
        return Postings(tuple((date.fromisoformat(str(t)), str(at)) for t, at in rows))


def post_through(store: SandboxStore, through: date, now: str) -> PostResult:
    """Post every billing period ending on or before ``through`` and bill every charge dated on or before it."""
    with store.transaction():
        conn = store.connection
        conn.execute(
            "INSERT OR IGNORE INTO tenant_posts (through, posted_at) VALUES (?, ?)",
            (through.isoformat(), now),
        )
        cursor = conn.execute(
            'UPDATE "ContractCharges" SET isBilled = 1 WHERE NOT coalesce(isBilled, 0) '
            "AND substr(datePurchased, 1, 10) <= ?",
            (through.isoformat(),),
        )
        billed = cursor.rowcount
        (at,) = conn.execute(
            "SELECT posted_at FROM tenant_posts WHERE through = ?", (through.isoformat(),)
        ).fetchone()
    return PostResult(through, str(at), billed)


def period_of(start: date, months: int, day: date) -> tuple[date, date]:
    """The billing period (first day, last day) of a contract starting ``start`` that contains ``day``."""
    index = max(0, ((day.year - start.year) * 12 + day.month - start.month) // months - 1)
    while add_months(start, (index + 1) * months) <= day:
        index += 1
    return add_months(start, index * months), add_months(start, (index + 1) * months) - timedelta(days=1)


def last_posted_end(contract: Row, postings: Postings) -> date | None:
    """The end of the contract's last posted billing period (None: none is posted)."""
    through = postings.through
    start, end = _dates(contract)
    if through is None or start is None or end is None or through < start:
        return None
    months = PERIOD_MONTHS.get(contract.get("contractPeriodType") or 1, 1)
    first, last = period_of(start, months, min(through, end))
    last = min(last, end)
    if last <= through:
        return last
    return first - timedelta(days=1) if first > start else None


def check_adjustment(store: SandboxStore, contract: Row, effective: date) -> None:
    """Refuse an adjustment effective inside a posted billing period of ``contract``."""
    postings = load_postings(store)
    posted = last_posted_end(contract, postings)
    if posted is None or effective > posted:
        return
    start, _end = _dates(contract)
    assert start is not None
    months = PERIOD_MONTHS.get(contract.get("contractPeriodType") or 1, 1)
    first, last = period_of(start, months, effective)
    raise ApiError(
        f"The billing period {first.isoformat()} to {last.isoformat()} of contract {contract['id']} is "
        f"approved and posted (approveAndPostDate {postings.posted_at(last)}): a service adjustment effective "
        f"{effective.isoformat()} would change it. Un-post the period first."
    )


def check_contract_end(store: SandboxStore, current: Row, new_end: date) -> None:
    """Refuse moving a contract's end date into (or before) a posted billing period."""
    posted = last_posted_end(current, load_postings(store))
    old_end = _dates(current)[1]
    if posted is None or new_end == old_end or new_end >= posted:
        return
    raise ApiError(
        f"Contract {current['id']} is approved and posted through {posted.isoformat()}: its endDate cannot "
        f"move to {new_end.isoformat()}, inside a posted period. Un-post the periods first."
    )


def _dates(contract: Row) -> tuple[date | None, date | None]:
    start, end = contract.get("startDate"), contract.get("endDate")
    return (
        parse_date(start) if isinstance(start, str) else None,
        parse_date(end) if isinstance(end, str) else None,
    )
