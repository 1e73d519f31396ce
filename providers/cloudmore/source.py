"""The Cloudmore source of a workspace: an export bundle folder (default: the shipped example)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from engine.source import SourceData
from providers.cloudmore._csv import MAX_FILE_BYTES
from providers.cloudmore.bundle import read_bundle

__all__ = ["BundleSource", "example_bundle_dir", "EXAMPLE_DIR"]

EXAMPLE_DIR = Path(__file__).resolve().parent / "example"


def example_bundle_dir(name: str | None = None) -> Path:
    """A shipped example export folder: the latest one, or the one named (e.g. ``2026-10-07``)."""
    folders = sorted(p for p in EXAMPLE_DIR.iterdir() if p.is_dir() and p.name[:1].isdigit())
    if name is not None:
        return EXAMPLE_DIR / name
    return folders[-1]


@dataclass(frozen=True)
class BundleSource:
    folder: Path
    max_file_bytes: int = MAX_FILE_BYTES

    def load(self, as_of: date | None = None) -> SourceData:
        """The whole bundle: every report it lists, whatever ``as_of`` (the engine picks the due ones)."""
        return read_bundle(self.folder, self.max_file_bytes)

    def describe(self) -> str:
        return str(self.folder)
