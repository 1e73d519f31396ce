"""Cloudmore: the export-bundle reader (and API client) producing the engine's source model.

:func:`make_source` is the ``billsync.providers`` entry point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.cloudmore.source import BundleSource, example_bundle_dir

if TYPE_CHECKING:
    from engine.workspace import Workspace

__all__ = ["BundleSource", "example_bundle_dir", "make_source"]


def make_source(workspace: Workspace) -> BundleSource:
    """The workspace's Cloudmore bundle, or the example bundle shipped with billsync."""
    folder = workspace.bundle_dir()
    return BundleSource(folder if folder is not None else example_bundle_dir())
