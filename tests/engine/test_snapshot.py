"""The state snapshot: a git-friendly JSON document, atomic writes, and a journal that survives a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import BillsyncError
from engine.resources import KindSpec
from engine.snapshot import (
    JOURNAL_FILE,
    SNAPSHOT_FILE,
    Entry,
    Journal,
    Snapshot,
    SnapshotStore,
    snapshot_from_json,
    snapshot_to_json,
)
from providers.autotask.kinds import KINDS

LINEAGE = "0b0e5f3a-1111-2222-3333-444455556666"
CONTRACT = Entry(
    kind="contract",
    target_id=40001,
    attributes={"endDate": date(2027, 9, 30), "contractName": "Contoso - E3", "companyID": 101},
    source={"subscription_id": "S-1", "organization_id": "ORG-1"},
)
ADJUSTMENT = Entry(
    kind="adjustment",
    target_id=70001,
    attributes={"unitPrice": Decimal("3.3330"), "units": 300},
    refs={"contractServiceID": 'contract_service["S-1"]', "contractID": 'contract["S-1"]'},
    source={"subscription_id": "S-1", "period": "2026-09", "total_sales": "1000.00", "total_cost": "850.00"},
    period="2026-09",
)
SNAPSHOT = Snapshot(
    lineage=LINEAGE,
    serial=3,
    resources={'contract["S-1"]': CONTRACT, 'adjustment["S-1"]["2026-09"]': ADJUSTMENT},
    applied_periods={"2026-10": "2026-11-06", "2026-09": "2026-10-20"},
)


def test_document_has_sorted_keys_two_space_indent_and_decimal_strings() -> None:
    assert snapshot_to_json(SNAPSHOT) == textwrap.dedent(
        """\
        {
          "applied_periods": {
            "2026-09": "2026-10-20",
            "2026-10": "2026-11-06"
          },
          "format_version": 1,
          "lineage": "0b0e5f3a-1111-2222-3333-444455556666",
          "resources": {
            "adjustment[\\"S-1\\"][\\"2026-09\\"]": {
              "attributes": {
                "unitPrice": "3.3330",
                "units": 300
              },
              "kind": "adjustment",
              "period": "2026-09",
              "refs": {
                "contractID": "contract[\\"S-1\\"]",
                "contractServiceID": "contract_service[\\"S-1\\"]"
              },
              "source": {
                "period": "2026-09",
                "subscription_id": "S-1",
                "total_cost": "850.00",
                "total_sales": "1000.00"
              },
              "target_id": 70001
            },
            "contract[\\"S-1\\"]": {
              "attributes": {
                "companyID": 101,
                "contractName": "Contoso - E3",
                "endDate": "2027-09-30"
              },
              "kind": "contract",
              "source": {
                "organization_id": "ORG-1",
                "subscription_id": "S-1"
              },
              "target_id": 40001
            }
          },
          "serial": 3
        }
        """
    )


def test_document_round_trips_typed() -> None:
    back = snapshot_from_json(snapshot_to_json(SNAPSHOT), KINDS, "state/snapshot.json")
    assert back == SNAPSHOT
    assert str(back.resources['adjustment["S-1"]["2026-09"]'].attributes["unitPrice"]) == "3.3330"
    assert back.resources['contract["S-1"]'].attributes["endDate"] == date(2027, 9, 30)


def test_recorded_months_and_managed_subscriptions() -> None:
    assert SNAPSHOT.recorded_months() == {("S-1", "2026-09"): (Decimal("1000.00"), Decimal("850.00"))}
    assert SNAPSHOT.managed_subscriptions() == {"S-1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "state/snapshot.json: the snapshot is not valid (JSONDecodeError: "),
        ("[]", "state/snapshot.json: the snapshot is not valid (AttributeError: "),
        ('{"format_version": 1}', "state/snapshot.json: the snapshot is not valid (KeyError: 'lineage')"),
        ('{"format_version": 9}', "state/snapshot.json: snapshot format 9 is not supported (expected 1)"),
    ],
)
def test_invalid_snapshot_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(BillsyncError) as caught:
        snapshot_from_json(text, KINDS, "state/snapshot.json")
    assert caught.value.message.startswith(message)


def test_store_write_and_load(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "state", KINDS)
    assert store.load() == Snapshot(lineage="")  # no snapshot yet
    store.write(SNAPSHOT)
    assert store.load() == SNAPSHOT
    assert (tmp_path / "state" / SNAPSHOT_FILE).read_text(encoding="utf-8") == snapshot_to_json(SNAPSHOT)


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    store.write(Snapshot(lineage=LINEAGE, serial=4))
    assert sorted(p.name for p in tmp_path.iterdir()) == [SNAPSHOT_FILE]


def test_failed_write_keeps_the_old_snapshot_and_no_temporary_file(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    broken = Snapshot(lineage=LINEAGE, serial=4, resources={"x": Entry("service", 1, {"name": object()})})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        store.write(broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == [SNAPSHOT_FILE]
    assert store.load() == SNAPSHOT


_CRASH = """
import os, sys
from decimal import Decimal
from pathlib import Path
from engine.snapshot import Entry, Journal, Snapshot, SnapshotStore
from providers.autotask.kinds import KINDS

store = SnapshotStore(Path(sys.argv[1]), KINDS)
journal = Journal(store, store.load(), flush_every=3600)
journal.record('service["csp365:P-1"]', Entry("service", 30001, {"unitPrice": Decimal("12.5000")}))
journal.record('contract["S-1"]', Entry("contract", 40001, {"endDate": "2027-09-30"}, source={"subscription_id": "S-1"}))
os._exit(9)  # killed: no close, no final snapshot
"""


def test_journal_replay_after_a_crash(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    done = subprocess.run(
        [sys.executable, "-c", _CRASH, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 9, done.stderr
    assert (tmp_path / JOURNAL_FILE).exists()
    loaded = store.load()
    assert (loaded.lineage, loaded.serial, loaded.applied_periods) == (LINEAGE, 3, SNAPSHOT.applied_periods)
    assert loaded.resources == {
        **SNAPSHOT.resources,
        'service["csp365:P-1"]': Entry("service", 30001, {"unitPrice": Decimal("12.5000")}),
        'contract["S-1"]': Entry(
            "contract", 40001, {"endDate": date(2027, 9, 30)}, source={"subscription_id": "S-1"}
        ),
    }


def test_first_apply_crash_is_replayed_onto_the_new_lineage(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    done = subprocess.run(
        [sys.executable, "-c", _CRASH, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 9, done.stderr
    loaded = store.load()
    assert loaded.lineage != ""
    assert sorted(loaded.resources) == ['contract["S-1"]', 'service["csp365:P-1"]']


def test_journal_record_without_close_is_seen_by_load(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    journal = Journal(store, store.load(), flush_every=3600)
    try:
        journal.record('service["csp365:P-1"]', Entry("service", 30001, {"unitPrice": Decimal("12.5000")}))
        assert SnapshotStore(tmp_path, KINDS).load().resources['service["csp365:P-1"]'].target_id == 30001
    finally:
        journal.close()


def _journal_line(address: str, target_id: int, lineage: str = LINEAGE) -> str:
    entry = {"kind": "service", "target_id": target_id, "attributes": {"unitPrice": "1.50"}}
    return json.dumps({"lineage": lineage, "address": address, "entry": entry}, sort_keys=True)


def test_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    whole = _journal_line('service["a"]', 1)
    torn = _journal_line('service["b"]', 2)[:37]
    (tmp_path / JOURNAL_FILE).write_text(whole + "\n" + torn, encoding="utf-8")
    loaded = store.load()
    assert loaded.resources['service["a"]'] == Entry("service", 1, {"unitPrice": Decimal("1.50")})
    assert 'service["b"]' not in loaded.resources
    assert len(loaded.resources) == 3


def test_journal_lines_of_another_lineage_are_ignored(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    (tmp_path / JOURNAL_FILE).write_text(
        _journal_line('service["old"]', 1, lineage="other")
        + "\n"
        + _journal_line('service["new"]', 2)
        + "\n",
        encoding="utf-8",
    )
    assert sorted(store.load().resources) == [
        'adjustment["S-1"]["2026-09"]',
        'contract["S-1"]',
        'service["new"]',
    ]


def test_records_after_a_torn_line_of_an_earlier_crash_are_replayed(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    (tmp_path / JOURNAL_FILE).write_text(
        _journal_line('service["a"]', 1)[:37], encoding="utf-8"
    )  # first crash
    journal = Journal(store, store.load(), flush_every=3600)  # the next apply, then a second crash
    try:
        journal.record('service["c"]', Entry("service", 3, {}))
        assert 'service["c"]' in SnapshotStore(tmp_path, KINDS).load().resources
    finally:
        journal.close()


def test_close_increments_the_serial_merges_months_and_removes_the_journal(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    journal = Journal(store, store.load(), flush_every=3600)
    journal.record('service["csp365:P-1"]', Entry("service", 30001, {"unitPrice": Decimal("12.5")}))
    final = journal.close({"2026-11": "2026-12-04", "2026-09": "2026-11-20"})
    assert final.serial == 4
    assert final.lineage == LINEAGE
    assert final.applied_periods == {
        "2026-09": "2026-11-20",
        "2026-10": "2026-11-06",
        "2026-11": "2026-12-04",
    }
    assert final.resources['service["csp365:P-1"]'].target_id == 30001
    assert sorted(p.name for p in tmp_path.iterdir()) == [SNAPSHOT_FILE]
    assert store.load() == final


def test_periodic_flush_writes_the_snapshot_and_restarts_the_journal(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    journal = Journal(store, store.load(), flush_every=-1)  # flush after every record
    try:
        journal.record('service["csp365:P-1"]', Entry("service", 30001, {}))
        on_disk = snapshot_from_json((tmp_path / SNAPSHOT_FILE).read_text(encoding="utf-8"), KINDS, "s")
        assert on_disk.serial == 3
        assert on_disk.resources['service["csp365:P-1"]'].target_id == 30001
        assert (tmp_path / JOURNAL_FILE).read_text(encoding="utf-8") == ""
    finally:
        journal.close()


def test_first_apply_gives_the_workspace_a_lineage(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    journal = Journal(store, store.load(), flush_every=3600)
    final = journal.close()
    assert len(final.lineage) == 36
    assert final.serial == 1
    assert store.load() == final


def test_kinds_are_used_to_type_values(kinds: dict[str, KindSpec]) -> None:
    raw = '{"format_version": 1, "lineage": "L", "serial": 0, "resources": {"x": {"kind": "charge", "target_id": 5, "attributes": {"unitPrice": "0.01", "datePurchased": "2026-09-01", "isBillableToCompany": true}}}}'
    entry = snapshot_from_json(raw, kinds, "s").resources["x"]
    assert entry.attributes == {
        "unitPrice": Decimal("0.01"),
        "datePurchased": date(2026, 9, 1),
        "isBillableToCompany": True,
    }
