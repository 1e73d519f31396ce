"""The workspace as a git repository: ``init`` starts one, ``run --commit`` records each apply's state.

Plain ``git`` commands: the repository is the user's, to push and review with their usual tools.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from engine.errors import BillsyncError

IDENTITY = ("-c", "user.name=billsync", "-c", "user.email=billsync@localhost")
"""Used only when the repository has no identity of its own (a fresh server account)."""


def git(root: Path, *args: str) -> str:
    exe = shutil.which("git")
    if exe is None:
        raise BillsyncError("git is not installed", hint="Install git, or leave out --commit.")
    identity: Sequence[str] = ()
    if args and args[0] == "commit" and not _configured(exe, root):
        identity = IDENTITY
    completed = subprocess.run(
        [exe, *identity, "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=60
    )
    if completed.returncode != 0:
        raise BillsyncError(f"git {args[0]} failed in {root}: {completed.stderr.strip() or completed.stdout}")
    return completed.stdout


def _configured(exe: str, root: Path) -> bool:
    found = subprocess.run(
        [exe, "-C", str(root), "config", "user.email"], capture_output=True, text=True, check=False
    )
    return bool(found.stdout.strip())


def is_repository(root: Path) -> bool:
    exe = shutil.which("git")
    if exe is None:
        return False
    found = subprocess.run(
        [exe, "-C", str(root), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.returncode == 0 and found.stdout.strip() == "true"


def commit_paths(root: Path, paths: Sequence[Path], message: str) -> bool:
    """Commit ``paths`` (added first); False when nothing changed in them."""
    names = [str(p.resolve().relative_to(root.resolve())) for p in paths]
    git(root, "add", "--all", "--", *names)
    staged = subprocess.run(
        [shutil.which("git") or "git", "-C", str(root), "diff", "--cached", "--quiet", "--", *names],
        check=False,
    )
    if staged.returncode == 0:
        return False
    git(root, "commit", "--quiet", "-m", message, "--", *names)
    return True
