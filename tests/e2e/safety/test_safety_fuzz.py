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
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from providers.cloudmore.source import example_bundle_dir

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


@settings(
    max_examples=60,
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
