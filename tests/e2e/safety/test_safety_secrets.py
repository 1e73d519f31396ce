"""Secrets: the Autotask secret (and integration code) never appear in anything billsync writes — the
snapshot and its journal, plan files, the lock notes under ``.billsync/`` — nor in its output, its
``--debug`` tracebacks or its debug log, whatever the command and however it fails."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus

import pytest

from providers.autotask.sandbox import SandboxCredentials

AS_OF = ("--as-of", "2026-10-07")
CREDENTIALS = SandboxCredentials(
    username="secrets@billsync.local",
    secret="S3cr3t-7d1f0c9e-never-shown",
    integration_code="BILLSYNC-SECRETS-4417",
)
NEEDLES = (CREDENTIALS.secret, CREDENTIALS.integration_code)
SUB1 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"


def _clean(text: str, where: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"{needle!r} found in {where}"


@pytest.mark.slow  # real billsync processes
def test_no_file_output_traceback_or_log_holds_the_secret(sandbox_factory, workspace_factory) -> None:
    sandbox = sandbox_factory(CREDENTIALS)
    workspace = workspace_factory(sandbox)
    plan_file = str(workspace.root / "month.plan")
    outputs: list[tuple[str, str]] = []

    def run(*args: str, code: int = 0, process: bool = False) -> None:
        """``billsync --debug ARGS``, in a real process or (faster) in this one."""
        result = (workspace.run if process else workspace.invoke)("--debug", *args)
        assert result.code == code, result
        outputs.append((" ".join(args), result.output))

    run("validate")
    run("plan", *AS_OF, "--out", plan_file)
    run("plan", *AS_OF, "--json")
    run("render", *AS_OF, "--json")
    run("show", plan_file)
    # an apply that fails halfway (a 500, and a write whose answer is lost), with tracebacks on
    sandbox.app.inject_fault(endpoint="Contracts", verb="create", nth=2, status=500, message="Rejected.")
    sandbox.app.inject_fault(endpoint="Services", verb="create", nth=3, drop_response=True)
    run("apply", plan_file, code=1, process=True)
    sandbox.app.clear_faults()
    # one killed while it holds the lock, then the re-run
    sandbox.app.reset_stats()
    sandbox.app.inject_fault(endpoint="ContractServices", verb="create", nth=1, delay=60)
    holder = workspace.start("--debug", "apply", *AS_OF, "--auto-approve")
    note = workspace.root / ".billsync" / "apply.lock.json"
    sandbox.wait_until(
        lambda: note.exists() and sandbox.stats().count("ContractServices", "create") >= 1,
        "the apply is writing",
    )
    outputs.append(("the lock note", note.read_text(encoding="utf-8")))
    run("apply", *AS_OF, "--auto-approve", code=1)  # refused: locked
    holder.kill()
    outputs.append(("killed apply", "".join(holder.communicate(timeout=30))))
    sandbox.settle()
    # the whole run in process too, with every logger at DEBUG
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        applied = workspace.invoke("--debug", "apply", *AS_OF, "--auto-approve")
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    assert applied.code == 0, applied
    assert "billsync.autotask DEBUG" in log.getvalue(), log.getvalue()
    outputs += [("in-process apply", applied.output), ("debug log", log.getvalue())]
    run("state", "list")
    run("state", "show", 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"]')
    sandbox.edit("Contracts", sandbox.row("Contracts", **{"Subscription ID": SUB1})["id"], contractName="x")
    run("drift", *AS_OF)
    # a failure that names the connection: a wrong secret
    workspace.env["AUTOTASK_SECRET"] = CREDENTIALS.secret + "-wrong"
    run("plan", *AS_OF, code=1, process=True)

    for command, text in outputs:
        _clean(text, f"the output of {command}")
    written = [p for p in workspace.files() if p.suffix != ".db"]
    names = {p.relative_to(workspace.root).as_posix() for p in written}
    assert {"state/state.json", "month.plan"} <= names and any(n.startswith("state/contract/") for n in names)
    for path in written:
        _clean(path.read_bytes().decode("utf-8", "replace"), str(path.relative_to(workspace.root)))


# ---- servers that echo the credentials back ------------------------------------------------------------

CLOUDMORE = {
    "CLOUDMORE_API_SECRET": "cm-api-S3cret-5a0f2b",
    "CLOUDMORE_USERNAME": "api.user.77@partner.example",
    "CLOUDMORE_PASSWORD": "P@ss w0rd&=!-91c3",
}
BASIC = base64.b64encode(f"ro.customer.client:{CLOUDMORE['CLOUDMORE_API_SECRET']}".encode()).decode()


def _encodings(secret: str) -> list[str]:
    """The secret base64-encoded after 0, 1 and 2 other bytes (each alignment), and URL-safe."""
    return [
        encode(f"{prefix}{secret}:tail".encode()).decode()
        for prefix in ("", "u", "us", "user:")
        for encode in (base64.b64encode, base64.urlsafe_b64encode)
    ]


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with an error quoting what it was sent: headers, form fields, raw and labelled."""

    def do_GET(self) -> None:
        self._echo()

    def do_POST(self) -> None:
        self._echo()

    def _echo(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        headers = " ".join(f"{k}: {v}" for k, v in self.headers.items())
        if "/zoneinformation" in self.path.lower():  # unauthenticated (A1): nothing to echo; name a tenant
            self._send(200, {"zoneName": "Echo", "url": "http://echo/ATServicesRest/", "webUrl": "", "ci": 1})
        elif self.path.startswith("/connect/token"):
            form = {k: v[0] for k, v in parse_qs(body).items()}
            said = (
                f"the user {form.get('username')} with password {form.get('password')} and "
                f"{self.headers.get('Authorization')} (basic {self.headers.get('Authorization', '').split()[-1]}) "
                f"sent {body} / {headers}"
            )
            self._send(400, {"error": "invalid_grant", "error_description": said})
        else:
            secret = self.headers.get("Secret", "")
            said = (
                f"Integration {self.headers.get('ApiIntegrationCode')} of {self.headers.get('UserName')} with "
                f"{secret} is not valid ({headers}); encoded: {' '.join(_encodings(secret))}"
            )
            self._send(500, {"errors": [said], "message": said})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _in_process_with_debug_log(workspace, *args: str):
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        result = workspace.invoke("--debug", *args)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    return result, log.getvalue()


@pytest.mark.slow  # a real billsync process
def test_an_autotask_echoing_the_secret_and_integration_code_is_masked(
    sandbox_factory, workspace_factory, echo_server
) -> None:
    sandbox = sandbox_factory(CREDENTIALS)
    workspace = workspace_factory(sandbox, url=echo_server + "/ATServicesRest/V1.0")
    result, log = _in_process_with_debug_log(workspace, "plan", *AS_OF)
    assert result.code == 1, result
    assert "Integration ********** of secrets@billsync.local with ********** is not valid" in result.stderr, (
        result
    )
    process = workspace.run("--debug", "plan", *AS_OF)
    assert process.code == 1
    assert "Traceback" in process.stderr  # --debug shows it, masked
    assert "; encoded: ********** **********" in result.stderr, result.stderr
    hidden = [*NEEDLES, *_encodings(CREDENTIALS.secret)]
    for where, text in (("output", result.output), ("debug log", log), ("process output", process.output)):
        for needle in hidden:
            assert needle not in text, f"{needle!r} found in the {where}"


@pytest.mark.slow  # a real billsync process
def test_a_cloudmore_echoing_password_secret_and_basic_header_is_masked(
    sandbox_factory, workspace_factory, echo_server
) -> None:
    sandbox = sandbox_factory(CREDENTIALS)
    workspace = workspace_factory(sandbox)
    config = workspace.root / "billsync.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "cloudmore: {bundle: ./cloudmore}",
            f"cloudmore: {{api: {{url: '{echo_server}', reseller_id: r1}}}}",
        )
    )
    workspace.env.update(CLOUDMORE)
    result, log = _in_process_with_debug_log(workspace, "plan", *AS_OF)
    assert result.code == 1, result
    opening = "\nError: Cloudmore refused the API user name or password (HTTP 400, invalid_grant: "
    assert opening in result.stderr, result.stderr
    assert "with password ********** and Basic ********** (basic **********" in result.stderr, result.stderr
    process = workspace.run("--debug", "plan", *AS_OF)
    assert process.code == 1
    needles = (*CLOUDMORE.values(), BASIC, quote_plus(CLOUDMORE["CLOUDMORE_PASSWORD"]), *NEEDLES)
    for where, text in (("output", result.output), ("debug log", log), ("process output", process.output)):
        for needle in needles:
            assert needle not in text, f"{needle!r} found in the {where}: {text}"
