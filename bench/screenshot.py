"""Make docs/report-1000.png: the HTML billing report of a 1,000-subscription synthetic tenant.

    python -m bench.screenshot [--workdir /tmp/report-1000]

Generates the synthetic bundle and tenant (:func:`bench._workspace.make_workspace`), applies the
first plan with the installed ``billsync``, writes ``billsync report --actual --format html`` and
has headless Chromium (Debian's ``chromium``) take the picture.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from ._chromium import CHROMIUM, HEADLESS_FLAGS
from ._workspace import make_workspace

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.mkdtemp(prefix="billsync-report-")))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report-1000.png")
    args = parser.parse_args()
    chromium = CHROMIUM
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    workspace = make_workspace(args.workdir / "ws", 1000)
    billsync = str(Path(sys.executable).with_name("billsync"))
    as_of = workspace.as_of.isoformat()
    common = [billsync, "-w", str(workspace.root)]
    subprocess.run(
        [*common, "apply", "--as-of", as_of, "--auto-approve"], check=True, stdout=subprocess.DEVNULL
    )
    page = workspace.root / "report.html"
    subprocess.run(
        [*common, "report", "--as-of", as_of, "--actual", "--format", "html", "--out", str(page)], check=True
    )
    profile = tempfile.mkdtemp(prefix="chromium-")
    subprocess.run(
        [
            chromium,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            "--window-size=1200,1100",
            f"--screenshot={args.out}",
            page.as_uri() + "#sort=billed:desc",
        ],
        check=True,
        capture_output=True,
    )
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
