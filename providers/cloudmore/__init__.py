"""Cloudmore: the export-bundle reader and the API client producing the engine's source model.

:func:`make_source` is the ``billsync.providers`` entry point: ``cloudmore.api`` in billsync.yaml
selects the Cloudmore API (credentials from the environment; JSON names from the shipped mapping,
renamed by a ``cloudmore.mapping`` file); otherwise the workspace's export bundle, or the example
bundle shipped with billsync, is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engine.errors import ConfigError
from engine.safefile import MiB
from providers._shared.http import check_url
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials, ReportPolicy, ReportSchedule
from providers.cloudmore.api_names import Names, load_names
from providers.cloudmore.api_source import ApiSource
from providers.cloudmore.source import BundleSource, example_bundle_dir

if TYPE_CHECKING:
    from engine.workspace import Workspace

__all__ = ["ApiSource", "BundleSource", "api_client", "example_bundle_dir", "make_source", "workspace_names"]


def make_source(workspace: Workspace) -> BundleSource | ApiSource:
    """The workspace's Cloudmore source: the API when ``cloudmore.api`` is set, else the bundle."""
    api = workspace.config.cloudmore.api
    if api is None:
        folder = workspace.bundle_dir()
        limit = int(workspace.config.limits.bundle_file_mb * MiB)
        return BundleSource(folder if folder is not None else example_bundle_dir(), limit)
    if workspace.config.cloudmore.bundle is not None:
        raise ConfigError(
            "billsync.yaml: cloudmore names both a bundle and an api; billsync reads one Cloudmore source",
            hint="Keep cloudmore.api to read Cloudmore live, or cloudmore.bundle to read an export folder.",
        )
    client, schedule = api_client(workspace)
    return ApiSource(client, workspace.load_settings().currency, schedule)


def api_client(workspace: Workspace, **options: Any) -> tuple[CloudmoreClient, ReportSchedule]:
    """The client for ``cloudmore.api`` (credentials from the environment, names from the workspace's
    mapping) and the report schedule; ``options`` go to :class:`CloudmoreClient` (a capture's recorder)."""
    api = workspace.config.cloudmore.api
    if api is None:
        raise ConfigError(
            "billsync.yaml names no Cloudmore API (cloudmore.api)",
            hint="Add cloudmore.api with url and reseller_id to read Cloudmore through its API.",
        )
    check_url(
        api.url,
        service="Cloudmore",
        setting="cloudmore.api.url",
        allow_insecure_http=workspace.config.allow_insecure_http,
    )
    try:
        report = ReportPolicy(**api.report)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"billsync.yaml: cloudmore.api.report.{where}: {error['msg']}") from None
    try:
        config = ApiClientConfig(
            base_url=api.url,
            reseller_id=api.reseller_id,
            http_limits=workspace.config.limits.http,
            report=report,
        )
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"billsync.yaml: cloudmore.api: {reason}") from None
    try:
        schedule = ReportSchedule(
            availability_day=api.availability_day, months=api.months, first_period=api.first_period
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"billsync.yaml: cloudmore.api.{where}: {error['msg']}") from None
    names = workspace_names(workspace)
    return CloudmoreClient(ApiCredentials.from_env(), config, names=names, **options), schedule


def workspace_names(workspace: Workspace) -> Names:
    """The JSON names: the shipped mapping, with the renames of ``cloudmore.mapping`` when set."""
    mapping = workspace.config.cloudmore.mapping
    return Names() if mapping is None else load_names((workspace.root / mapping).resolve())
