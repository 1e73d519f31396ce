"""The source model: what a Cloudmore source (export bundle or API) hands to the engine.

Providers build these models; the engine renders rules over them. Amounts are ``Decimal``,
dates are ``date``. Every model keeps ``origin`` (``file:line``) so an error found later can
point at the line that caused it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

__all__ = [
    "RecordType",
    "RECORD_TYPES",
    "RECORD_TYPE_SETTING",
    "Organization",
    "OrganizationService",
    "Subscription",
    "PriceListItem",
    "BillingLine",
    "Report",
    "SourceData",
]

RecordType = Literal["CSP365", "Azure", "Marketplace", "ReservedInstance", "PerpetualLicense", "Subscription"]
"""The Cloudmore record types (D5), as Cloudmore spells them: the one list the others derive from."""

RECORD_TYPES: tuple[RecordType, ...] = get_args(RecordType)
""":data:`RecordType`'s values, in order (what a bundle's Record Type column and the API may hold)."""


def _setting_name(record_type: str) -> str:
    """``ReservedInstance`` → ``reserved_instance``: the settings key of a record type."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", record_type).lower()


RECORD_TYPE_SETTING: dict[str, str] = {
    record_type: _setting_name(record_type) for record_type in RECORD_TYPES
}
"""Cloudmore record type → the settings name that turns it on or off (D5)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_post_init(self, context: Any, /) -> None:
        """Share one set of set-field names among equal ones: a set per object would be half the memory
        of 100,000 billing lines. Safe because pydantic copies the set before changing it."""
        names = self.__pydantic_fields_set__
        object.__setattr__(self, "__pydantic_fields_set__", _FIELD_SETS.setdefault(frozenset(names), names))


_FIELD_SETS: dict[frozenset[str], set[str]] = {}
"""One shared set per distinct combination of set fields (a handful per model)."""


class Organization(_Model):
    organization_id: str
    name: str
    customer_number: str = ""
    autotask_company_id: int | None = None
    currency: str
    origin: str = ""


class OrganizationService(_Model):
    organization_id: str
    service_name: str
    active: bool
    origin: str = ""


class Subscription(_Model):
    subscription_id: str
    organization_id: str
    record_type: RecordType
    product_id: str
    item_code: str = ""
    product_name: str
    quantity: int
    start_date: date
    end_date: date | None = None
    status: str = "Active"
    billing_frequency: str = "Monthly"
    origin: str = ""


class PriceListItem(_Model):
    product_id: str
    item_code: str = ""
    product_name: str
    unit_cost_price: Decimal
    unit_sales_price: Decimal
    currency: str
    payment_frequency: str = "Monthly"
    origin: str = ""


class BillingLine(_Model):
    billing_date: date
    service_name: str
    organization_id: str
    organization_name: str = ""
    customer_number: str = ""
    product_name: str
    item_code: str = ""
    product_id: str
    quantity: int
    unit_cost_price: Decimal
    unit_sales_price: Decimal
    total_cost: Decimal
    total_sales: Decimal
    currency: str
    payment_frequency: str = "Monthly"
    subscription_id: str
    subscription_name: str = ""
    record_type: RecordType
    origin: str = ""


class Report(_Model):
    """One monthly billing report as published on a date; a revision is another Report."""

    period: str
    available_on: date
    file: str
    lines: tuple[BillingLine, ...] = ()
    origin: str = ""


class SourceData(_Model):
    """Everything one Cloudmore source holds, as of reading."""

    organizations: tuple[Organization, ...] = ()
    services: tuple[OrganizationService, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    price_list: tuple[PriceListItem, ...] = ()
    reports: tuple[Report, ...] = ()
    origin: str = ""
    """Where it came from (a folder path or an API URL) — for messages only."""
    notices: tuple[str, ...] = ()
    """What the source could not read yet and why (a month's report not yet available): plan warnings."""
