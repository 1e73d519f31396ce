"""Whatever the bundle and the rule files hold, ``billsync plan`` either plans or stops with a clean
error (exit 1, one ``Error:`` paragraph, no traceback, never the message of an unhandled exception),
and it never writes to Autotask (the sandbox's write counters stay at 0).

Each example starts from the shipped example export (every record type, a revised report) and an
editable copy of the shipped rules, and applies one to three mutations: a CSV cell replaced, a CSV
line dropped, duplicated or cut, a rule or settings value replaced by a plausible mistake, or a few
bytes of a rule file changed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from providers.cloudmore.source import example_bundle_dir
from tests.hypothesis_examples import examples

AS_OF = ("--as-of", "2026-11-07")
EXAMPLE = example_bundle_dir("2026-11-07")
CSV_FILES = sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*.csv"))
CELL_VALUES = st.text(max_size=20) | st.sampled_from(
    ["", " ", "-1", "-0.01", "0", "1,5", "NaN", "Infinity", "1e309", "9" * 40, "2026-02-30", "2026-13-01",
     "0000-00-00", "ORG-9999", "CSP366", "Azure", "Inactive", "EUR", "billing/2026-12.csv", "../../etc/passwd",
     '"', "\x00", "\u00e9\u00e8", "=cmd|' /C calc'!A0"]
)  # fmt: skip
RULE_VALUES = st.sampled_from(
    [
        '"{{ org.nmae }}"',
        '"{{ sub.product_name "',
        '"{{ 1 / 0 }}"',
        '"{{ month.quantity * -1 }}"',
        '"{{ sub.quantity * 1.5 }}"',
        '"{{ none.attribute }}"',
        "\"{{ ''.__class__.__mro__[1].__subclasses__() }}\"",
        '"{{ cycler.__init__.__globals__ }}"',
        '"{{ settings.__dict__ }}"',
        '"{{ range(10) | list }}"',
        '"{{ sub.start_date | money }}"',
        '"{% for x in y %}"',
        '"{{ vars.missing }}"',
        '"not a number"',
        '"2026-02-30"',
        "-5",
        "99999999999999999999",
        "[1, 2",
        "{a: b}",
        "null",
        "true",
        "!!python/object/apply:os.system ['true']",
        "&anchor",
        "*alias",
        "'unterminated",
        "|",
        "",
    ]
)
RULE_NAMES = ["azure", "csp365", "marketplace", "perpetual_licenses", "reserved_instances", "subscriptions"]
RULE_FILES = [f"rules/{name}.yaml" for name in [*RULE_NAMES, "settings"]]
_VALUE_LINE = re.compile(r"^(\s*(?:- )?[A-Za-z_]+:\s)(.+)$")


def _mutate_cell(data: st.DataObject, text: str) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    if not rows[row]:
        return text
    column = data.draw(st.integers(0, len(rows[row]) - 1), label="column")
    rows[row][column] = data.draw(
        CELL_VALUES | st.sampled_from([value for line in rows for value in line]), label="value"
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _mutate_lines(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    action = data.draw(st.sampled_from(["drop", "duplicate", "cut"]), label="action")
    if action == "drop":
        del lines[index]
    elif action == "duplicate":
        lines.insert(index, lines[index])
    else:
        lines[index] = lines[index][: data.draw(st.integers(0, len(lines[index])), label="cut at")]
    return "".join(lines)


def _mutate_rule_value(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    candidates = [i for i, line in enumerate(lines) if _VALUE_LINE.match(line.rstrip("\n"))]
    index = data.draw(st.sampled_from(candidates), label="rule line")
    found = _VALUE_LINE.match(lines[index].rstrip("\n"))
    assert found is not None
    lines[index] = found.group(1) + data.draw(RULE_VALUES, label="rule value") + "\n"
    return "".join(lines)


def _mutate_bytes(data: st.DataObject, text: str) -> str:
    start = data.draw(st.integers(0, len(text)), label="start")
    end = data.draw(st.integers(start, min(len(text), start + 30)), label="end")
    replacement = data.draw(
        st.text(max_size=8) | st.sampled_from(["{{", "}}", "{%", ":", "\t", "- ", "[", "'"])
    )
    return text[:start] + replacement + text[end:]


def _mutate(data: st.DataObject, root: Path) -> None:
    kind = data.draw(st.sampled_from(["cell", "lines", "rule", "bytes"]), label="mutation")
    if kind in ("cell", "lines"):
        path = root / "cloudmore" / data.draw(st.sampled_from(CSV_FILES), label="csv file")
        mutate = _mutate_cell if kind == "cell" else _mutate_lines
    else:
        path = root / data.draw(st.sampled_from(RULE_FILES), label="rule file")
        mutate = _mutate_rule_value if kind == "rule" else _mutate_bytes
    path.write_text(mutate(data, path.read_text(encoding="utf-8")), encoding="utf-8")


@pytest.fixture
def fuzz_workspace(workspace_factory, sandbox):
    """One workspace for every example (hypothesis runs them all in one test call), and its pristine copy."""
    workspace = workspace_factory(sandbox, bundle=EXAMPLE, rules=True)
    pristine = workspace.root.with_name("pristine")
    shutil.copytree(workspace.root, pristine)
    return workspace, pristine


@pytest.mark.slow
@settings(
    max_examples=examples(60),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_plan_on_mutated_bundles_and_rules_plans_or_fails_cleanly(data, fuzz_workspace, sandbox) -> None:
    workspace, pristine = fuzz_workspace
    shutil.rmtree(workspace.root)
    shutil.copytree(pristine, workspace.root)

    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        _mutate(data, workspace.root)
    result = workspace.invoke("plan", *AS_OF)

    assert "Traceback" not in result.output, result
    assert "(run with --debug for details)" not in result.stderr, result  # an unhandled exception
    event("planned" if result.code == 0 else "refused with an error")
    if result.code == 0:
        assert "Plan: " in result.stdout and result.stderr == "", result
    else:
        assert result.code == 1, result
        assert result.stderr.startswith("Error: ") and "\n\n" not in result.stderr.strip(), result
    assert sandbox.writes() == 0
    assert not (workspace.root / "state").exists()


# ---- Cloudmore API answers --------------------------------------------------------------------------

JUNK = st.sampled_from(
    [None, "", "x", -1, 0, 10**30, "9" * 40, "NaN", "2026-02-30", [], {}, [1, "a"], {"items": None}, True,
     "\x1b[2J\nPlan: 0 to add", "=HYPERLINK(\"x\")", "../../etc/passwd", "ORG-9999", "EUR", 1.5e308]
)  # fmt: skip


class _Mutating:
    """WSGI middleware: the ``nth`` JSON answer of the emulator is mutated (one value replaced, one key
    dropped, the body cut, or the status changed); every other answer passes unchanged."""

    def __init__(self, app) -> None:
        self.app = app
        self.mutation: tuple[int, str, int, object] | None = None
        self.seen = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        with self.lock:
            index, self.seen = self.seen, self.seen + 1
        status, headers = captured["status"], captured["headers"]
        if self.mutation is not None and self.mutation[0] == index:
            status, body = _mutate_answer(status, body, self.mutation)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _leaves(item, (*path, number))
    yield path


def _mutate_answer(status: str, body: bytes, mutation) -> tuple[str, bytes]:
    _index, kind, pick, junk = mutation
    if kind == "status":
        return f"{pick % 600 or 200} Mutated", body
    if kind == "cut":
        return status, body[: pick % (len(body) + 1)]
    try:
        document = json.loads(body)
    except ValueError:
        return status, body
    paths = [p for p in _leaves(document) if p]
    if not paths:
        return status, json.dumps(junk).encode()
    path = paths[pick % len(paths)]
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if kind == "drop" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return status, json.dumps(document).encode()


@pytest.fixture
def mutating_cloudmore(workspace_factory, sandbox):
    from providers.cloudmore.emulator import EMULATOR_CREDENTIALS, EMULATOR_RESELLER_ID
    from providers.cloudmore.emulator import make_app as make_cloudmore
    from providers.cloudmore.emulator import start_background_server as serve_cloudmore

    middleware = _Mutating(make_cloudmore(EXAMPLE))
    server = serve_cloudmore(middleware)
    workspace = workspace_factory(sandbox, bundle=EXAMPLE)
    config = workspace.root / "billsync.yaml"
    api = f"cloudmore: {{api: {{url: {json.dumps(server.url)}, reseller_id: {EMULATOR_RESELLER_ID}}}}}"
    config.write_text(config.read_text(encoding="utf-8").replace("cloudmore: {bundle: ./cloudmore}", api))
    workspace.env.update(EMULATOR_CREDENTIALS.environment())
    yield workspace, middleware
    server.stop()


@pytest.mark.slow
@settings(
    max_examples=examples(12),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    nth=st.integers(0, 12),
    kind=st.sampled_from(["value", "value", "drop", "cut", "status"]),
    pick=st.integers(0, 10_000),
    junk=JUNK,
)
def test_plan_on_mutated_cloudmore_answers_plans_or_fails_cleanly(
    nth, kind, pick, junk, mutating_cloudmore, sandbox
):
    workspace, middleware = mutating_cloudmore
    middleware.seen, middleware.mutation = 0, (nth, kind, pick, junk)
    result = workspace.invoke("plan", "--as-of", "2026-11-25")
    assert "Traceback" not in result.output, result
    assert "(run with --debug for details)" not in result.stderr, result
    assert "\x1b" not in result.output, result
    event("planned" if result.code == 0 else "refused with an error")
    if result.code == 0:
        assert "Plan: " in result.stdout, result
    else:
        assert result.code == 1, result
        assert result.stderr.startswith("Error: "), result
    assert sandbox.writes() == 0
    assert not (workspace.root / "state").exists()


# ---- the sandbox's query language --------------------------------------------------------------------

FIELDS = st.sampled_from(
    ["id", "contractName", "companyID", "startDate", "status", "isActive", "nope", "", 5]
)
OPERATORS = st.sampled_from(
    ["eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains", "exist", "notExist", "in",
     "notIn", "and", "or", "AND", "like", "", None, 1]
)  # fmt: skip
VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=12)
    | st.lists(st.integers(0, 10) | st.text(max_size=3), max_size=600)
    | st.sampled_from(["2026-10-01", "2026-10-01T00:00:00", "' OR 1=1 --", '"; DROP TABLE "Contracts', "%_"])
)
FILTERS = st.recursive(
    st.fixed_dictionaries(
        {"op": OPERATORS, "field": FIELDS},
        optional={"value": VALUES, "udf": st.booleans()},
    ),
    lambda children: st.fixed_dictionaries(
        {"op": st.sampled_from(["and", "or"]), "items": st.lists(children, max_size=3)}
    ),
    max_leaves=12,
)


@pytest.mark.slow
@settings(max_examples=examples(60), deadline=None, database=None)
@given(
    body=st.fixed_dictionaries(
        {"filter": st.lists(FILTERS, max_size=3) | JUNK},
        optional={"IncludeFields": st.lists(FIELDS, max_size=3), "MaxRecords": st.integers(-5, 600) | JUNK},
    ),
    as_get=st.booleans(),
)
def test_the_sandbox_answers_any_query_with_items_or_autotask_errors(body, as_get) -> None:
    import httpx

    from providers.autotask.config import SANDBOX_CREDENTIALS
    from providers.autotask.sandbox import make_app as make_sandbox

    headers = {
        "UserName": SANDBOX_CREDENTIALS.username,
        "Secret": SANDBOX_CREDENTIALS.secret.get_secret_value(),
        "ApiIntegrationCode": SANDBOX_CREDENTIALS.integration_code,
    }
    transport = httpx.WSGITransport(app=_SANDBOX.setdefault("app", make_sandbox(":memory:")))
    with httpx.Client(
        transport=transport, base_url="http://sandbox/ATServicesRest/V1.0/", headers=headers
    ) as h:
        text = json.dumps(body)
        if as_get:
            response = h.get("Contracts/query", params={"search": text})
        else:
            response = h.post("Contracts/query", content=text, headers={"Content-Type": "application/json"})
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    document = response.json()
    if response.status_code == 200:
        assert isinstance(document["items"], list)
    else:
        assert response.status_code == 500, response.text
        assert isinstance(document["errors"], list) and all(isinstance(m, str) for m in document["errors"])


_SANDBOX: dict = {}
"""One in-memory sandbox for every example (a query never changes it)."""
