"""State bound to a tenant (D25): ``state.json`` records the Autotask tenant it was applied to (the
zone's ``ci`` and the REST root), and a plan or apply against another tenant is refused before any
object is read or written; an older snapshot without a tenant is bound by its next apply."""

from __future__ import annotations

import json

from providers.autotask.sandbox import make_app

AS_OF = ("--as-of", "2026-10-07")


def _state_bytes(workspace) -> dict[str, bytes]:
    return {
        p.relative_to(workspace.state).as_posix(): p.read_bytes()
        for p in sorted(workspace.state.rglob("*"))
        if p.is_file()
    }


def _point_at(workspace, url: str) -> None:
    config = workspace.root / "billsync.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    lines[0] = f"autotask: {{url: {json.dumps(url)}}}"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_each_sandbox_database_is_its_own_tenant(tmp_path) -> None:
    first, second = make_app(tmp_path / "a.db"), make_app(tmp_path / "b.db")
    try:
        ci = first.store.tenant_ci()
        assert ci != second.store.tenant_ci()
        assert first.store.tenant_ci() == ci  # kept, not drawn again
    finally:
        first.store.close()
        second.store.close()
    reopened = make_app(tmp_path / "a.db")
    try:
        assert reopened.store.tenant_ci() == ci
    finally:
        reopened.store.close()


def test_apply_records_the_tenant_in_state_json(workspace, sandbox) -> None:
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    assert "Note:" not in applied.stdout + applied.stderr  # a new workspace is bound silently
    assert workspace.snapshot()["tenant"] == {"ci": sandbox.app.store.tenant_ci(), "url": sandbox.base_url}


def test_state_of_another_tenant_is_refused_by_plan_and_apply_and_nothing_is_written(
    workspace, sandbox, sandbox_factory
) -> None:
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    other = sandbox_factory()
    state = _state_bytes(workspace)
    _point_at(workspace, other.base_url)
    a, b = sandbox.app.store.tenant_ci(), other.app.store.tenant_ci()
    expected = (
        f"Error: state/ belongs to tenant ci {a} at {sandbox.base_url}, but billsync is connected to "
        f"tenant ci {b} at {other.base_url}"
    )
    for command in (("plan", *AS_OF), ("apply", *AS_OF, "--auto-approve"), ("drift", *AS_OF)):
        refused = workspace.invoke(*command)
        assert refused.code == 1, (command, refused)
        assert refused.stderr.startswith(expected), refused.stderr
        assert "billsync state rebuild" in refused.stderr and "new workspace" in refused.stderr
        assert refused.stdout == ""
    assert other.writes() == 0 and other.created() == 0
    assert other.stats().endpoints.get("Contracts") is None  # no object of B was even read
    assert _state_bytes(workspace) == state
    # back on its own tenant, the workspace is in step
    _point_at(workspace, sandbox.base_url)
    again = workspace.invoke("plan", *AS_OF, "--detailed-exitcode")
    assert again.code == 0, again


def test_a_snapshot_without_a_tenant_is_bound_by_the_next_apply_and_says_so(workspace, sandbox) -> None:
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    meta_path = workspace.state / "state.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["tenant"]
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    ci = sandbox.app.store.tenant_ci()
    planned = workspace.invoke("plan", *AS_OF, "--json")
    assert planned.code == 0, planned
    notes = [d for d in json.loads(planned.stdout)["diagnostics"] if d["code"] == "tenant-unbound"]
    assert [d["message"] for d in notes] == [
        f"state/ records no Autotask tenant yet; the next apply binds it to tenant ci {ci} at "
        f"{sandbox.base_url}, and from then on refuses any other tenant"
    ]
    sandbox.app.reset_stats()
    bound = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert bound.code == 0, bound
    assert f"Note: state/ is now bound to tenant ci {ci} at {sandbox.base_url}" in bound.stdout
    assert sandbox.writes() == 0
    assert workspace.snapshot()["tenant"] == {"ci": ci, "url": sandbox.base_url}
