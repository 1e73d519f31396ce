"""Names are shown as text and credentials never leave billsync in a line of output."""

from __future__ import annotations

import pytest

from engine.notify import url_secrets
from engine.scrub import MASK as M
from engine.textsafe import redact_url, scrub, visible


def test_visible_escapes_control_and_format_characters_only() -> None:
    assert visible("Contoso Ltd — Zürich") == "Contoso Ltd — Zürich"
    assert visible("a\x1b[31mb\nc\u202ed") == "a\\x1b[31mb\\nc\\u202ed"


def test_scrub_removes_url_credentials_secret_variables_and_given_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOTASK_SECRET", "hunter2-secret")
    text = "GET https://user:pass@host/x with hunter2-secret and slack-token-1234"
    assert scrub(text, ["slack-token-1234"]) == f"GET https://{M}@host/x with {M} and {M}"


def test_redact_url_keeps_the_scheme_and_host_only() -> None:
    assert redact_url("json://u:p@127.0.0.1:8080/hook?token=abc") == f"json://{M}@127.0.0.1:8080/{M}"
    assert redact_url("mailtos://mail.example.com") == "mailtos://mail.example.com"


def test_url_secrets_cover_passwords_path_tokens_and_query_values() -> None:
    secrets = url_secrets(
        ["slack://TokenAAAAAA/TokenBBBBBBB/#billing", "json://u:pw1234@host:1/short?key=longsecret99"]
    )
    assert {"TokenAAAAAA", "TokenBBBBBBB", "pw1234", "longsecret99"} <= set(secrets)
    assert "short" not in secrets and "host" not in secrets
