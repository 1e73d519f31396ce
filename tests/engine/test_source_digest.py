"""The source digest (a plan's ``inputs_digest``) is the SHA-256 of the source as pydantic JSON without
``origin``, every list of records sorted by the records' texts, however the text is produced."""

from __future__ import annotations

import hashlib
import json
from typing import get_args

from pydantic import BaseModel

from engine.planner import digest_source
from engine.source import SourceData
from providers.cloudmore.source import BundleSource, example_bundle_dir


def _text(model: BaseModel) -> str:
    """The digested text, built whole: the definition the streamed digest must equal."""
    lists = [
        name
        for name, info in type(model).model_fields.items()
        if any(isinstance(arg, type) and issubclass(arg, BaseModel) for arg in get_args(info.annotation))
    ]
    flat = model.model_dump_json(exclude={"origin", *lists})
    if not lists:
        return flat
    nested = ",".join(
        json.dumps(name) + ":[" + ",".join(sorted(_text(item) for item in getattr(model, name))) + "]"
        for name in lists
    )
    return flat[:-1] + ("," if flat != "{}" else "") + nested + "}"


def _digest(source: SourceData) -> str:
    return hashlib.sha256(_text(source).encode()).hexdigest()[:16]


def test_digest_is_the_sorted_json_of_the_example_bundle() -> None:
    source = BundleSource(example_bundle_dir()).load()
    assert len(source.reports) > 1
    assert digest_source(source) == _digest(source)


def test_reports_whose_own_fields_are_equal_are_ordered_by_their_lines() -> None:
    source = BundleSource(example_bundle_dir()).load()
    first = source.reports[0]
    twin = first.model_copy(update={"lines": first.lines[1:]})  # the same head, other lines
    doubled = source.model_copy(update={"reports": (*source.reports, twin)})
    assert digest_source(doubled) == _digest(doubled)
    assert digest_source(doubled) != digest_source(source)
