"""Bad input never crashes: a malformed CSV, an unknown reference, a negative quantity, a bad date,
broken YAML, a Jinja syntax error, an undefined variable, a template reaching for Python internals,
wrong credentials or a dead Autotask URL each end ``billsync apply`` with one paragraph naming the
file, the line and what to do, exit code 1, no traceback (unless ``--debug``), and nothing written."""

from __future__ import annotations

import hashlib
import socket

import pytest

AS_OF = ("--as-of", "2026-10-07")
APPLY = ("apply", *AS_OF, "--auto-approve")
SUB2_ROW = "6f1c2d3e-0a1b-4c5d-8e9f-000000000002,ORG-1002,CSP365,CFQ7TTC0LCHC:0002,CFQ7TTC0LCHC:0002:P1Y,"
CONTRACT_NAME = '"{{ vars.contract_prefix }}{{ org.name }} - {{ sub.product_name }}"'
SUB1 = "subscription 6f1c2d3e-0a1b-4c5d-8e9f-000000000001"

# (file, text, replacement, the message's opening, a phrase saying what is wrong or what to do)
CASES = {
    "malformed-csv": (
        "cloudmore/subscriptions.csv",
        ",8,2026-09-15,",
        ',"8,2026-09-15,',
        "subscriptions.csv:3: malformed CSV",
        "a value containing a comma, a quote or a line break must be enclosed in double quotes",
    ),
    "unknown-reference": (
        "cloudmore/subscriptions.csv",
        "000000000002,ORG-1002,",
        "000000000002,ORG-9999,",
        "subscriptions.csv:3 (column 'Organization ID'): unknown organization 'ORG-9999'",
        "add the organization there or export the bundle again",
    ),
    "negative-quantity": (
        "cloudmore/subscriptions.csv",
        SUB2_ROW + "Microsoft 365 Business Premium,8,",
        SUB2_ROW + "Microsoft 365 Business Premium,-8,",
        "subscriptions.csv:3 (column 'Quantity'):",
        "expected a whole number of units from 0 to 2147483647 (like 15), found '-8'",
    ),
    "bad-date": (
        "cloudmore/subscriptions.csv",
        ",8,2026-09-15,",
        ",8,2026-09-31,",
        "subscriptions.csv:3 (column 'Start Date'):",
        "expected a date as YYYY-MM-DD (like 2026-10-01), found '2026-09-31'",
    ),
    "bad-amount": (
        "cloudmore/billing/2026-09.csv",
        ",93.87,",
        ",9x3.87,",
        "billing/2026-09.csv:4 (column 'Total Sales'):",
        "expected an amount with '.' as the decimal point",
    ),
    "broken-yaml": (
        "rules/csp365.yaml",
        "record_types: [CSP365]",
        "record_types: [CSP365",
        "rules/csp365.yaml:12: YAML syntax error",
        "expected ',' or ']'",
    ),
    "broken-workspace-yaml": (
        "billsync.yaml",
        "cloudmore:",
        "cloudmore: [\n",
        "billsync.yaml:4: YAML syntax error",
        "expected ',' or ']'",
    ),
    "bad-setting": (
        "rules/settings.yaml",
        "sla_id: 1",
        "sla_id: one",
        "rules/settings.yaml:10: setting 'sla_id'",
        "Fix the value in the settings file",
    ),
    "jinja-syntax": (
        "rules/csp365.yaml",
        CONTRACT_NAME,
        '"{{ org.name } - {{ sub.product_name }}"',
        "rules/csp365.yaml:30: Jinja syntax error",
        "Check the braces and the expression",
    ),
    "undefined-variable": (
        "rules/csp365.yaml",
        CONTRACT_NAME,
        '"{{ org.nmae }}"',
        f"rules/csp365.yaml:30 ({SUB1}): undefined value in '{{{{ org.nmae }}}}'",
        "Check the variable name; rules can use settings, vars, sub, org",
    ),
    "python-internals": (
        "rules/csp365.yaml",
        CONTRACT_NAME,
        "\"{{ cycler.__init__.__globals__.os.popen('id').read() }}\"",
        f"rules/csp365.yaml:30 ({SUB1}):",
        "Rule templates run in a sandbox and cannot reach Python internals.",
    ),
    "python-internals-mro": (
        "rules/csp365.yaml",
        CONTRACT_NAME,
        '"{{ org.__class__.__mro__[1].__subclasses__() }}"',
        f"rules/csp365.yaml:30 ({SUB1}):",
        "Rule templates run in a sandbox and cannot reach Python internals.",
    ),
    "template-error": (
        "rules/csp365.yaml",
        'units: "{{ month.quantity }}"',
        'units: "{{ month.quantity * 1.5 }}"',
        f"rules/csp365.yaml:60 ({SUB1}, 2026-09):",
        "expected a whole number, got '22.5'",
    ),
}


def _digest(workspace) -> dict[str, str]:
    return {
        str(p.relative_to(workspace.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in workspace.files()
        if p.name != "apply.lock"  # the (empty) OS lock file an apply takes before reading anything
    }


def _assert_clean_error(result, workspace, sandbox, before) -> None:
    assert result.code == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.endswith("\n")
    assert "\n\n" not in result.stderr  # one paragraph
    assert "Traceback" not in result.output
    assert "(run with --debug for details)" not in result.stderr  # the message of an unhandled exception
    assert sandbox.writes() == 0
    assert _digest(workspace) == before  # nothing written: no snapshot, no journal, no file changed


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_one_located_paragraph_and_nothing_is_written(case, workspace_factory, sandbox) -> None:
    name, text, replacement, opening, advice = CASES[case]
    workspace = workspace_factory(sandbox, rules=True)
    path = workspace.root / name
    original = path.read_text(encoding="utf-8")
    assert original.count(text) >= 1, text
    path.write_text(original.replace(text, replacement, 1), encoding="utf-8")
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(f"Error: {opening}"), result.stderr
    assert advice in result.stderr


@pytest.mark.slow  # a real billsync process
def test_a_real_process_prints_no_traceback_unless_debug(workspace_factory, sandbox) -> None:
    workspace = workspace_factory(sandbox, rules=True)
    path = workspace.root / "rules" / "csp365.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(CONTRACT_NAME, '"{{ org.nmae }}"'), encoding="utf-8"
    )
    before = _digest(workspace)
    plain = workspace.run(*APPLY)
    _assert_clean_error(plain, workspace, sandbox, before)
    assert plain.stderr.startswith(f"Error: rules/csp365.yaml:30 ({SUB1}): undefined value")
    debug = workspace.run("--debug", *APPLY)
    assert debug.code == 1
    assert "Traceback (most recent call last):" in debug.stderr
    assert debug.stderr.rstrip().endswith(plain.stderr.rstrip())
    assert sandbox.writes() == 0


@pytest.mark.parametrize(
    ("credential", "value", "message"),
    [
        (
            "AUTOTASK_SECRET",
            "not-the-secret",
            "Error: Autotask refused the API user 'sandbox@billsync.local' (HTTP 401): the secret is wrong.\n"
            "Check AUTOTASK_SECRET.\n",
        ),
        (
            "AUTOTASK_INTEGRATION_CODE",
            "NOT-THE-CODE",
            "Error: Autotask refused the API credentials of 'sandbox@billsync.local' (HTTP 500): "
            "IntegrationCode is invalid.\n"
            "Check AUTOTASK_USERNAME and AUTOTASK_INTEGRATION_CODE.\n",
        ),
        (
            "AUTOTASK_USERNAME",
            "",
            "Error: Autotask credentials are incomplete: environment variable AUTOTASK_USERNAME is not set. Set "
            "AUTOTASK_USERNAME (the API user's username), AUTOTASK_SECRET (its secret) and "
            "AUTOTASK_INTEGRATION_CODE (the API tracking identifier) before running billsync against Autotask, "
            "or remove the autotask connection from billsync.yaml to use the built-in sandbox.\n",
        ),
    ],
)
def test_wrong_or_missing_credentials(credential, value, message, workspace, sandbox) -> None:
    workspace.env[credential] = value
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr == message
    assert "sandbox-secret" not in result.output


def test_a_url_that_is_not_autotask(workspace_factory, sandbox) -> None:
    workspace = workspace_factory(sandbox, url=sandbox.server.url + "/not-autotask/V1.0")
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(
        "Error: Autotask has nothing at GET /not-autotask/V1.0/ZoneInformation (HTTP 404)"
    )


def test_a_dead_autotask_url_fails_at_once_naming_it(workspace_factory, sandbox) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ATServicesRest/V1.0/"
    workspace = workspace_factory(sandbox, url=url)
    before = _digest(workspace)
    result = workspace.invoke(*APPLY)
    _assert_clean_error(result, workspace, sandbox, before)
    assert result.stderr.startswith(
        f"Error: Cannot reach Autotask at {url}ZoneInformation: the connection failed ("
    )
    assert ") after 1 attempt.\nCheck the base URL (or the zone lookup URL) in billsync.yaml" in result.stderr
