"""Comparators for kinds whose Autotask semantics are not plain field equality.

Adjustments cannot be read back (ContractServiceAdjustments is create-only): the state of a month
is its ContractServiceUnits row — units, unit price and unit cost. An adjustment effective on the
first of a month changes the units by ``unitChange`` and sets the price and cost *from that date
on*, so the months of one contract service are compared in order and each planned adjustment is
carried into the months after it (D14). A month whose units, price and cost an earlier planned
month already sets needs no adjustment of its own (one would change neither units nor price): it is
recorded without a write, under the earlier month's adjustment (``Adopt.carried_by``).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from engine.plan import Adopt, Change, Create
from engine.provider import Comparator, CompareInput
from engine.resources import Resource, same_value

__all__ = ["COMPARATORS", "compare_adjustments"]


def compare_adjustments(data: CompareInput) -> list[Change]:
    """One adjustment per month whose units, price or cost differ from its ContractServiceUnits row."""
    groups: dict[str, list[Resource]] = defaultdict(list)
    for resource in data.desired:
        groups[resource.refs.get("contractServiceID", resource.address)].append(resource)
    changes: list[Change] = []
    for resources in groups.values():
        carried_units = 0
        carried_price: Decimal | None = None
        carried_cost: Decimal | None = None
        carried_by: str | None = None
        for resource in sorted(resources, key=lambda r: r.period or ""):
            found = data.actual.get(resource.address)
            recorded = data.snapshot.resources.get(resource.address)
            units_now = _int(found.attributes.get("units") if found else 0) + carried_units
            price_now = carried_price if carried_price is not None else _dec(found, "unitPrice")
            cost_now = carried_cost if carried_cost is not None else _dec(found, "unitCost")
            want = resource.attributes
            want_units = _int(want.get("units"))
            if found is None and want_units == 0 and carried_units == 0:
                continue  # no row for the month and nothing to bill: no adjustment needed
            if (
                found is None
                and carried_by is not None
                and units_now == want_units
                and same_value(price_now, want.get("unitPrice"))
                and same_value(cost_now, want.get("unitCost"))
            ):  # an earlier month planned here already sets these units and price: no write
                changes.append(
                    Adopt(
                        address=resource.address,
                        kind=resource.kind,
                        target_id=0,
                        attributes=want,
                        refs=resource.refs,
                        source=resource.source,
                        period=resource.period,
                        rule=resource.rule,
                        reason=f"units {want_units} at the same price carry on from the month before",
                        carried_by=carried_by,
                    )
                )
                continue
            if (
                found is not None
                and units_now == want_units
                and same_value(price_now, want.get("unitPrice"))
                and same_value(cost_now, want.get("unitCost"))
            ):
                if recorded is None:
                    changes.append(
                        Adopt(
                            address=resource.address,
                            kind=resource.kind,
                            target_id=found.target_id,
                            attributes=want,
                            refs=resource.refs,
                            source=resource.source,
                            period=resource.period,
                            rule=resource.rule,
                            reason="the month's units already match",
                        )
                    )
                continue
            delta = want_units - units_now
            changes.append(
                Create(
                    address=resource.address,
                    kind=resource.kind,
                    after=want,
                    refs=resource.refs,
                    payload={
                        "effectiveDate": want.get("effectiveDate"),
                        "unitChange": delta,
                        "adjustedUnitPrice": want.get("unitPrice"),
                        "adjustedUnitCost": want.get("unitCost"),
                    },
                    before={"units": units_now, "unitPrice": price_now, "unitCost": cost_now},
                    source=resource.source,
                    period=resource.period,
                    rule=resource.rule,
                    reason=f"units {units_now} -> {want_units}",
                )
            )
            carried_units += delta
            carried_by = resource.address
            carried_price = _as_dec(want.get("unitPrice"))
            carried_cost = _as_dec(want.get("unitCost"))
    return changes


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else 0


def _dec(found: object, name: str) -> Decimal | None:
    if found is None:
        return None
    return _as_dec(getattr(found, "attributes", {}).get(name))


def _as_dec(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None


COMPARATORS: dict[str, Comparator] = {"adjustment": compare_adjustments}
