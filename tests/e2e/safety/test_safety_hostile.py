"""Hostile input: values and files written by an attacker are shown harmlessly or refused cleanly,
in bounded time, and nothing is written. Every test drives the ``billsync`` command."""

from __future__ import annotations

import csv
import hashlib
import io

AS_OF = ("--as-of", "2026-10-07")
APPLY = ("apply", *AS_OF, "--auto-approve")
FORGED = "Contoso Ltd\nPlan: 0 to add, 0 to change, 0 to adopt, 0 to destroy.\x1b[2K\x1b[1A\u202e"


def _digest(workspace) -> dict[str, str]:
    return {
        str(p.relative_to(workspace.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in workspace.files()
        if p.name != "apply.lock"
    }


def _assert_clean_error(result, workspace, sandbox, before) -> None:
    assert result.code == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.endswith("\n")
    assert "Traceback" not in result.output
    assert "(run with --debug for details)" not in result.stderr, result.stderr
    assert sandbox.writes() == 0
    assert _digest(workspace) == before


def _rewrite_csv(path, change) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    change(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _rename_organization(workspace, name: str) -> None:
    def change(rows: list[list[str]]) -> None:
        for row in rows:
            if row[0] == "ORG-1001":
                row[1] = name

    _rewrite_csv(workspace.root / "cloudmore" / "organizations.csv", change)


# ---- 1. output spoofing -----------------------------------------------------------------------------


def test_a_name_with_a_newline_and_escapes_cannot_forge_a_plan_line(workspace, sandbox) -> None:
    _rename_organization(workspace, FORGED)
    result = workspace.run("plan", *AS_OF)
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("Plan:")] == [
        "Plan: 20 to add, 0 to change, 0 to adopt, 0 to destroy."
    ]
    assert "\x1b" not in result.output and "\u202e" not in result.output
    shown = (
        '"Contoso Ltd\\nPlan: 0 to add, 0 to change, 0 to adopt, 0 to destroy.\\x1b[2K\\x1b[1A\\u202e'
        ' - Microsoft 365 Business Standard"'
    )
    assert any(line.strip().startswith("+ contractName") and line.endswith(shown) for line in lines), (
        result.stdout
    )
    assert sandbox.writes() == 0


def test_an_error_message_quoting_hostile_data_stays_one_paragraph(workspace, sandbox) -> None:
    def change(rows: list[list[str]]) -> None:
        rows[2][6] = "8\n\x1b[31mError: forged"  # Quantity of the second subscription

    _rewrite_csv(workspace.root / "cloudmore" / "subscriptions.csv", change)
    before = _digest(workspace)
    result = workspace.run(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "\x1b" not in result.stderr
    assert "found '8\\n\\x1b[31mError: forged'" in result.stderr, result.stderr
