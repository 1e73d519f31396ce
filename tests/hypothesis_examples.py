"""How many examples a property test tries: its own CI count, scaled by the loaded Hypothesis profile.

A test states the count that fits its cost in CI (an end-to-end fuzzer fewer than a pure function);
the ``nightly`` profile multiplies every such count alike.
"""

from __future__ import annotations

from hypothesis import settings

CI_EXAMPLES = 100
"""The ``ci`` profile's ``max_examples``: the unit the per-test counts are scaled against."""


def examples(ci: int) -> int:
    """The number of examples for a test that tries ``ci`` of them under the ``ci`` profile."""
    return max(1, ci * settings.default.max_examples // CI_EXAMPLES)
