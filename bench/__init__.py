"""billsync's performance benchmark: synthetic Cloudmore bundles against the Autotask sandbox.

Run it with ``python -m bench.run`` (see README.md, "Performance"). It is a tool, not part of the
installed product: nothing under ``engine/`` or ``providers/`` imports it.
"""
