"""The state snapshot: a git-friendly JSON document, atomic writes, and a journal that survives a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from engine.state_layout import META_FILE, shard_name
from providers.autotask.kinds import KINDS
from tests.hypothesis_examples import examples

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


CONTRACT_SHARD = shard_name('contract["S-1"]', "contract", None)
ADJUSTMENT_SHARD = shard_name('adjustment["S-1"]["2026-09"]', "adjustment", "2026-09")


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_store_write_and_load(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "state", KINDS)
    assert store.load() == Snapshot(lineage="")  # no snapshot yet
    store.write(SNAPSHOT)
    assert store.load() == SNAPSHOT
    assert files(tmp_path / "state") == sorted([META_FILE, CONTRACT_SHARD, ADJUSTMENT_SHARD])
    assert CONTRACT_SHARD.startswith("contract/") and ADJUSTMENT_SHARD.startswith("adjustment/2026-09/")
    assert (tmp_path / "state" / META_FILE).read_text(encoding="utf-8") == textwrap.dedent(
        f"""\
        {{
          "applied_periods": {{
            "2026-09": "2026-10-20",
            "2026-10": "2026-11-06"
          }},
          "format_version": 2,
          "lineage": "{LINEAGE}",
          "serial": 3,
          "shards": {{
            "{ADJUSTMENT_SHARD}": 1,
            "{CONTRACT_SHARD}": 1
          }}
        }}
        """
    )
    assert (tmp_path / "state" / CONTRACT_SHARD).read_text(encoding="utf-8") == textwrap.dedent(
        """\
        {
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
        }
        """
    )


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    assert files(tmp_path) == sorted([META_FILE, CONTRACT_SHARD, ADJUSTMENT_SHARD])
    store.write(Snapshot(lineage=LINEAGE, serial=4))
    assert files(tmp_path) == [META_FILE]  # emptied shards and their folders are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [META_FILE]


def test_failed_write_keeps_the_old_snapshot_and_no_temporary_file(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    broken = Snapshot(lineage=LINEAGE, serial=4, resources={"x": Entry("service", 1, {"name": object()})})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        store.write(broken)
    assert files(tmp_path) == sorted([META_FILE, CONTRACT_SHARD, ADJUSTMENT_SHARD])
    assert store.load() == SNAPSHOT


_CRASH = """
import os, sys
from decimal import Decimal
from pathlib import Path
from engine.snapshot import Entry, Journal, Snapshot, SnapshotStore
from engine.state_layout import META_FILE, shard_name
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
    service = shard_name('service["csp365:P-1"]', "service", None)
    assert files(tmp_path) == sorted([META_FILE, CONTRACT_SHARD, ADJUSTMENT_SHARD, service])
    assert store.load() == final


def test_periodic_flush_writes_the_snapshot_and_restarts_the_journal(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    journal = Journal(store, store.load(), flush_every=-1)  # flush after every record
    try:
        journal.record('service["csp365:P-1"]', Entry("service", 30001, {}))
        assert (tmp_path / JOURNAL_FILE).read_text(encoding="utf-8") == ""
        on_disk = SnapshotStore(tmp_path, KINDS).load()
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


# -- the sharded layout ---------------------------------------------------------------------------------


def test_a_snapshot_of_the_one_file_layout_is_migrated_on_first_use(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT_FILE).write_text(snapshot_to_json(SNAPSHOT), encoding="utf-8")
    (tmp_path / JOURNAL_FILE).write_text(_journal_line('service["a"]', 1) + "\n", encoding="utf-8")
    loaded = SnapshotStore(tmp_path, KINDS).load()
    assert loaded == replace(
        SNAPSHOT,
        resources={**SNAPSHOT.resources, 'service["a"]': Entry("service", 1, {"unitPrice": Decimal("1.50")})},
    )
    service = shard_name('service["a"]', "service", None)
    assert files(tmp_path) == sorted([META_FILE, CONTRACT_SHARD, ADJUSTMENT_SHARD, service])
    assert SnapshotStore(tmp_path, KINDS).load() == loaded


def test_the_same_snapshot_always_gives_the_same_bytes(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "a", KINDS)
    store.write(SNAPSHOT)
    again = SnapshotStore(tmp_path / "b", KINDS)
    again.write(replace(SNAPSHOT, resources=dict(reversed(list(SNAPSHOT.resources.items())))))
    again.write(again.load())
    for name in files(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_an_apply_rewrites_only_the_shards_it_touched(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    untouched = (tmp_path / ADJUSTMENT_SHARD).stat().st_ino
    journal = Journal(store, store.load(), flush_every=3600)
    journal.record('contract["S-1"]', replace(CONTRACT, attributes={**CONTRACT.attributes, "companyID": 102}))
    final = journal.close()
    assert (tmp_path / ADJUSTMENT_SHARD).stat().st_ino == untouched
    assert SnapshotStore(tmp_path, KINDS).load() == final
    assert final.resources['contract["S-1"]'].attributes["companyID"] == 102


def test_removal_is_journalled_and_replayed(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    journal = Journal(store, store.load(), flush_every=3600)
    removed = journal.remove('contract["S-1"]')
    assert removed == CONTRACT
    assert 'contract["S-1"]' not in SnapshotStore(tmp_path, KINDS).load().resources  # before any flush
    final = journal.close()
    assert final.serial == 4 and sorted(final.resources) == ['adjustment["S-1"]["2026-09"]']
    assert files(tmp_path) == sorted([META_FILE, ADJUSTMENT_SHARD])


def test_a_missing_or_edited_shard_is_refused_unless_a_journal_explains_it(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, KINDS)
    store.write(SNAPSHOT)
    shard = tmp_path / CONTRACT_SHARD
    text = shard.read_text(encoding="utf-8")
    shard.write_text("{}\n", encoding="utf-8")
    with pytest.raises(BillsyncError) as caught:
        store.load()
    assert caught.value.message == f"{shard}: holds 0 entries, but {tmp_path / META_FILE} lists 1"
    shard.unlink()
    with pytest.raises(BillsyncError) as caught:
        store.load()
    assert caught.value.message == f"{shard}: missing, but {tmp_path / META_FILE} lists it with 1 entries"
    (tmp_path / JOURNAL_FILE).write_text(_journal_line('service["a"]', 1) + "\n", encoding="utf-8")
    assert sorted(store.load().resources) == ['adjustment["S-1"]["2026-09"]', 'service["a"]']
    shard.write_text(text, encoding="utf-8")


def test_no_shard_reaches_10_mb_at_50000_subscriptions() -> None:
    """Entries per shard at 50,000 subscriptions with their months; an entry's text is under 1 kB."""
    counts: dict[str, int] = {}
    for n in range(50_000):
        sid = f"6f1c2d3e-0a1b-4c5d-8e9f-{n:012d}"
        for address, kind, period in (
            (f'contract["{sid}"]', "contract", None),
            (f'contract_service["{sid}"]', "contract_service", None),
            (f'adjustment["{sid}"]["2026-09"]', "adjustment", "2026-09"),
            (f'charge["{sid}"]["2026-09"]["rounding"]', "charge", "2026-09"),
        ):
            name = shard_name(address, kind, period)
            counts[name] = counts.get(name, 0) + 1
    assert len(counts) == 4 * 32
    assert max(counts.values()) < 1_800  # at most 1.8 MB a shard, 50,000 / 32 = 1,563 on average


_KEYS = st.text(alphabet="abcS-1é ", min_size=1, max_size=6)
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["record", "remove"]),
        st.sampled_from(["contract", "service", "adjustment"]),
        _KEYS,
        st.integers(min_value=1, max_value=10**9),
    ),
    max_size=25,
)


@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS)
def test_any_sequence_of_journalled_edits_loads_back_exactly_and_byte_stable(
    tmp_path: Path, ops: list
) -> None:
    """Whatever the records and removals, the shards on disk load back to what the journal holds,
    and writing that snapshot again anywhere gives the same bytes."""
    folder = tmp_path / str(len(list(tmp_path.iterdir())))
    store = SnapshotStore(folder, KINDS)
    store.write(SNAPSHOT)
    journal = Journal(store, store.load(), flush_every=-1 if len(ops) % 2 else 3600)
    expected = dict(SNAPSHOT.resources)
    for op, kind, key, target_id in ops:
        address = f'{kind}["{key}"]' + ('["2026-09"]' if kind == "adjustment" else "")
        if op == "record":
            entry = Entry(
                kind, target_id, {"units": target_id % 7}, period="2026-09" if kind == "adjustment" else None
            )
            journal.record(address, entry)
            expected[address] = entry
        elif address in expected:
            journal.remove(address)
            del expected[address]
    final = journal.close()
    assert final.resources == expected
    assert SnapshotStore(folder, KINDS).load() == final
    copy = SnapshotStore(folder.with_name(folder.name + "-copy"), KINDS)
    copy.write(final)
    assert files(copy.folder) == files(folder)
    for name in files(folder):
        assert (copy.folder / name).read_bytes() == (folder / name).read_bytes()


def test_a_month_found_already_right_records_its_row_as_read_id_and_no_target_id(tmp_path: Path) -> None:
    """An adjustment id and a ContractServiceUnits row id are never stored in one field: a month billsync
    adopted (it created no adjustment) keeps the row it was found as in ``read_id``."""
    found = replace(ADJUSTMENT, target_id=None, read_id=88002)
    store = SnapshotStore(tmp_path / "state", KINDS)
    store.write(replace(SNAPSHOT, resources={'adjustment["S-1"]["2026-09"]': found}))
    shard = json.loads((tmp_path / "state" / ADJUSTMENT_SHARD).read_text(encoding="utf-8"))
    written = shard['adjustment["S-1"]["2026-09"]']
    assert (written["target_id"], written["read_id"]) == (None, 88002)
    loaded = store.load().resources['adjustment["S-1"]["2026-09"]']
    assert loaded == found and loaded.found_id == 88002
    assert ADJUSTMENT.found_id == 70001  # a created adjustment: its own id
    store.write(SNAPSHOT)  # a created adjustment: no read_id key, the bytes of earlier versions
    assert "read_id" not in (tmp_path / "state" / ADJUSTMENT_SHARD).read_text(encoding="utf-8")
