"""Pieces both providers use in the same way: exact-Decimal JSON, retries, and emulator plumbing.

Only logic that is truly the same for Autotask and Cloudmore lives here; what differs between the two
services (paths, error mapping, fault models, how a Decimal is written on each wire) stays in each
provider. Providers import these modules directly; nothing here knows either service.
"""
