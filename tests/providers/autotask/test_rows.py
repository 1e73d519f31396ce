"""Read rows held compactly until matched: every field and value as parsed, in order, unchanged."""

from __future__ import annotations

import json
from decimal import Decimal

from providers.autotask.rows import Row, compact_rows

PAGE = """[
 {"id": 7, "contractID": 70, "startDate": "2026-10-01T00:00:00", "units": 12, "price": 12.5,
  "approveAndPostDate": null, "isBilled": false},
 {"id": 8, "contractID": 71, "startDate": "2026-10-01T00:00:00", "units": 0, "price": 0.10,
  "approveAndPostDate": "2026-11-02T08:00:00", "isBilled": true},
 {"id": 9, "purchaseOrderNumber": "billsync:x", "userDefinedFields": [{"name": "Subscription ID", "value": "S-1"}]}
]"""


def test_compact_rows_keep_every_field_and_value_exactly() -> None:
    parsed = json.loads(PAGE, parse_float=Decimal)
    rows = compact_rows(json.loads(PAGE, parse_float=Decimal))
    assert [dict(row) for row in rows] == parsed
    assert [list(row) for row in rows] == [list(row) for row in parsed]  # field order kept
    assert [type(v) for row in rows for v in row.values()] == [
        type(v) for row in parsed for v in row.values()
    ]
    assert rows[1]["price"] == Decimal("0.10") and str(rows[1]["price"]) == "0.10"
    assert rows[0]["isBilled"] is False and rows[0].get("approveAndPostDate", "absent") is None
    assert rows[0].get("purchaseOrderNumber") is None and "purchaseOrderNumber" not in rows[0]
    assert rows[2]["userDefinedFields"] == [{"name": "Subscription ID", "value": "S-1"}]
    assert len(rows[0]) == 7 and len(rows[2]) == 3


def test_rows_with_the_same_fields_share_one_field_table_and_equal_strings() -> None:
    rows = compact_rows(json.loads(PAGE, parse_float=Decimal))
    first, second = rows[0], rows[1]
    assert isinstance(first, Row) and isinstance(second, Row)
    assert first["startDate"] is second["startDate"]
    assert dict(first) != dict(second) and first == dict(first)
