"""Cloudmore: the export-bundle reader and the API client producing the engine's source model.

:func:`make_source` is the ``billsync.providers`` entry point: ``cloudmore.api`` in billsync.yaml
selects the Cloudmore API (credentials from the environment); otherwise the workspace's export bundle,
or the example bundle shipped with billsync, is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from engine.errors import ConfigError
from engine.safefile import MiB
from providers._shared.http import check_url
from providers.cloudmore.api_source import ApiSource
from providers.cloudmore.source import BundleSource, example_bundle_dir

if TYPE_CHECKING:
    from engine.workspace import Workspace

__all__ = ["ApiSource", "BundleSource", "example_bundle_dir", "make_source"]


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
    from providers.cloudmore.api_client import CloudmoreClient
    from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials

    check_url(
        api.url,
        service="Cloudmore",
        setting="cloudmore.api.url",
        allow_insecure_http=workspace.config.allow_insecure_http,
    )
    try:
        config = ApiClientConfig(
            base_url=api.url, reseller_id=api.reseller_id, http_limits=workspace.config.limits.http
        )
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"billsync.yaml: cloudmore.api: {reason}") from None
    return ApiSource(CloudmoreClient(ApiCredentials.from_env(), config))
