"""Credentials, client settings and the path table of the Autotask client."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from engine.errors import ConfigError, TargetError
from providers.autotask import paths
from providers.autotask.config import (
    DEFAULT_ZONE_LOOKUP_URL,
    SANDBOX_CREDENTIALS,
    ClientConfig,
    Credentials,
    RetryPolicy,
)
from providers.autotask.errors import AutotaskError, AutotaskOutcomeUnknown

SECRET = "Tr1cky-Secret-Value"
ENV = {
    "AUTOTASK_USERNAME": "api@msp.example",
    "AUTOTASK_SECRET": SECRET,
    "AUTOTASK_INTEGRATION_CODE": "CODE123",
}


def test_credentials_come_from_the_environment() -> None:
    credentials = Credentials.from_env(ENV)
    assert credentials.username == "api@msp.example"
    assert credentials.secret.get_secret_value() == SECRET
    assert credentials.integration_code == "CODE123"


def test_credentials_read_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert Credentials.from_env().username == "api@msp.example"


def test_a_missing_variable_is_named_in_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Credentials.from_env({**ENV, "AUTOTASK_SECRET": ""})
    message = str(caught.value)
    assert message.startswith(
        "Autotask credentials are incomplete: environment variable AUTOTASK_SECRET is not set."
    )
    assert "built-in sandbox" in message


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError, match="AUTOTASK_USERNAME, AUTOTASK_INTEGRATION_CODE are not set"):
        Credentials.from_env({"AUTOTASK_SECRET": SECRET})


def test_the_secret_never_shows_in_repr_str_or_dumps() -> None:
    credentials = Credentials.from_env(ENV)
    for shown in (
        repr(credentials),
        str(credentials),
        credentials.model_dump_json(),
        str(credentials.model_dump()),
    ):
        assert SECRET not in shown
        assert "api@msp.example" in shown


def test_credentials_are_frozen_and_refuse_empty_values() -> None:
    credentials = Credentials.from_env(ENV)
    with pytest.raises(ValidationError):
        credentials.username = "other"
    with pytest.raises(ValidationError, match="secret is empty"):
        Credentials(username="a", secret=SecretStr(""), integration_code="b")


def test_sandbox_credentials_are_the_documented_defaults() -> None:
    assert SANDBOX_CREDENTIALS.username == "sandbox@billsync.local"
    assert SANDBOX_CREDENTIALS.secret.get_secret_value() == "sandbox-secret"
    assert SANDBOX_CREDENTIALS.integration_code == "BILLSYNC-SANDBOX"


def test_client_config_defaults() -> None:
    config = ClientConfig()
    assert config.base_url is None
    assert config.zone_lookup_url == DEFAULT_ZONE_LOOKUP_URL
    assert config.zone_lookup_url == "https://webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation"
    assert config.max_in_flight_per_endpoint == 3
    assert config.retry == RetryPolicy()


@pytest.mark.parametrize(
    "bad",
    [
        {"max_in_flight_per_endpoint": 0},
        {"timeout": 0},
        {"base_url": "webservices5.autotask.net/ATServicesRest"},
        {"retry": {"max_attempts": 0}},
        {"retry": {"max_total_seconds": 0}},
        {"surprise": 1},
    ],
)
def test_client_config_refuses_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ClientConfig.model_validate(bad)


@pytest.mark.parametrize(
    ("entity", "parent_id", "expected"),
    [
        ("Contracts", None, "Contracts"),
        ("Companies", None, "Companies"),
        ("ContractServices", 5, "Contracts/5/Services"),
        ("ContractServiceAdjustments", 5, "Contracts/5/ServiceAdjustments"),
        ("ContractCharges", 5, "Contracts/5/Charges"),
    ],
)
def test_write_paths(entity: str, parent_id: int | None, expected: str) -> None:
    assert paths.write_path(entity, parent_id) == expected


def test_read_paths_go_to_the_root_entity_even_for_children() -> None:
    assert paths.query_path("ContractServices") == "ContractServices/query"
    assert paths.count_path("ContractCharges") == "ContractCharges/query/count"
    assert paths.item_path("ContractCharges", 12) == "ContractCharges/12"
    assert paths.fields_path("Services") == "Services/entityInformation/fields"
    assert paths.THRESHOLD_PATH == "ThresholdInformation"


@pytest.mark.parametrize(
    "entity", ["", "companies", "Companies/1", "../Secret", "Companies?x=1", "Con tracts"]
)
def test_paths_refuse_anything_but_an_entity_name(entity: str) -> None:
    with pytest.raises(ValueError, match="not an Autotask entity name"):
        paths.query_path(entity)


@pytest.mark.parametrize("bad_id", [-1, True, "5"])
def test_paths_refuse_ids_that_are_not_non_negative_integers(bad_id: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        paths.item_path("Contracts", bad_id)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integer"):
        paths.write_path("ContractCharges", bad_id)  # type: ignore[arg-type]


def test_autotask_errors_are_target_errors_and_show_no_headers() -> None:
    error = AutotaskOutcomeUnknown(
        "lost", method="POST", path="/V1.0/Contracts", status=504, hint="look it up"
    )
    assert isinstance(error, AutotaskError)
    assert isinstance(error, TargetError)
    assert (error.method, error.path, error.status, error.messages) == ("POST", "/V1.0/Contracts", 504, ())
    assert str(error) == "lost\nlook it up"
    assert repr(error) == "AutotaskOutcomeUnknown(method='POST', path='/V1.0/Contracts', status=504)"
