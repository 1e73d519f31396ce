"""``billsync init`` starts a git repository holding the shipped rules and an empty state, and
``run --commit`` records each successful apply's state with a message listing months and counts."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from ._support import AS_OF, Workspace


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def _shipped() -> dict[str, bytes]:
    return {i.name: i.read_bytes() for i in files("rules").iterdir() if i.name.endswith(".yaml")}


def test_init_commits_the_shipped_rules_and_an_empty_state(tmp_path: Path) -> None:
    # a checkout-like folder with its own, edited rules/ where the command runs: never copied
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "csp365.yaml").write_text("edited: true\n", encoding="utf-8")
    script = Path(sys.executable).with_name("billsync")
    done = subprocess.run(
        [str(script), "init", "billing"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    root = tmp_path / "billing"
    assert _git(root, "log", "--format=%s") == "billsync workspace: shipped rules and an empty state\n"
    tracked = _git(root, "ls-files").split()
    assert tracked == sorted(
        [".gitignore", "billsync.yaml", "state/.gitkeep", *(f"rules/{name}" for name in _shipped())]
    )
    assert {p.name: p.read_bytes() for p in (root / "rules").iterdir()} == _shipped()
    ignored = (root / ".gitignore").read_text(encoding="utf-8")
    assert ".billsync/\n" in ignored and "sandbox" in ignored and "logs" in ignored and "lock" in ignored
    assert _git(root, "status", "--porcelain") == ""


def test_run_commit_records_the_state_with_months_and_counts(tmp_path: Path) -> None:
    root = tmp_path / "billing"
    Workspace(tmp_path).run("init", str(root))
    workspace = Workspace(root)
    out = workspace.run("run", "--as-of", AS_OF, "--auto-approve", "--commit").stdout
    assert "Committed state to git." in out
    message = _git(root, "log", "-1", "--format=%B")
    assert message.splitlines()[:3] == [
        "billsync run 2026-11-25: 2026-09, 2026-10",
        "",
        "70 written, 6 adopted; snapshot serial 1.",
    ]
    assert "- adjustment: 18 create, 6 adopt" in message and "- contract: 16 create" in message
    assert "Billed 20308.88 USD of 20694.88 Cloudmore sales" in message
    assert "state/state.json" in _git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert _git(root, "status", "--porcelain") == ""  # .billsync/ (sandbox, logs, reports) is ignored

    again = workspace.run("run", "--as-of", AS_OF, "--auto-approve", "--commit").stdout
    assert "Nothing due" in again and "Committed" not in again
    assert len(_git(root, "log", "--format=%H").split()) == 2
