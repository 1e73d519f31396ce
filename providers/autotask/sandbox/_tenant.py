"""The sandbox tenant's own configuration: its SLAs, user-defined fields and billing codes.

On a real Autotask these differ from tenant to tenant (API-FACTS A8, A11): SLAs are not an entity
but the picklist of ``serviceLevelAgreementID`` (A9.9), a tenant may lack the "Subscription ID"
contract UDF, and billing codes are query-only rows whose ``isActive``/``useType`` an administrator
sets in the UI. Tests change them through this small API (``store.tenant`` or ``app.tenant``)::

    app.tenant.remove_udf("Contracts", "Subscription ID")
    app.tenant.set_sla(3, "Premium")                 # add, or rename/reactivate
    app.tenant.set_sla(1, "Standard", active=False)  # deactivate
    app.tenant.remove_sla(1)
    app.tenant.deactivate_billing_code(2001)
    app.tenant.set_billing_code_use_type(2001, 1)
    app.tenant.set_billing_code(2010, name="New code", use_type=5)   # add a code
    app.tenant.post(date(2026, 10, 31))              # approve & post through a day (:mod:`._posting`)

Every answer of the sandbox (``entityInformation/fields`` picklists, ``userDefinedFields``, query
filters, writes) sees the change at once: requests work on :meth:`Tenant.entity`, the table entity
with this tenant's SLA picklist and UDFs filled in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from providers.autotask.entities import (
    BILLING_CODES,
    ENTITIES,
    SLA_FIELD,
    Entity,
    PicklistValue,
    UserDefinedField,
)

from ._posting import SCHEMA as POSTING_SCHEMA
from ._posting import Postings, PostResult, load_postings, post_through
from ._values import format_datetime

if TYPE_CHECKING:
    from ._store import SandboxStore


@dataclass(frozen=True)
class Sla:
    """One Service Level Agreement: a value of the ``serviceLevelAgreementID`` picklist."""

    id: int
    name: str
    is_active: bool = True


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tenant_slas (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tenant_udfs (entity TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE, "
    "length INTEGER NOT NULL, PRIMARY KEY (entity, name))",
    POSTING_SCHEMA,
)
"""The tables holding the tenant's configuration and its postings (billing codes are ordinary
BillingCodes rows)."""


class Tenant:
    """Read and change the tenant's configuration; views of entities are cached until a change."""

    def __init__(self, store: SandboxStore) -> None:
        self._store = store
        self._views: dict[str, Entity] = {}
        self._lock = threading.Lock()

    # ---- SLAs ------------------------------------------------------------------------------------

    def slas(self) -> list[Sla]:
        """Every SLA, by id."""
        with self._store.transaction():
            rows = self._store.connection.execute("SELECT id, name, active FROM tenant_slas ORDER BY id")
            return [Sla(int(i), str(n), bool(a)) for i, n, a in rows]

    def set_sla(self, sla_id: int, name: str, *, active: bool = True) -> None:
        """Add the SLA ``sla_id``, or change its name and active flag."""
        self._execute(
            "INSERT OR REPLACE INTO tenant_slas (id, name, active) VALUES (?, ?, ?)",
            (sla_id, name, int(active)),
        )

    def remove_sla(self, sla_id: int) -> None:
        """Remove the SLA from the picklist (objects that use it keep the number)."""
        self._execute("DELETE FROM tenant_slas WHERE id = ?", (sla_id,))

    # ---- user-defined fields ---------------------------------------------------------------------

    def udfs(self, entity: str) -> tuple[UserDefinedField, ...]:
        """The UDFs defined on ``entity``, by name."""
        with self._store.transaction():
            rows = self._store.connection.execute(
                "SELECT name, length FROM tenant_udfs WHERE entity = ? ORDER BY name", (_name(entity),)
            )
            return tuple(UserDefinedField(str(n), int(length)) for n, length in rows)

    def add_udf(self, entity: str, name: str, length: int = 255) -> None:
        """Define a string UDF on ``entity`` (one that can carry UDFs)."""
        target = ENTITIES[_name(entity)]
        if not target.allows_udfs:
            raise ValueError(f"{target.name} has no user-defined fields")
        self._execute(
            "INSERT OR REPLACE INTO tenant_udfs (entity, name, length) VALUES (?, ?, ?)",
            (target.name, name, length),
        )

    def remove_udf(self, entity: str, name: str) -> None:
        """Delete the UDF and every value stored in it, as deleting it in Autotask's admin does."""
        with self._store.transaction():
            self._execute("DELETE FROM tenant_udfs WHERE entity = ? AND name = ?", (_name(entity), name))
            self._execute("DELETE FROM udf_values WHERE entity = ? AND name = ?", (_name(entity), name))

    # ---- billing codes ---------------------------------------------------------------------------

    def set_billing_code(
        self,
        code_id: int,
        *,
        name: str | None = None,
        use_type: int | None = None,
        active: bool | None = None,
    ) -> None:
        """Add the billing code ``code_id`` (name and use type needed), or change the given fields."""
        store = self._store
        with store.transaction():
            current = store.get(BILLING_CODES, code_id)
            if current is None:
                if name is None or use_type is None:
                    raise ValueError(f"a new billing code {code_id} needs a name and a use type")
                row = {"id": code_id, "name": name, "useType": use_type, "isActive": active is not False}
                store.insert_many(BILLING_CODES, [{**row, "unitPrice": 0, "unitCost": 0}])
                return
            changes: dict[str, int | str | bool] = {}
            if name is not None:
                changes["name"] = name
            if use_type is not None:
                changes["useType"] = use_type
            if active is not None:
                changes["isActive"] = active
            store.update(BILLING_CODES, code_id, changes)

    def deactivate_billing_code(self, code_id: int) -> None:
        """Make the billing code inactive (it stays on the objects that use it)."""
        self._existing_code(code_id)
        self.set_billing_code(code_id, active=False)

    def set_billing_code_use_type(self, code_id: int, use_type: int) -> None:
        """Give the billing code another ``useType``."""
        self._existing_code(code_id)
        self.set_billing_code(code_id, use_type=use_type)

    # ---- approve & post -------------------------------------------------------------------------

    def post(self, through: date, *, at: datetime | None = None) -> PostResult:
        """Approve and post recurring billing through ``through``, as Autotask's Approve & Post does:
        every unit row whose billing period ends on or before it gets ``approveAndPostDate`` (``at``,
        default now, UTC) and every charge dated on or before it ``isBilled``. From then on the
        sandbox refuses writes into those periods (:mod:`._posting`)."""
        moment = at if at is not None else datetime.now(UTC)
        return post_through(self._store, through, format_datetime(moment))

    def postings(self) -> Postings:
        """Every posting so far (through which day, when)."""
        return load_postings(self._store)

    # ---- views -----------------------------------------------------------------------------------

    def entity(self, entity: Entity) -> Entity:
        """``entity`` as this tenant has it: the SLA picklist and the tenant's UDFs filled in."""
        with self._lock:
            view = self._views.get(entity.name)
        if view is not None:
            return view
        view = entity
        if any(f.name == SLA_FIELD for f in entity.fields):
            picklist = tuple(PicklistValue(s.id, s.name, is_active=s.is_active) for s in self.slas())
            fields = tuple(replace(f, picklist=picklist) if f.name == SLA_FIELD else f for f in entity.fields)
            view = replace(view, fields=fields)
        if entity.allows_udfs:
            view = replace(view, udfs=self.udfs(entity.name))
        with self._lock:
            self._views[entity.name] = view
        return view

    def forget(self) -> None:
        """Drop the cached views (after any change to the configuration)."""
        with self._lock:
            self._views.clear()

    def _existing_code(self, code_id: int) -> None:
        if self._store.get(BILLING_CODES, code_id) is None:
            raise LookupError(f"BillingCodes {code_id} does not exist.")

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        with self._store.transaction():
            self._store.connection.execute(sql, params)
        self.forget()


def _name(entity: str) -> str:
    found = next((e for e in ENTITIES if e.lower() == entity.lower()), None)
    if found is None:
        raise KeyError(f"no entity {entity!r}")
    return found
