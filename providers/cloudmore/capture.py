"""``billsync cloudmore capture``: save what a real Cloudmore account answers, and check the mapping on it.

Every kind of call the API source makes is sent once, read-only: the organizations, one organization
(as a link reads it), the services, each service's subscriptions and price list, the Azure
subscriptions, the first organization's own prices of its first service, and one monthly report
(the latest month due); plus one read of an organization that does not exist, to see how Cloudmore
words an error. Lists stop after their first page. Each answer is saved as it came, then
redacted: tokens, secrets and personal data (e-mail addresses, phone numbers, contact people, street
addresses, ...) become ``"[redacted]"``, and the API user's own secret, name and password are scrubbed
from every file, so a capture can be shared with support or a colleague.

Then each name of the mapping (:mod:`providers.cloudmore.api_names`) is looked for where billsync
reads it: *found* when at least one object of its kind holds it, *missing* when objects of its kind
were seen but none holds it, *not seen* when the capture held no object of its kind (or the name is
one an answer may rightly lack), and *sent* for the names billsync only sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from engine.errors import BillsyncError
from providers._shared.wire import loads
from providers.cloudmore import api_mapping as m
from providers.cloudmore import api_paths as paths
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiCredentials, ReportSchedule
from providers.cloudmore.api_errors import CloudmoreError
from providers.cloudmore.api_names import OPTIONAL, SENT_ONLY, Names, mapped_names
from providers.cloudmore.api_source import due_months

__all__ = ["Capture", "NameCheck", "capture", "check_names", "redact"]

REDACTED = "[redacted]"
_SECRET_KEYS = re.compile(r"token|secret|password|passwd|authori[sz]ation|api_?key|credential", re.IGNORECASE)
_PERSONAL_KEYS = re.compile(
    r"e-?mail|phone|mobile|fax|contact|first_?name|last_?name|full_?name|person|user_?name|login|address|"
    r"street|zip|postal|birth|ssn|social",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{6,}[0-9]")
_KEPT_HEADERS = ("content-type", "location", "retry-after")
_MAX_BODY = 20 * 1024 * 1024
_PROBE = "billsync-capture-no-such-organization"
"""An organization id no account has: its 404 shows the error body's shape."""


@dataclass(frozen=True)
class NameCheck:
    """One mapped name and what the capture showed of it."""

    group: str
    key: str
    name: str
    state: str  # "found" | "missing" | "not seen" | "sent"

    @property
    def setting(self) -> str:
        """How a mapping file names it: ``group.key`` (or ``key`` for a top-level name)."""
        return f"{self.group}.{self.key}" if self.group else self.key


@dataclass
class Capture:
    """What a capture saved and found."""

    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Calls that failed or could not be made (the capture goes on without them)."""
    checks: list[NameCheck] = field(default_factory=list)


@dataclass
class _Answers:
    """The raw JSON answers, by kind of call, kept in memory for the name check."""

    by_kind: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, kind: str, body: Any) -> None:
        self.by_kind.setdefault(kind, []).append(body)

    def get(self, kind: str) -> list[Any]:
        return self.by_kind.get(kind, [])


def capture(client: CloudmoreClient, schedule: ReportSchedule, as_of: date, folder: Path) -> Capture:
    """Send each kind of read once through ``client`` (made with ``max_pages=1``), save the redacted
    answers in ``folder`` (new or empty) and check the mapping's names against them."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BillsyncError(
            f"{folder} already exists and is not an empty folder; nothing was captured",
            hint="Name a new folder for the capture.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    result = Capture()
    answers = _Answers()
    kind = ["?"]

    def record(method: str, path: str, query: Mapping[str, str], response: httpx.Response) -> None:
        body = _body(response)
        answers.add(kind[0], body)
        number = len(result.files) + 1
        name = f"{number:02d}-{kind[0]}.json"
        document = {
            "request": {"method": method, "path": path, "query": dict(query)},
            "status": response.status_code,
            "headers": {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers},
            "body": redact(body),
        }
        text = _scrubbed(_pretty(document), _secrets(client))  # the token exists once the first call was sent
        (folder / name).write_text(text + "\n", encoding="utf-8")
        result.files.append(name)

    client.set_recorder(record)
    names = client.names
    reseller = client.config.reseller_id

    def call(what: str, action: Any) -> Any:
        kind[0] = what
        try:
            return action()
        except CloudmoreError as exc:
            result.problems.append(f"{what}: {exc.message}")
            return None

    organizations = call(
        "organizations", lambda: client.get_list(paths.organizations_path(reseller), m.ORGANIZATIONS_QUERY)
    )
    first_org = _first_value(organizations, names.organization.id)
    if first_org is not None:
        call("organization", lambda: client.get_object(paths.organization_path(reseller, first_org)))
    kind[0] = "error"
    with suppress(CloudmoreError):  # how Cloudmore words an error: the 404 is the answer wanted
        client.get_object(paths.organization_path(reseller, _PROBE))
    services = call("services", lambda: client.get_list(paths.services_path(reseller))) or []
    service_ids = [value for value in (_value(item, names.service.id) for item in services) if value]
    query = {names.price.currency_param: _currency(organizations, names)}
    for service_id in service_ids:
        call(
            "subscriptions",
            lambda sid=service_id: client.get_list(paths.service_subscriptions_path(reseller, sid)),
        )
        call(
            "price-list",
            lambda sid=service_id: client.get_list(paths.service_price_list_path(reseller, sid), query),
        )
    call("azure-subscriptions", lambda: client.get_list(paths.azure_subscriptions_path(reseller)))
    if first_org is not None and service_ids:
        path = paths.organization_price_list_path(reseller, first_org, service_ids[0])
        call("organization-price-list", lambda: client.get_list(path, query))
    months = due_months(as_of, schedule)
    if months:
        kind[0] = "report"
        try:
            client.run_report(months[-1])
        except CloudmoreError as exc:
            result.problems.append(f"report {months[-1]}: {exc.message}")
    client.set_recorder(None)
    result.checks = check_names(names, answers)
    (folder / "mapping-check.txt").write_text("\n".join(check_lines(result)) + "\n", encoding="utf-8")
    result.files.append("mapping-check.txt")
    return result


def check_names(names: Names, answers: _Answers) -> list[NameCheck]:
    """Each mapped name, found or missing in the objects of its kind (see the module docstring)."""
    objects = dict(_objects(names, answers))
    checks = []
    for group, key, name in mapped_names(names):
        seen = objects.get(group, [])
        if (group, key) in SENT_ONLY:
            state = "sent"
        elif any(name in entry for entry in seen):
            state = "found"
        elif not seen or (group, key) in OPTIONAL:
            state = "not seen"
        else:
            state = "missing"
        checks.append(NameCheck(group, key, name, state))
    return checks


def check_lines(result: Capture) -> list[str]:
    """The check as text lines, for the terminal and ``mapping-check.txt`` (names escaped)."""
    lines = [f"{c.state:<9} {shown(c.setting)}: {shown(c.name)}" for c in result.checks]
    found = sum(c.state == "found" for c in result.checks)
    missing = [c for c in result.checks if c.state == "missing"]
    lines.append(
        f"{found} mapped names found, {len(missing)} missing, "
        f"{sum(c.state == 'not seen' for c in result.checks)} not seen."
    )
    if missing:
        lines.append(
            "Missing: "
            + ", ".join(shown(c.setting) for c in missing)
            + ". Find what the account calls each in "
            "the saved answers and name it in a cloudmore.mapping file (see the README)."
        )
    lines.extend(f"Problem: {shown(problem)}" for problem in result.problems)
    return lines


def redact(value: Any, key: str = "") -> Any:
    """A copy of a JSON value with secrets and personal data replaced by ``"[redacted]"``."""
    if key and (_SECRET_KEYS.search(key) or _PERSONAL_KEYS.search(key)):
        return None if value is None else REDACTED
    if isinstance(value, dict):
        return {name: redact(item, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and (_EMAIL.search(value) or _PHONE.fullmatch(value.strip())):
        return REDACTED
    return value


def shown(text: str) -> str:
    """Text safe for a terminal: control characters escaped, at most 200 characters."""
    escaped = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
    return escaped if len(escaped) <= 200 else escaped[:200] + "…"


def _objects(names: Names, answers: _Answers) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Per mapping group, every JSON object of its kind in the answers."""
    yield (
        "paging",
        [
            body
            for kind, bodies in answers.by_kind.items()
            if kind not in ("report", "error")
            for body in bodies
            if isinstance(body, dict)
        ],
    )
    yield "", _dicts(answers.get("error"))
    organizations = _items(answers.get("organizations"), names) + _dicts(answers.get("organization"))
    yield "organization", organizations
    yield "custom_property", _nested(organizations, names.organization.custom_properties)
    yield "organization_service", _nested(organizations, names.organization.services)
    yield "service", _items(answers.get("services"), names)
    yield "subscription", _items(answers.get("subscriptions") + answers.get("azure-subscriptions"), names)
    yield "price", _items(answers.get("price-list") + answers.get("organization-price-list"), names)
    reports = _dicts(answers.get("report"))
    yield "report", reports
    report_organizations = _nested(reports, names.report.organizations)
    yield "report_organization", report_organizations
    report_services = _nested(report_organizations, names.report_organization.services)
    yield "report_service", report_services
    report_items = _nested(report_services, names.report_service.items)
    yield "report_item", report_items
    yield "report_product", _nested(report_items, names.report_item.products)


def _items(bodies: list[Any], names: Names) -> list[dict[str, Any]]:
    """The objects of list answers: a bare array, or the paging envelope's items."""
    found: list[dict[str, Any]] = []
    for body in bodies:
        entries = body.get(names.paging.items) if isinstance(body, dict) else body
        if isinstance(entries, list):
            found.extend(entry for entry in entries if isinstance(entry, dict))
    return found


def _dicts(bodies: list[Any]) -> list[dict[str, Any]]:
    return [body for body in bodies if isinstance(body, dict)]


def _nested(parents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [child for parent in parents for child in parent.get(name) or [] if isinstance(child, dict)]


def _value(item: m.Item, name: str) -> str | None:
    value = item.data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value.strip() or None if isinstance(value, str) else None


def _first_value(items: list[m.Item] | None, name: str) -> str | None:
    return next((value for value in (_value(item, name) for item in items or []) if value), None)


def _currency(organizations: list[m.Item] | None, names: Names) -> str:
    """The price lists' currency: the first organization's, else USD."""
    return _first_value(organizations, names.organization.currency) or "USD"


def _body(response: httpx.Response) -> Any:
    content = response.content[:_MAX_BODY]
    try:
        return loads(content or b"null")
    except ValueError:
        return {"(not JSON)": content[:2000].decode("utf-8", "replace")}


def _pretty(value: Any, indent: str = "") -> str:
    """Indented JSON in the answer's own key order, amounts with their exact text (``5.1000``)."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        fields = (
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_pretty(v, inner)}" for k, v in value.items()
        )
        return "{\n" + ",\n".join(fields) + f"\n{indent}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(f"{inner}{_pretty(item, inner)}" for item in value) + f"\n{indent}]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _secrets(client: CloudmoreClient) -> list[str]:
    credentials: ApiCredentials = client.credentials
    values = [credentials.api_secret, credentials.username, credentials.password]
    token = client.current_token()
    return [v.get_secret_value() for v in values if v.get_secret_value()] + ([token] if token else [])


def _scrubbed(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, REDACTED).replace(json.dumps(secret)[1:-1], REDACTED)
    return text
