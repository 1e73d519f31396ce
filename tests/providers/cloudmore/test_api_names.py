"""The JSON names: the shipped mapping, a workspace's mapping file renaming some, and capture redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from providers.cloudmore.api_names import Names, load_names, mapped_names
from providers.cloudmore.capture import redact, shown


def test_a_mapping_file_renames_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("subscription:\n  quantity: seats\nerror_message: detail\n", encoding="utf-8")
    names = load_names(path)
    assert (names.subscription.quantity, names.subscription.id, names.error_message) == (
        "seats",
        "id",
        "detail",
    )
    assert names.report_product == Names().report_product
    changed = [
        (group, key)
        for (group, key, name), (_, _, shipped) in zip(
            mapped_names(names), mapped_names(Names()), strict=True
        )
        if name != shipped
    ]
    assert changed == [("subscription", "quantity"), ("", "error_message")]


def test_an_empty_mapping_file_is_the_shipped_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("# nothing renamed yet\n", encoding="utf-8")
    assert load_names(path) == Names()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("subscriptions:\n  quantity: seats\n", "subscriptions: Extra inputs are not permitted"),
        ("subscription:\n  qty: seats\n", "subscription.qty: Extra inputs are not permitted"),
        ("subscription:\n  quantity: [a]\n", "subscription.quantity: Input should be a valid string"),
        ("- a\n", "a Cloudmore mapping file is a YAML mapping of groups to renames"),
        ("a: [\n", "is not valid YAML"),
    ],
)
def test_a_bad_mapping_file_is_one_located_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_names(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_a_huge_mapping_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_bytes(b"#" * 300_000)
    with pytest.raises(ConfigError, match="at most 256 KiB"):
        load_names(path)


def test_redaction_of_secrets_and_personal_data() -> None:
    answer = {
        "access_token": "eyJ…",
        "name": "Contoso Ltd",
        "notificationEmail": "billing@contoso.example",
        "contact": {"name": "Ann", "phone": "+1 555 0100"},
        "customProperties": [
            {"name": "Owner", "value": "ann@contoso.example"},
            {"name": "Tel", "value": "+1 (555) 010-0199"},
        ],
        "quantity": 15,
        "productId": "CFQ7TTC0LDPB:0001",
        "unset": {"email": None},
    }
    assert redact(answer) == {
        "access_token": "[redacted]",
        "name": "Contoso Ltd",
        "notificationEmail": "[redacted]",
        "contact": "[redacted]",
        "customProperties": [
            {"name": "Owner", "value": "[redacted]"},
            {"name": "Tel", "value": "[redacted]"},
        ],
        "quantity": 15,
        "productId": "CFQ7TTC0LDPB:0001",
        "unset": {"email": None},
    }


def test_names_are_shown_with_control_characters_escaped() -> None:
    assert shown("qty\x1b[31m\n") == "qty\\x1b[31m\\n"
    assert len(shown("x" * 500)) == 201
