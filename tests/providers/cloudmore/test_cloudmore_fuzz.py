"""Whatever a bundle holds, the reader returns valid models or raises SourceError, nothing else."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import SourceError
from engine.source import SourceData
from providers.cloudmore.bundle import read_bundle
from tests.hypothesis_examples import examples

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-11-07"
FILES = sorted(path.relative_to(EXAMPLE).as_posix() for path in EXAMPLE.rglob("*.csv"))
pytestmark = pytest.mark.slow  # a fuzzer: hundreds of bundles read per test

FUZZ = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(mutate: dict[str, bytes]) -> None:
    """Read a copy of the example with some files replaced; only SourceError may escape."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "bundle"
        shutil.copytree(EXAMPLE, root)
        for name, content in mutate.items():
            (root / name).write_bytes(content)
        try:
            data = read_bundle(root)
        except SourceError as error:
            assert error.file
            assert str(error)
            return
        assert SourceData.model_validate(data.model_dump()) == data


@FUZZ
@given(data=st.data(), name=st.sampled_from(FILES))
def test_mutated_bytes(data: st.DataObject, name: str) -> None:
    content = (EXAMPLE / name).read_bytes()
    start = data.draw(st.integers(0, len(content)), label="start")
    end = data.draw(st.integers(start, min(len(content), start + 40)), label="end")
    replacement = data.draw(
        st.binary(max_size=12)
        | st.sampled_from([b",", b'"', b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"-", b"."]),
        label="replacement",
    )
    _check({name: content[:start] + replacement + content[end:]})


@FUZZ
@given(data=st.data(), name=st.sampled_from(FILES))
def test_mutated_cells(data: st.DataObject, name: str) -> None:
    rows = list(csv.reader(io.StringIO((EXAMPLE / name).read_text(encoding="utf-8"), newline="")))
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    column = data.draw(st.integers(0, len(rows[row]) - 1), label="column")
    rows[row][column] = data.draw(
        st.text(max_size=30)
        | st.sampled_from(["", " ", "-1", "0", "1,5", "NaN", "Infinity", "1e3", "2026-02-30", "9" * 40])
        | st.sampled_from([value for line in rows for value in line]),
        label="value",
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    _check({name: out.getvalue().encode("utf-8")})


@FUZZ
@given(data=st.data(), name=st.sampled_from(FILES))
def test_dropped_duplicated_or_truncated_lines(data: st.DataObject, name: str) -> None:
    lines = (EXAMPLE / name).read_bytes().splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    action = data.draw(st.sampled_from(["drop", "duplicate", "truncate", "cut"]), label="action")
    if action == "drop":
        del lines[index]
    elif action == "duplicate":
        lines.insert(index, lines[index])
    elif action == "truncate":
        del lines[index:]
    else:
        lines[index] = lines[index][: data.draw(st.integers(0, len(lines[index])), label="cut at")]
    _check({name: b"".join(lines)})
