"""billsync engine: rules → desired state → three-way diff → plan → apply → snapshot.

The engine knows nothing about Cloudmore files or Autotask HTTP; providers plug in through
the protocols in :mod:`engine.provider` and are found through entry points.
"""
