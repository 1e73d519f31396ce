"""What a job without anyone watching needs: a version, no colour codes on request, a fast and clear
failure when Autotask is unreachable, plan headers that name both ends, clear errors for a --target
that matches nothing, and "No drift." when nothing drifted."""

from __future__ import annotations

import socket

from ._support import AS_OF, EXAMPLE_BUNDLE, SANDBOX_ENV, SetupFactory


def test_version() -> None:
    from importlib.metadata import version

    from click.testing import CliRunner

    from engine.cli import cli

    result = CliRunner().invoke(cli, ["--version"])
    assert (result.exit_code, result.output) == (0, f"billsync {version('billsync')}\n")


def test_no_color_leaves_out_colour_codes_even_where_colour_is_forced(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    setup.workspace.env["FORCE_COLOR"] = "1"  # rich colours even without a terminal
    coloured = setup.workspace.run("plan", "--as-of", AS_OF).stdout
    assert "\x1b[32m  + contract[" in coloured
    plain = setup.workspace.run("--no-color", "plan", "--as-of", AS_OF).stdout
    assert "\x1b[32m" not in plain and "\x1b[33m" not in plain
    assert "\n  + contract[" in plain


def test_an_unreachable_autotask_fails_at_once_naming_its_host(make_setup: SetupFactory) -> None:
    """A closed loopback port: no retries for minutes, one attempt and the URL in the message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    setup = make_setup("embedded")
    setup.workspace.configure(url=f"http://127.0.0.1:{port}/ATServicesRest/V1.0")
    setup.workspace.env = dict(SANDBOX_ENV)
    error = str(setup.workspace.run("plan", "--as-of", AS_OF, expect=1).exception)
    assert f"Cannot reach Autotask at http://127.0.0.1:{port}/ATServicesRest/V1.0/" in error
    assert "the connection failed" in error and "after 1 attempt." in error


def test_the_plan_header_names_the_autotask_and_the_cloudmore_source(make_setup: SetupFactory) -> None:
    setup = make_setup("served")
    lines = setup.workspace.run("plan", "--as-of", AS_OF).stdout.splitlines()
    assert lines[0] == "Billing months: 2026-09, 2026-10"
    url = setup.workspace.root.joinpath("billsync.yaml").read_text(encoding="utf-8").split('"')[1]
    assert lines[1] == f"Autotask: {url}   Cloudmore: {EXAMPLE_BUNDLE}"


def test_a_target_matching_nothing_is_an_error_naming_the_closest_addresses(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    result = setup.workspace.run(
        "plan", "--as-of", AS_OF, "--target", 'contract["6f1c2d3e-0a1b-4c5d-8e9f-00000000001"]', expect=1
    )
    error = str(result.exception)
    assert error.startswith("--target 'contract[\"6f1c2d3e-0a1b-4c5d-8e9f-00000000001\"]' matches no address")
    assert '\nClosest: contract["6f1c2d3e-0a1b-4c5d-8e9f-0000000000' in error
    nonsense = str(setup.workspace.run("plan", "--as-of", AS_OF, "--target", "zzz", expect=1).exception)
    assert "with kinds adjustment, charge, contract, contract_service, product, service" in nonsense


def test_drift_with_no_drift_says_so(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    setup.workspace.run("apply", "--as-of", AS_OF, "--auto-approve")
    assert setup.workspace.run("drift", "--as-of", AS_OF).stdout == "No drift.\n"
