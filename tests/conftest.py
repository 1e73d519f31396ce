"""Hypothesis profiles for the whole suite, chosen by ``HYPOTHESIS_PROFILE``.

``ci`` (the default) runs each property test with its fixed CI count of examples (see
:func:`tests.hypothesis_examples.examples`); ``nightly`` runs ten times as many. No deadline in
either: the machines running the suite are shared, and a timing is not a property.
"""

from __future__ import annotations

import os

from hypothesis import settings

from tests.hypothesis_examples import CI_EXAMPLES

settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, print_blob=True)
settings.register_profile("nightly", max_examples=10 * CI_EXAMPLES, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
