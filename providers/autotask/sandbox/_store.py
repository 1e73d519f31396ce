"""SQLite storage for the sandbox tenant.

One table per stored entity with a real column per field, indexes on the fields billsync queries in
bulk, and user-defined field values in their own indexed table, so an ``in`` query of 500 ids over
250,000 rows is an index lookup. One connection serves every thread behind a re-entrant lock;
request handlers never sleep while holding it. A file database persists across restarts.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from providers.autotask.entities import ENTITIES, Entity, Field, FieldType

from . import _units
from ._bulk import BulkRows
from ._filters import Condition, Group
from ._seed import seed_demo_tenant, upgrade_tenant
from ._sql import quote, where_sql
from ._tenant import SCHEMA as TENANT_SCHEMA
from ._tenant import Tenant
from ._values import Value, decimal_key, from_sql, to_sql

DEFAULT_DB_PATH = Path(".billsync") / "sandbox.db"
"""Where the embedded sandbox keeps its tenant unless told otherwise."""

FIRST_NEW_ID = 30_000_001
"""Like Autotask, new objects get ids above 30,000,000 from one counter shared by all entities."""

INDEXED_FIELDS = frozenset(
    {
        "contractID",
        "contractServiceID",
        "companyID",
        "serviceID",
        "productID",
        "sku",
        "purchaseOrderNumber",
        "startDate",
        "effectiveDate",
        "datePurchased",
        "name",
        "companyName",
        "contractName",
    }
)
"""Fields queried in bulk; each gets an index in every entity table that has it."""

Row = dict[str, Any]


class SandboxStore:
    """The sandbox tenant's data in SQLite (a file path, or ``":memory:"``).

    A new or empty database is seeded with the demo tenant unless ``seed`` is False.
    """

    def __init__(self, path: str | Path = DEFAULT_DB_PATH, *, seed: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self.tenant = Tenant(self)
        """The tenant's configuration (SLAs, UDFs, billing codes): see :mod:`._tenant`."""
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.create_function("sandbox_decimal_key", 1, decimal_key, deterministic=True)
        with self.transaction():
            older = self._predates_tenant_config()
            fresh = self._create_schema()
            if older and not fresh:
                upgrade_tenant(self)
        if fresh and seed:
            seed_demo_tenant(self)
        self.analyze()

    def analyze(self) -> None:
        """Refresh SQLite's table statistics, so a query with an ``in`` list of 500 ids uses the index when
        the ids are few among many rows and an id-ordered scan when they are most of them (ten times
        faster for billsync's own bulk reads). Sampling keeps it to milliseconds at 250,000 rows; a
        database another process holds locked keeps its old statistics."""
        with self._lock, contextlib.suppress(sqlite3.OperationalError):
            self._conn.execute("PRAGMA analysis_limit = 1000")
            self._conn.execute("ANALYZE")

    def __repr__(self) -> str:
        return f"SandboxStore({self.path!r})"

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection; use only inside :meth:`transaction`."""
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store lock and run the block as one transaction (nested blocks join the outer one)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def reset(self, *, seed: bool = True) -> None:
        """Drop every object and recreate the (seeded) demo tenant."""
        with self.transaction():
            tables = [
                row[0]
                for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not str(row[0]).startswith("sqlite_")
            ]
            for table in tables:
                self._conn.execute(f"DROP TABLE {quote(table)}")
            self._create_schema()
        self.tenant.forget()
        if seed:
            seed_demo_tenant(self)

    # ---- identity --------------------------------------------------------------------------------

    def tenant_ci(self) -> int:
        """This database's tenant number, served as ``ci`` by ``ZoneInformation`` (API-FACTS A1).

        Each database draws its own at random when it is created or first opened by this version (as
        each Autotask tenant has its own), so a workspace pointed at another sandbox database sees
        another tenant."""
        with self.transaction():
            (ci,) = self._conn.execute("SELECT value FROM meta WHERE key = 'tenant_ci'").fetchone()
            return int(ci)

    # ---- ids -------------------------------------------------------------------------------------

    def allocate_id(self) -> int:
        """The next free object id (shared by all entities)."""
        with self.transaction():
            (next_id,) = self._conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
            self._conn.execute("UPDATE meta SET value = ? WHERE key = 'next_id'", (int(next_id) + 1,))
            return int(next_id)

    def _bump_next_id(self, used: int) -> None:
        self._conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'next_id' AND CAST(value AS INTEGER) <= ?",
            (used + 1, used),
        )

    # ---- writes ----------------------------------------------------------------------------------

    def insert(
        self, entity: Entity, values: Mapping[str, Value], udfs: Mapping[str, str | None] | None = None
    ) -> int:
        """Insert one checked object (Python values by field name) and return its id."""
        with self.transaction():
            object_id = values.get("id")
            if object_id is None:
                object_id = self.allocate_id()
            else:
                self._bump_next_id(int(object_id))
            row = {**values, "id": object_id}
            names = [f.name for f in entity.fields if f.name in row]
            self._conn.execute(
                f"INSERT INTO {quote(entity.name)} ({', '.join(map(quote, names))}) "
                f"VALUES ({', '.join('?' * len(names))})",
                [to_sql(_field(entity, name), row[name]) for name in names],
            )
            self.set_udfs(entity, int(object_id), udfs or {})
            return int(object_id)

    def update(self, entity: Entity, object_id: int, changes: Mapping[str, Value]) -> None:
        """Write changed fields (Python values by field name) of one object."""
        names = [name for name in changes if name != "id"]
        if not names:
            return
        with self.transaction():
            self._conn.execute(
                f"UPDATE {quote(entity.name)} SET {', '.join(quote(n) + ' = ?' for n in names)} WHERE id = ?",
                [*(to_sql(_field(entity, name), changes[name]) for name in names), object_id],
            )

    def delete(self, entity: Entity, object_id: int) -> None:
        """Remove one object and its user-defined field values."""
        with self.transaction():
            self._conn.execute(f"DELETE FROM {quote(entity.name)} WHERE id = ?", (object_id,))
            self._conn.execute(
                "DELETE FROM udf_values WHERE entity = ? AND object_id = ?", (entity.name, object_id)
            )

    def set_udfs(self, entity: Entity, object_id: int, values: Mapping[str, str | None]) -> None:
        """Set (or clear, with None) user-defined field values of one object."""
        with self.transaction():
            for name, value in values.items():
                if value is None:
                    self._conn.execute(
                        "DELETE FROM udf_values WHERE entity = ? AND object_id = ? AND name = ?",
                        (entity.name, object_id, name),
                    )
                else:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO udf_values (entity, object_id, name, value) VALUES (?, ?, ?, ?)",
                        (entity.name, object_id, name, value),
                    )

    def insert_many(self, entity: Entity | str, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        """Bulk-insert objects without HTTP and without business rules (for seeding and benchmarks).

        Each row maps field names to API values (``date``/``datetime`` objects and ``Decimal`` are
        accepted too) and may carry ``userDefinedFields`` as ``[{"name", "value"}]``. Values are
        type-checked and field defaults applied; computed fields (a charge's ``billableAmount``)
        are stored only as given. Rows without ``id`` get new ids. Raises ``ValueError`` on a bad row.
        """
        target = self.tenant.entity(ENTITIES[entity] if isinstance(entity, str) else entity)
        if not target.stored:
            raise ValueError(f"{target.name} is computed, not stored")
        bulk = BulkRows(target)
        sql = (
            f"INSERT INTO {quote(target.name)} ({', '.join(quote(f.name) for f in bulk.columns)}) "
            f"VALUES ({', '.join('?' * len(bulk.columns))})"
        )
        ids: list[int] = []
        with self.transaction():
            (stored_next,) = self._conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
            next_id = int(stored_next)
            batch: list[list[int | str | None]] = []
            udf_rows: list[tuple[str, int, str, str]] = []
            for number, row in enumerate(rows, start=1):
                values, udfs = bulk.convert(row, number)
                object_id = values[bulk.id_index]
                if object_id is None:
                    object_id = values[bulk.id_index] = next_id
                    next_id += 1
                ids.append(int(object_id))
                batch.append(values)
                udf_rows.extend((target.name, int(object_id), name, value) for name, value in udfs.items())
                if len(batch) >= 5000:
                    self._conn.executemany(sql, batch)
                    batch.clear()
            self._conn.executemany(sql, batch)
            self._conn.executemany(
                "INSERT OR REPLACE INTO udf_values (entity, object_id, name, value) VALUES (?, ?, ?, ?)",
                udf_rows,
            )
            self._bump_next_id(max([next_id - 1, *ids]))
        if self._depth == 0:
            self.analyze()
        return ids

    # ---- reads -----------------------------------------------------------------------------------

    def get(self, entity: Entity, object_id: int) -> Row | None:
        """One object by id (with its UDFs), or None."""
        where = Group("and", (Condition("eq", entity.field("id"), None, object_id),))
        rows = self.select(entity, where, limit=1)
        return rows[0] if rows else None

    def select(
        self,
        entity: Entity,
        where: Group,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Row]:
        """Objects matching ``where``, ordered by id, after/before an id (keyset), at most ``limit``."""
        with self._lock:
            if not entity.stored:
                return _units.select_units(
                    self, where, after=after, before=before, limit=limit, descending=descending
                )
            sql, params = self._where(entity, where, after, before)
            order = "DESC" if descending else "ASC"
            tail = f" LIMIT {int(limit)}" if limit is not None else ""
            cursor = self._conn.execute(
                f"SELECT * FROM {quote(entity.name)} WHERE {sql} ORDER BY id {order}{tail}", params
            )
            rows = self._rows(entity, cursor)
            if entity.udfs and rows:
                self._attach_udfs(entity, rows)
            return rows

    def count(self, entity: Entity, where: Group) -> int:
        """How many objects match ``where``."""
        with self._lock:
            if not entity.stored:
                return _units.count_units(self, where)
            sql, params = self._where(entity, where, None, None)
            (total,) = self._conn.execute(
                f"SELECT COUNT(*) FROM {quote(entity.name)} WHERE {sql}", params
            ).fetchone()
            return int(total)

    def _where(
        self, entity: Entity, where: Group, after: int | None, before: int | None
    ) -> tuple[str, list[Any]]:
        sql, params = where_sql(entity, where)
        extra: list[Any] = list(params)
        if after is not None:
            sql += " AND id > ?"
            extra.append(after)
        if before is not None:
            sql += " AND id < ?"
            extra.append(before)
        return sql, extra

    def _rows(self, entity: Entity, cursor: sqlite3.Cursor) -> list[Row]:
        names = [column[0] for column in cursor.description]
        fields = [_field(entity, name) for name in names]
        return [
            {field.name: from_sql(field, value) for field, value in zip(fields, record, strict=True)}
            for record in cursor.fetchall()
        ]

    def _attach_udfs(self, entity: Entity, rows: list[Row]) -> None:
        by_id: dict[int, dict[str, str]] = {row["id"]: {} for row in rows}
        ids = list(by_id)
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            for object_id, name, value in self._conn.execute(
                f"SELECT object_id, name, value FROM udf_values WHERE entity = ? AND object_id IN "
                f"({','.join('?' * len(chunk))})",
                [entity.name, *chunk],
            ):
                by_id[object_id][name] = value
        for row in rows:
            found = by_id[row["id"]]
            row["userDefinedFields"] = [
                {"name": udf.name, "value": found.get(udf.name)} for udf in entity.udfs
            ]

    # ---- schema ----------------------------------------------------------------------------------

    def _predates_tenant_config(self) -> bool:
        """A database written before the tenant's configuration had its own tables."""
        conn = self._conn
        has_meta = conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
        has_tenant = conn.execute("SELECT name FROM sqlite_master WHERE name = 'tenant_slas'").fetchone()
        return has_meta is not None and has_tenant is None

    def _create_schema(self) -> bool:
        """Create missing tables, columns and indexes; True when the database was empty."""
        conn = self._conn
        fresh = conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone() is None
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('next_id', ?)", (FIRST_NEW_ID,))
        # the tenant's number (ZoneInformation ``ci``): drawn once per database, kept ever after
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('tenant_ci', ?)",
            (100_000 + secrets.randbelow(900_000),),
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS udf_values (entity TEXT NOT NULL, object_id INTEGER NOT NULL, "
            "name TEXT NOT NULL COLLATE NOCASE, value TEXT COLLATE NOCASE, PRIMARY KEY (entity, object_id, name))"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS udf_lookup ON udf_values (entity, name, value)")
        for statement in TENANT_SCHEMA:
            conn.execute(statement)
        for entity in ENTITIES.values():
            if entity.stored:
                self._create_table(entity)
        return fresh

    def _create_table(self, entity: Entity) -> None:
        table = quote(entity.name)
        columns = ", ".join(_column_sql(f) for f in entity.fields)
        self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        existing = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
        for f in entity.fields:
            if f.name not in existing:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {_column_sql(f)}")
        for f in entity.fields:
            if f.name in INDEXED_FIELDS:
                index = quote(f"ix_{entity.name}_{f.name}")
                self._conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(f.name)})")


def _column_sql(field: Field) -> str:
    if field.name == "id":
        return '"id" INTEGER PRIMARY KEY'
    if field.type is FieldType.STRING:
        return f"{quote(field.name)} TEXT COLLATE NOCASE"
    if field.type in (FieldType.DECIMAL, FieldType.DATETIME):
        return f"{quote(field.name)} TEXT"
    return f"{quote(field.name)} INTEGER"


def _field(entity: Entity, name: str) -> Field:
    found = entity.field(name)
    if found is None:
        raise KeyError(f"{entity.name} has no field {name!r}")
    return found
