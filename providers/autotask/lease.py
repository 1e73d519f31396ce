"""One writer per tenant (D26): a lease kept in Autotask itself, so every copy of a workspace sees it.

Autotask has no compare-and-swap and no lock, but it gives every new object an id larger than the
ids before it. So each apply *creates* a lease object and then reads every lease back: among the
leases that have not expired, the one with the lowest id holds the tenant. A later apply's lease
always has a higher id, so it loses; it ends its own lease and stops before writing, naming the
holder. The holder renews its lease while it works and ends it when done; a crashed holder's lease
simply expires.

The lease object is a Product (API-FACTS A9.7: queryable, creatable, PATCHable; a catalogue item
bills nothing by itself) that is created inactive, so it can never be put on a contract or a
charge: ``sku`` ``billsync-lease`` while live and ``billsync-lease-ended`` once ended (billsync's
own products carry ``billsync:<key>``, so its reads never see a lease), the holder and expiry as
JSON in ``description``. Products cannot be deleted (A9.7 lists no DELETE), so each apply that
writes leaves one inactive, ended product behind.

Requests per apply: one create, one query and one PATCH (the release), plus one PATCH per renewal
(every third of the lease) and one per expired lease ended on the way.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import BillsyncError, WriterBusyError
from engine.provider import WriterClaim
from engine.stamps import parse_utc_stamp, utc_stamp
from providers.autotask.client import AutotaskClient, F

__all__ = ["ENDED_SKU", "LEASE_SKU", "LeaseRecord", "TenantLease", "hold_lease", "read_leases"]

LEASE_SKU = "billsync-lease"
ENDED_SKU = "billsync-lease-ended"
_ENTITY = "Products"
_NAME = "billsync writer lease (one apply at a time)"
_ENDED_NAME = "billsync writer lease (ended)"
_WORKSPACE_CHARS = 600
"""The workspace path kept in a lease, twice (alone and in ``holder``): with the rest, the JSON stays
within the 2,000 characters of ``description`` (A9.7)."""
_HINT = (
    "Wait until it finishes, then plan again: what it wrote is found by its markers. A lease of an "
    "apply that crashed expires at the time shown; to end one at once, set that Product's sku to "
    f"{ENDED_SKU} in Autotask (only if no apply is running)."
)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LeaseRecord:
    """One lease as read from Autotask; ``expires`` is None when its description is unreadable
    (hand-edited), and such a lease counts as live: the stricter choice."""

    product_id: int
    holder: str
    expires: datetime | None
    who: str = ""
    """``user@host`` of the holder."""
    pid: int | None = None

    def live(self, now: datetime) -> bool:
        return self.expires is None or self.expires > now

    def dead_on(self, host: str) -> bool:
        """The holder ran on ``host`` (this machine) and its process is gone: a crash, whose lease
        need not be waited out."""
        if self.pid is None or not self.who or self.who.rpartition("@")[2] != host:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # another user's process, or not allowed to ask: assume it lives
            return False
        return False

    def describe(self) -> str:
        until = f"until {self.expires:%Y-%m-%d %H:%M:%S} UTC" if self.expires else "expiry unreadable"
        return f"{self.holder} (lease: Autotask Product id {self.product_id}, {until})"


def read_leases(client: AutotaskClient) -> list[LeaseRecord]:
    """Every lease not ended, oldest first (one query)."""
    rows = client.query(_ENTITY, [F.eq("sku", LEASE_SKU)], include_fields=["sku", "description"])
    return sorted((_record(row) for row in rows), key=lambda r: r.product_id)


class TenantLease:
    """The lease of one apply (implements :class:`engine.provider.WriterLease`)."""

    def __init__(
        self,
        client: AutotaskClient,
        claim: WriterClaim,
        billing_code_id: int,
        seconds: int,
        clock: Clock = _utc_now,
    ) -> None:
        self._client = client
        self._claim = claim
        self._billing_code_id = billing_code_id
        self._seconds = seconds
        self._clock = clock
        self._id: int | None = None
        self._expires = clock()
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def product_id(self) -> int | None:
        return self._id

    def acquire(self) -> None:
        """Create this apply's lease, read every lease back, and hold the tenant only if ours has the
        lowest id among the live ones; otherwise end ours and raise, naming the holder."""
        self._expires = self._clock() + timedelta(seconds=self._seconds)
        self._id = self._client.create(
            _ENTITY,
            {
                "name": _NAME,
                "sku": LEASE_SKU,
                "isActive": False,
                "isSerialized": False,
                "productBillingCodeID": self._billing_code_id,
                "unitPrice": 0,
                "description": self._description(self._expires),
            },
        )
        try:
            leases = read_leases(self._client)
            now = self._clock()
            host = socket.gethostname()  # whose process table os.kill can ask
            ended = [r for r in leases if r.product_id != self._id and (not r.live(now) or r.dead_on(host))]
            live = [r for r in leases if r not in ended]
            if not any(r.product_id == self._id for r in live):
                raise WriterBusyError(
                    f"Autotask did not list this apply's own lease (Product id {self._id}) when read "
                    "back, so billsync cannot tell whether another apply is writing; nothing was written",
                    hint="Run the command again.",
                )
            holder = live[0]
            if holder.product_id != self._id:
                raise WriterBusyError(
                    f"another apply is writing to this Autotask tenant: {holder.describe()}; "
                    "this one stopped before writing anything",
                    hint=_HINT,
                )
            self._end_expired(ended)
        except BaseException:
            self._end()
            raise
        self._renewer = threading.Thread(target=self._renew_loop, name="billsync-lease", daemon=True)
        self._renewer.start()

    def check(self) -> None:
        """Raise when the lease was lost: a renewal failed, or it expired before one succeeded."""
        lost = self._lost
        if lost is None and self._clock() >= self._expires:
            lost = f"it expired at {self._expires:%Y-%m-%d %H:%M:%S} UTC before it could be renewed"
        if lost is not None:
            raise WriterBusyError(
                f"this apply lost the tenant's writer lease (Product id {self._id}): {lost}; "
                "it stopped before its next writes, the writes made so far are recorded",
                hint="Run the command again: it continues where this one stopped.",
            )

    def release(self) -> None:
        """Stop renewing and end the lease, so the next apply may write at once."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        self._end()

    # -- helpers ------------------------------------------------------------------------------------

    def _description(self, expires: datetime, ended: datetime | None = None) -> str:
        claim = self._claim
        document: dict[str, Any] = {
            "holder": claim.describe()[: _WORKSPACE_CHARS + 200],
            "who": claim.who[:200],
            "pid": claim.pid,
            "workspace": claim.workspace[:_WORKSPACE_CHARS],
            "operation": claim.operation[:50],
            "expires": utc_stamp(expires),
        }
        if ended is not None:
            document["ended"] = utc_stamp(ended)
        return json.dumps(document, sort_keys=True, ensure_ascii=False)

    def _renew_loop(self) -> None:
        interval = max(self._seconds / 3, 1.0)
        while not self._stop.wait(interval):
            expires = self._clock() + timedelta(seconds=self._seconds)
            try:
                self._client.update(_ENTITY, {"id": self._id, "description": self._description(expires)})
            except Exception as exc:  # noqa: BLE001 - kept, and raised by check() before the next writes
                self._lost = f"renewing it failed: {exc}"
                return
            self._expires = expires

    def _end(self) -> None:
        if self._id is None:
            return
        now = self._clock()
        self._client.update(
            _ENTITY,
            {
                "id": self._id,
                "sku": ENDED_SKU,
                "name": _ENDED_NAME,
                "description": self._description(now, now),
            },
        )
        self._id = None

    def _end_expired(self, expired: Sequence[LeaseRecord]) -> None:
        """End the leases of applies that crashed (expired, or of a process gone from this machine),
        so later reads stay one short page."""
        for record in expired:
            self._client.update(_ENTITY, {"id": record.product_id, "sku": ENDED_SKU, "name": _ENDED_NAME})


@contextmanager
def hold_lease(
    client: AutotaskClient,
    claim: WriterClaim,
    billing_code_id: int,
    seconds: int,
    clock: Clock = _utc_now,
) -> Iterator[TenantLease]:
    """Hold the tenant's writer lease for the block (:meth:`TenantLease.acquire`), released on leaving;
    a failure to release after the block failed is added to that error as a note, never hiding it."""
    lease = TenantLease(client, claim, billing_code_id, seconds, clock)
    lease.acquire()
    try:
        yield lease
    except BaseException as exc:
        try:
            lease.release()
        except BillsyncError as release_error:
            exc.add_note(f"and ending the writer lease failed: {release_error}")
        raise
    lease.release()


def _record(row: dict[str, Any]) -> LeaseRecord:
    product_id = int(row["id"])
    try:
        document = json.loads(str(row.get("description") or ""))
        holder = str(document["holder"])[: _WORKSPACE_CHARS + 200]
        expires = parse_utc_stamp(str(document["expires"]))
        pid = document.get("pid")
        who = str(document.get("who") or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return LeaseRecord(product_id, "an apply whose lease cannot be read", None)
    alive_pid = pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None
    return LeaseRecord(product_id, holder, expires, who, alive_pid)
