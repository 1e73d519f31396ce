"""The source tree of a previous commit, to run its ``billsync`` next to this one (``--baseline REF``).

CPU time on these machines varies by up to 2× from one machine (or hour) to the next, so a speed or
memory claim holds as a ratio measured in one run, on the same data and sandbox: the commit ``REF``
is exported with ``git archive`` (no worktree is registered, nothing in the repository changes) and
run by this Python with that tree first on the import path (:func:`bench._measure.source_command`).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export_commit(ref: str, folder: Path) -> tuple[Path, str]:
    """Unpack the tree of ``ref`` into ``folder``; return it and the full commit id."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    folder.mkdir(parents=True, exist_ok=True)
    archive = _git("archive", "--format=tar", commit)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder, commit


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True).stdout
