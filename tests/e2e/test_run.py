"""``billsync run`` as a scheduled job: a one-screen summary, a JSON document, exit codes, a log file
per run, and one notification per run (with the totals), or on failure the error."""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ._support import AS_OF, SetupFactory, Workspace

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the benchmark helpers live beside the packages

from bench._workspace import make_workspace  # noqa: E402

SECRET = "s3cret-hook-token"


class Receiver:
    """A webhook endpoint on loopback that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", "0"))
                receiver.messages.append(json.loads(self.rfile.read(length)))
                receiver.headers.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """An apprise JSON-webhook URL carrying a password, which must never be logged."""
        return f"json://billsync:{SECRET}@127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _notify(workspace: Workspace, url: str, extra: str = "") -> None:
    (workspace.root / "billsync.yaml").write_text(
        f"notify:\n  - {json.dumps(url)}\n{extra}", encoding="utf-8"
    )


def _everything_written(workspace: Workspace) -> str:
    data = workspace.root / ".billsync"
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in data.rglob("*.jsonl"))


def test_run_prints_a_one_screen_summary_by_default_and_the_plan_with_verbose(
    make_setup: SetupFactory,
) -> None:
    setup = make_setup("embedded")
    verbose = setup.workspace.run("plan", "--as-of", AS_OF).stdout
    assert len(verbose.splitlines()) > 600
    summary = setup.workspace.run("plan", "--as-of", AS_OF, "--summary").stdout
    lines = summary.splitlines()
    assert len(lines) <= 40
    assert lines[0] == "Billing months: 2026-09, 2026-10   (as of 2026-11-25)"
    assert "  adjustment             18        6" in lines and "  contract               16        0" in lines
    assert "  Contoso Ltd             2026-09       8527.53 USD  (5 changes)" in lines
    assert "Money moved: 20308.88 USD" in lines
    assert lines[-1] == "Plan: 70 to add, 0 to change, 6 to adopt, 0 to destroy."
    assert any("(D1)" in line for line in lines) and any("(D6)" in line for line in lines)

    ran = setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve").stdout
    assert ran.splitlines()[: len(lines)] == lines
    assert "Apply complete: 70 written, 6 adopted, 0 failed, 0 skipped. Snapshot serial 1." in ran
    assert "Billed 20308.88 USD of 20694.88 Cloudmore sales (2026-09, 2026-10): unbilled 386.00" in ran
    again = setup.workspace.run("run", "--as-of", AS_OF, "--verbose").stdout
    assert "No changes. Autotask matches the billing reports and the rules." in again
    assert "Nothing due: every available billing report is applied." in again


def test_run_json_is_a_machine_readable_summary_with_documented_exit_codes(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    first = setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve", "--json")
    doc = json.loads(first.stdout)
    assert doc["status"] == "applied" and doc["exit_code"] == 0
    assert doc["apply"] == {
        "written": 70,
        "adopted": 6,
        "failed": 0,
        "skipped": 0,
        "serial": 1,
        "months": ["2026-09", "2026-10"],
    }
    assert doc["plan"]["counts"]["charge"] == {"create": 10}
    assert doc["plan"]["money_moved"] == "20308.88"
    assert doc["report"]["totals"] == {
        "sales": "20694.88",
        "cost": "18088.87",
        "billed": "20308.88",
        "margin": "2220.01",
        "unbilled": "386.00",
        "difference": "0.00",
    }
    assert Path(doc["report"]["file"]).is_file() and Path(doc["log"]).is_file()
    # nothing due: 0, or 3 with --detailed-exitcode
    assert (
        json.loads(setup.workspace.run("run", "--as-of", AS_OF, "--json").stdout)["status"] == "nothing due"
    )
    second = setup.workspace.run("run", "--as-of", AS_OF, "--json", "--detailed-exitcode", expect=3)
    assert json.loads(second.stdout)["exit_code"] == 3


def test_run_without_a_terminal_or_auto_approve_says_how_to_approve(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    result = setup.workspace.run("run", "--as-of", AS_OF, expect=4)
    assert "there is no terminal to ask for approval on" in result.stdout
    assert "  billsync run --auto-approve" in result.stdout
    assert not (setup.workspace.root / "state" / "state.json").exists()


def test_run_sends_exactly_one_message_per_run_with_the_totals(
    make_setup: SetupFactory, receiver: Receiver
) -> None:
    setup = make_setup("embedded")
    _notify(setup.workspace, receiver.url)
    result = setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve")
    assert len(receiver.messages) == 1
    message = receiver.messages[0]
    assert message["title"] == "billsync run 2026-11-25: applied"
    assert message["type"] == "success"
    assert "Apply: 70 written, 6 adopted, 0 failed, 0 skipped." in message["message"]
    assert (
        "Billed 20308.88 USD of 20694.88 Cloudmore sales (2026-09, 2026-10): unbilled 386.00, "
        "margin 2220.01, difference 0.00." in message["message"]
    )
    [attachment] = message["attachments"]
    page = base64.b64decode(attachment["base64"]).decode()
    assert 'id="total-billed" data-value="20308.88"' in page
    assert (
        receiver.headers[0]["Authorization"]
        == "Basic " + base64.b64encode(f"billsync:{SECRET}".encode()).decode()
    )

    setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve")
    assert len(receiver.messages) == 2
    assert receiver.messages[1]["title"] == "billsync run 2026-11-25: nothing due"
    assert SECRET not in result.output + _everything_written(setup.workspace)


def test_a_failed_run_sends_one_message_with_the_error(make_setup: SetupFactory, receiver: Receiver) -> None:
    setup = make_setup("embedded")
    settings = setup.workspace.root / "settings.yaml"
    text = (Path(__file__).resolve().parents[2] / "rules" / "settings.yaml").read_text(encoding="utf-8")
    settings.write_text(text.replace("sla_id: 1\n", "sla_id: 999\n"), encoding="utf-8")
    _notify(setup.workspace, receiver.url, "settings: ./settings.yaml\n")
    result = setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve", "--json", expect=1)
    assert len(receiver.messages) == 1
    message = receiver.messages[0]
    assert (message["title"], message["type"]) == ("billsync run 2026-11-25: failed", "failure")
    assert (
        "Error: Autotask does not accept these settings:\n  - sla_id 999: no such Service Level Agreement"
        in (message["message"])
    )
    doc = json.loads(result.stdout)
    assert doc["status"] == "failed" and doc["exit_code"] == 1
    log = _everything_written(setup.workspace)
    assert '"event": "failed"' in log and "sla_id 999" in log
    assert SECRET not in result.output + log


def test_run_logs_are_json_lines_scrubbed_and_kept_for_the_retention_setting(
    make_setup: SetupFactory, receiver: Receiver
) -> None:
    setup = make_setup("embedded")
    _notify(setup.workspace, receiver.url, "logs: {keep_days: 7}\n")
    logs = setup.workspace.root / ".billsync" / "logs"
    logs.mkdir(parents=True)
    old, recent = logs / "run-20200101T000000000000Z.jsonl", logs / "run-20990101T000000000000Z.jsonl"
    for path in (old, recent):
        path.write_text("{}\n", encoding="utf-8")
    os.utime(old, (time.time() - 8 * 86400, time.time() - 8 * 86400))
    setup.workspace.env["AUTOTASK_SECRET"] = "sandbox-secret"
    setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve")
    assert not old.exists() and recent.exists()
    [new] = [p for p in logs.glob("run-*.jsonl") if p != recent]
    records = [json.loads(line) for line in new.read_text(encoding="utf-8").splitlines()]
    events = [r["event"] for r in records if r["event"] != "log"]
    assert events == ["start", "plan", "applied", "report", "end"]
    requests = [r["message"] for r in records if r["event"] == "log" and r["logger"] == "httpx"]
    assert any("/Contracts/query" in m for m in requests)
    text = new.read_text(encoding="utf-8")
    assert SECRET not in text and "sandbox-secret" not in text


def test_an_undeliverable_notification_is_a_warning_and_never_shows_the_url(make_setup: SetupFactory) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    setup = make_setup("embedded")
    _notify(setup.workspace, f"json://billsync:{SECRET}@127.0.0.1:{port}/hook")
    result = setup.workspace.run("run", "--as-of", AS_OF, "--auto-approve")
    assert (
        f"Warning: a notification could not be delivered (to json://**********@127.0.0.1:{port}/**********)"
        in result.output
    )
    assert SECRET not in result.output + _everything_written(setup.workspace)


@pytest.mark.slow
def test_plan_summary_of_1000_subscriptions_fits_one_screen(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", 1000)
    lines = Workspace(workspace.root).run("plan", "--as-of", workspace.as_of.isoformat(), "--summary").stdout
    shown = lines.splitlines()
    assert len(shown) <= 40
    assert shown[-1] == "Plan: 3208 to add, 0 to change, 587 to adopt, 0 to destroy."
    assert any(line.startswith("  … and 18") and "more customer months" in line for line in shown)
