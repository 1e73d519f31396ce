"""Finding the providers: through the ``billsync.providers`` entry points, so the engine imports none.

A provider factory takes the :class:`~engine.workspace.Workspace` and returns a Target or Source; the
Cloudmore provider also writes its organization bulk-import file (``cloudmore-organization-import``).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, cast

from engine.errors import ConfigError
from engine.provider import Source, Target
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.onboarding import NewOrganization

GROUP = "billsync.providers"
COMMANDS = "billsync.commands"


def _factory(name: str) -> Any:
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return ep.load()
    raise ConfigError(
        f"the {name!r} provider is not installed",
        hint="Install billsync with pip (pip install -e .) so its providers are registered.",
    )


def make_target(workspace: Workspace) -> Target:
    return cast(Target, _factory("autotask")(workspace))


def make_source(workspace: Workspace) -> Source:
    return cast(Source, _factory("cloudmore")(workspace))


def organization_import_csv(organizations: Iterable[NewOrganization]) -> str:
    """Cloudmore's organization bulk-import file with one row per organization (D2): the columns are
    Cloudmore's, so the Cloudmore provider writes it."""
    return cast(str, _factory("cloudmore-organization-import")(organizations))


def extra_command_names() -> list[str]:
    """The names of the Click commands providers contribute (``billsync sandbox …``), none imported."""
    return sorted(ep.name for ep in entry_points(group=COMMANDS))


def extra_command(name: str) -> Any:
    """The provider command called ``name``, imported now (None if no provider contributes it): a
    command line pays for importing only the provider command it runs, not the sandboxes of all."""
    for ep in entry_points(group=COMMANDS):
        if ep.name == name:
            return ep.load()
    return None


def extra_commands() -> list[Any]:
    """Every Click command contributed by providers, imported."""
    return [extra_command(name) for name in extra_command_names()]
