"""The workspace: ``billsync.yaml`` and the folders it names.

Every key is optional. With no file at all billsync runs on its embedded default: the built-in
Autotask sandbox persisted under ``.billsync/`` and the example Cloudmore bundle. Credentials are
never read from this file, only from environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import ConfigError, RuleError
from engine.settings import Settings, load_settings, parse_settings
from engine.yamlfile import LocatedDict, load_yaml
from rules import default_rules_dir

__all__ = [
    "CONFIG_FILE",
    "COMPANIES_FILE",
    "DATA_DIR",
    "AutotaskConfig",
    "CloudmoreApiConfig",
    "CloudmoreConfig",
    "LogsConfig",
    "HttpLimits",
    "Limits",
    "WorkspaceConfig",
    "Workspace",
    "open_workspace",
]

CONFIG_FILE = "billsync.yaml"
COMPANIES_FILE = "companies.yaml"
DATA_DIR = ".billsync"


class AutotaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    """REST base URL (…/ATServicesRest/V1.0); absent: the embedded sandbox."""
    zone_lookup: bool = False
    """Find the base URL through ZoneInformation for the user instead of ``url``."""
    lease_seconds: int = Field(default=600, ge=5, le=86400)
    """How long the tenant's writer lease lives without renewal (D26): a crashed apply's lease
    blocks other applies at most this long; a running apply renews it every third of it."""


class CloudmoreApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    reseller_id: str
    availability_day: int = 8
    """Day of the next month on which a month's report is taken as available (Cloudmore lists none)."""
    months: int = 3
    """How many months back each run requests (the latest available one included)."""
    first_period: str | None = None
    """No report before this month (YYYY-MM) is requested."""
    report: dict[str, float] = {}
    """How a month's report is waited for (``poll_interval``, ``max_wait`` in seconds), checked by the
    Cloudmore provider, which holds the defaults."""


class CloudmoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: str | None = None
    """An export-bundle folder; absent: the example bundle shipped with billsync."""
    api: CloudmoreApiConfig | None = None
    mapping: str | None = None
    """A YAML file renaming Cloudmore JSON properties (relative to the workspace)."""


class LogsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_days: int = Field(default=30, ge=1, le=3650)
    """Run logs (``.billsync/logs/``) older than this are removed when a run starts."""


class HttpLimits(BaseModel):
    """``limits.http``: what one request to Autotask or Cloudmore may cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_seconds: float = Field(default=120.0, gt=0)
    """Connecting, sending, the headers and the whole body of one request, together."""
    max_response_mb: float = Field(default=16.0, gt=0)
    """The largest answer read, in MiB."""


class Limits(BaseModel):
    """``limits:`` in billsync.yaml: bounds on what servers and files may cost (see README, Safety)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http: HttpLimits = HttpLimits()
    bundle_file_mb: float = Field(default=512.0, gt=0)
    """The largest file of an export bundle, in MiB."""


class WorkspaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_insecure_http: bool = False
    """Let credentials go to a non-loopback host over plain http:// (logged as a warning on every run)."""
    limits: Limits = Limits()
    autotask: AutotaskConfig = AutotaskConfig()
    cloudmore: CloudmoreConfig = CloudmoreConfig()
    settings: str | dict[str, Any] | None = None
    rules: str | None = None
    state: str = "state"
    notify: list[str] = Field(default_factory=list)
    """Apprise URLs told after every ``run`` (``${VAR}`` is read from the environment: keep tokens there)."""
    logs: LogsConfig = LogsConfig()


@dataclass(frozen=True)
class Workspace:
    """A resolved workspace: absolute paths and validated configuration."""

    root: Path
    config: WorkspaceConfig
    rules_dir: Path
    state_dir: Path
    data_dir: Path
    settings_file: str

    def bundle_dir(self) -> Path | None:
        bundle = self.config.cloudmore.bundle
        return None if bundle is None else (self.root / bundle).resolve()

    @property
    def companies_file(self) -> Path:
        """``rules/companies.yaml``: organization → Autotask company links written by ``companies link``."""
        return self.rules_dir / COMPANIES_FILE

    def load_settings(self) -> Settings:
        raw = self.config.settings
        if isinstance(raw, dict):
            settings = parse_settings(raw, f"{self.root / CONFIG_FILE} (settings)")
        else:
            path = Path(self.settings_file)
            settings = load_settings(path, _display(path, self.root))
        links = self.load_company_links()
        if not links:
            return settings
        return settings.model_copy(update={"companies": {**links, **settings.companies}})

    def load_company_links(self) -> dict[str, int]:
        path = self.companies_file
        if not path.exists():
            return {}
        name = _display(path, self.root)
        data = load_yaml(path, name) or {}
        links = data.get("companies", {}) if isinstance(data, dict) else None
        if not isinstance(links, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in links.values()
        ):
            raise RuleError(
                "expected 'companies:' mapping each Organization ID to an Autotask company id (a number)",
                file=name,
                line=1,
            )
        return {str(k): int(v) for k, v in links.items()}

    def display(self, path: Path) -> str:
        return _display(path, self.root)


def open_workspace(root: Path) -> Workspace:
    """Resolve ``root``'s ``billsync.yaml`` (or the defaults when there is none)."""
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(f"workspace folder {root} does not exist")
    path = root / CONFIG_FILE
    data: Any = {}
    if path.exists():
        try:
            data = load_yaml(path, CONFIG_FILE) or {}
        except RuleError as exc:
            raise ConfigError(str(exc)) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{CONFIG_FILE}: expected a mapping of settings")
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        line = (
            data.key_lines.get(str(err["loc"][0])) if isinstance(data, LocatedDict) and err["loc"] else None
        )
        where = f"{CONFIG_FILE}:{line}" if line else CONFIG_FILE
        raise ConfigError(f"{where}: {loc}: {err['msg']}") from None
    rules_dir = (root / config.rules).resolve() if config.rules else default_rules_dir()
    if isinstance(config.settings, str):
        settings_file = str((root / config.settings).resolve())
    else:
        settings_file = str(rules_dir / "settings.yaml")
    return Workspace(
        root=root,
        config=config,
        rules_dir=rules_dir,
        state_dir=(root / config.state).resolve(),
        data_dir=root / DATA_DIR,
        settings_file=settings_file,
    )


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
