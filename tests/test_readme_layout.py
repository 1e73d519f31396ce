"""The README's Layout section names only files and folders that exist, so the walk of one value stays true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Layout\n")
    return text[start : text.index("\n## ", start + 1)]


def test_every_path_the_layout_names_exists() -> None:
    section = _layout()
    named = set(re.findall(r"`((?:engine|providers|rules|bench|deploy|tests)/[\w./*-]+)`", section))
    assert len(named) >= 10
    assert sorted(p for p in named if not list(ROOT.glob(p))) == []


def test_every_module_in_the_engine_drawing_exists() -> None:
    block = _layout().split("```text\n", 1)[1].split("```", 1)[0]
    engine = block.split("providers/autotask/", 1)[0]
    listed = set(re.findall(r"\b([a-z_]+\*?\.py)\b", engine))
    assert len(listed) >= 30
    missing = [
        n for n in sorted(listed) if not list((ROOT / "engine").glob(n)) + list((ROOT / "engine/cli").glob(n))
    ]
    assert missing == []
    folders = re.findall(r"^([a-z]+)/ ", block, flags=re.M)
    assert sorted(f for f in folders if not (ROOT / f).is_dir()) == []
