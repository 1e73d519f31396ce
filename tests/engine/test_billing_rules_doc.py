"""docs/billing-rules.md explains every rule D1–D27 and cites only tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "billing-rules.md"


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), flags=re.MULTILINE))
    return names


def test_every_rule_has_an_anchor_a_heading_and_a_test_line() -> None:
    text = DOC.read_text(encoding="utf-8")
    for number in range(1, 28):
        assert f'<a id="d{number}"></a>\n### D{number} — ' in text, number
    sections = re.split(r'<a id="d\d+"></a>', text)[1:]
    assert len(sections) == 27 and all("Tests" in s for s in sections)


def test_every_cited_test_exists() -> None:
    cited = set(re.findall(r"`(test_\w+)`", DOC.read_text(encoding="utf-8")))
    assert len(cited) > 60
    assert cited - _test_names() == set()


def test_every_rule_number_the_readme_cites_links_to_its_section() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bare = re.findall(r"(?<![\[#/\w])D[1-9][0-9]?\b(?!\])", readme)
    assert bare == []
    for number in re.findall(r"\(docs/billing-rules\.md#d(\d+)\)", readme):
        assert 1 <= int(number) <= 27
