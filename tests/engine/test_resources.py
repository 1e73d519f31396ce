"""Typed attribute values: coercion from rendered text, amount equality, JSON encoding (D22)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.resources import (
    FieldType,
    KindSpec,
    coerce,
    decode_attributes,
    encode_attributes,
    encode_value,
    quantize,
    same_value,
)
from engine.types import Scalar, make_address, parse_address


@pytest.mark.parametrize(
    ("value", "ftype", "places", "expected"),
    [
        ("Contoso ", "str", None, "Contoso "),
        ("", "str", None, ""),
        ("none", "str", None, ""),
        (" 42 ", "int", None, 42),
        ("7.0", "int", None, 7),
        (5, "int", None, 5),
        ("3.33335", "decimal", 4, Decimal("3.3334")),
        ("-0.00005", "decimal", 4, Decimal("-0.0001")),
        ("1.5", "decimal", None, Decimal("1.5")),
        ("12", "decimal", 4, Decimal("12.0000")),
        ("", "decimal", 4, None),
        ("None", "date", None, None),
        ("2026-09-01", "date", None, date(2026, 9, 1)),
        ("2026-09-01T00:00:00", "date", None, date(2026, 9, 1)),
        (date(2027, 2, 28), "date", None, date(2027, 2, 28)),
        ("True", "bool", None, True),
        ("no", "bool", None, False),
        (None, "int", None, None),
    ],
)
def test_coerce(value: object, ftype: FieldType, places: int | None, expected: Scalar) -> None:
    result = coerce(value, ftype, places)
    assert result == expected
    assert type(result) is type(expected)
    if isinstance(expected, Decimal):
        assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("value", "ftype", "message"),
    [
        ("abc", "decimal", "expected a decimal number, got 'abc'"),
        ("NaN", "decimal", "expected a finite decimal number, got 'NaN'"),
        ("Infinity", "decimal", "expected a finite decimal number, got 'Infinity'"),
        (1.5, "decimal", "money must not pass through float; render it from a Decimal"),
        ("7.5", "int", "expected a whole number, got '7.5'"),
        ("seven", "int", "expected a whole number, got 'seven'"),
        (True, "int", "expected a whole number, got True"),
        ("2026-13-01", "date", "expected a date YYYY-MM-DD, got '2026-13-01'"),
        ("maybe", "bool", "expected true or false, got 'maybe'"),
    ],
)
def test_coerce_errors(value: object, ftype: FieldType, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        coerce(value, ftype)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["2026-09-01xyz", "2026-09-01 garbage", "2026-09-011", "2026-09-01Tnoon"])
def test_date_with_trailing_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        coerce(text, "date")
    assert str(caught.value) == f"expected a date YYYY-MM-DD, got {text!r}"


def test_d22_quantize_is_half_up() -> None:
    assert str(quantize(Decimal("0.125"), 2)) == "0.13"
    assert str(quantize(Decimal("2.00005"), 4)) == "2.0001"
    assert str(quantize(Decimal("-2.00005"), 4)) == "-2.0001"
    assert str(quantize(Decimal("7"), 0)) == "7"


def test_same_value_ignores_decimal_scale_and_numeric_type() -> None:
    assert same_value(Decimal("1.50"), Decimal("1.5"))
    assert same_value(3, Decimal("3.0000"))
    assert same_value(None, "")
    assert not same_value(Decimal("1.5"), Decimal("1.51"))
    assert not same_value(True, 1)
    assert not same_value(0, None)
    assert not same_value("a", "A")


def test_encode_keeps_decimals_and_dates_as_strings() -> None:
    attributes: dict[str, Scalar] = {
        "unitPrice": Decimal("3.3330"),
        "startDate": date(2026, 9, 1),
        "units": 3,
        "isActive": True,
        "name": "x",
        "missing": None,
    }
    encoded = encode_attributes(attributes)
    assert encoded == {
        "isActive": True,
        "missing": None,
        "name": "x",
        "startDate": "2026-09-01",
        "unitPrice": "3.3330",
        "units": 3,
    }
    assert list(encoded) == sorted(encoded)
    assert encode_value(Decimal("-0.01")) == "-0.01"


def test_decode_is_the_inverse_of_encode_for_declared_fields() -> None:
    spec = KindSpec(
        name="thing",
        entity="Things",
        fields={
            "unitPrice": "decimal",
            "startDate": "date",
            "units": "int",
            "isActive": "bool",
            "name": "str",
        },
    )
    attributes: dict[str, Scalar] = {
        "unitPrice": Decimal("3.3330"),
        "startDate": date(2026, 9, 1),
        "units": 3,
        "isActive": False,
        "name": "Contoso",
    }
    decoded = decode_attributes(spec, encode_attributes(attributes))
    assert decoded == attributes
    assert str(decoded["unitPrice"]) == "3.3330"
    # An undeclared field, or an unknown kind, keeps its JSON value.
    assert decode_attributes(spec, {"other": "2026-09-01"}) == {"other": "2026-09-01"}
    assert decode_attributes(None, {"unitPrice": "1.5"}) == {"unitPrice": "1.5"}


@pytest.mark.parametrize(
    ("kind", "key", "address"),
    [
        ("contract", ("S-1",), 'contract["S-1"]'),
        ("service", ("csp365:CFQ7TTC0LDPB:0001",), 'service["csp365:CFQ7TTC0LDPB:0001"]'),
        ("charge", ("S-1", "2026-10", "rounding"), 'charge["S-1"]["2026-10"]["rounding"]'),
        ("state", (), "state"),
    ],
)
def test_addresses_round_trip(kind: str, key: tuple[str, ...], address: str) -> None:
    assert make_address(kind, *key) == address
    assert parse_address(address) == (kind, key)
