"""``--as-of`` and ``--period`` are checked once, when the command line is read, before any file is opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--as-of", "2026-02-30"],
        ["apply", "--as-of", "2026-02-30"],
        ["drift", "--as-of", "2026-02-30"],
        ["report", "--as-of", "2026-02-30"],
        ["run", "--as-of", "2026-02-30"],
        ["render", "--as-of", "2026-02-30"],
        ["state", "rebuild", "--as-of", "2026-02-30"],
        ["import", 'contract["S-1"]', "1", "--as-of", "2026-02-30"],
    ],
)
def test_a_bad_as_of_is_refused_before_the_workspace_is_read(args: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-workspace"
    result = CliRunner().invoke(cli, ["--workspace", str(missing), *args])
    assert result.exit_code == 2
    assert "Invalid value for '--as-of': expected YYYY-MM-DD, got '2026-02-30'" in result.output
    assert not missing.exists()


@pytest.mark.parametrize("command", ["plan", "apply", "report", "render"])
def test_a_bad_period_is_refused_before_the_workspace_is_read(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "none"), command, "--period", "2026-13"])
    assert result.exit_code == 2
    assert "Invalid value for '--period': expected YYYY-MM, got '2026-13'" in result.output
