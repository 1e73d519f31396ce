"""Secrets: the Autotask secret (and integration code) never appear in anything billsync writes — the
snapshot and its journal, plan files, the lock notes under ``.billsync/`` — nor in its output, its
``--debug`` tracebacks or its debug log, whatever the command and however it fails."""

from __future__ import annotations

import io
import logging

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
