"""The JSON and header helpers both providers' clients and emulators use."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers._shared.wire import dumps, loads, retry_after_seconds


def test_fractions_are_read_as_decimal_and_integers_as_int() -> None:
    assert loads(b'{"price": 12.5000, "quantity": 3}') == {"price": Decimal("12.5000"), "quantity": 3}
    assert isinstance(loads("3"), int)


def test_a_decimal_keeps_its_scale_unless_told_otherwise() -> None:
    body = {"price": Decimal("12.5000"), "lines": [Decimal("-0.30"), 2, "x", None, True]}
    assert dumps(body) == '{"price":12.5000,"lines":[-0.30,2,"x",null,true]}'
    assert dumps(body, decimal=lambda value: "D") == '{"price":D,"lines":[D,2,"x",null,true]}'


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_a_decimal_that_is_not_a_number_is_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="cannot write"):
        dumps({"amount": value})


def test_a_float_is_refused() -> None:
    with pytest.raises(TypeError, match="use Decimal"):
        dumps([0.1])


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds
