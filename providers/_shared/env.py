"""Reading credentials from the environment, the only place either provider takes them from."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from engine.errors import ConfigError

__all__ = ["require_env"]


def require_env(
    environ: Mapping[str, str] | None, names: Sequence[str], *, what: str, advice: str
) -> Mapping[str, str]:
    """The environment (``os.environ`` when ``environ`` is ``None``), once each of ``names`` is set.

    Every missing or blank variable is named in one :class:`ConfigError` ("``what`` are incomplete:
    environment variable … not set. ``advice``"), so a user fixes them all in one go. Values are
    returned as they are; the caller strips those where spaces cannot be meant.
    """
    env = os.environ if environ is None else environ
    missing = [name for name in names if not env.get(name, "").strip()]
    if missing:
        listed = ", ".join(missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(f"{what} are incomplete: environment variable {listed} {verb} not set. {advice}")
    return env
