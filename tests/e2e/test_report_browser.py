"""The HTML report in a real headless Chromium: the totals the rendered page shows are the example's,
its own script finds that the rows add up, and a table sorts as the URL asks."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from bench._chromium import CHROMIUM, HEADLESS_FLAGS

from ._report_support import expected_rows, read_html
from ._support import AS_OF, EXAMPLE_BUNDLE, SetupFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"),
]


def rendered_dom(page: Path, profile: Path, fragment: str = "") -> str:
    """The page's DOM after its scripts ran, as Chromium dumps it."""
    assert CHROMIUM is not None
    completed = subprocess.run(
        [CHROMIUM, *HEADLESS_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri() + fragment],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def test_chromium_shows_the_example_totals_and_checks_the_rows(
    make_setup: SetupFactory, tmp_path: Path
) -> None:
    setup = make_setup("embedded")
    page = tmp_path / "report.html"
    setup.workspace.run("report", "--as-of", AS_OF, "--format", "html", "--out", str(page))
    dom = rendered_dom(page, tmp_path / "profile", "#sort=billed:desc")
    rows, total = read_html(dom)
    expected = expected_rows(EXAMPLE_BUNDLE)
    assert {key: (r["sales"], r["cost"], r["billed"]) for key, r in rows.items()} == {
        key: (r["sales"], r["cost"], r["sales"] - r["unbilled"]) for key, r in expected.items()
    }
    assert total == {
        "sales": Decimal("20694.88"),
        "cost": Decimal("18088.87"),
        "billed": Decimal("20308.88"),
        "margin": Decimal("2220.01"),
        "unbilled": Decimal("386.00"),
        "difference": Decimal("0.00"),
    }
    # the page's script added the rows up itself and says so
    assert (
        '<p id="check" data-state="ok" class="ok">Checked in this page: the rows add up to the totals.</p>'
        in dom
    )
    # and sorted the customer rows by billed amount, largest first, as the URL asked
    billed = [r["billed"] for r in rows.values()]
    assert billed == sorted(billed, reverse=True)
    assert billed[0] == Decimal("8527.53")  # Contoso Ltd, September (the perpetual license)
