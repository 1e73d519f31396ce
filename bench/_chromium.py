"""How billsync starts headless Chromium (Debian's ``chromium``): for the report's screenshot and its test."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""The browser, or None where it is not installed."""

HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine's closed network refuses its connections
    "--disable-component-update",
    "--disable-sync",
)
"""Headless, as root, with no network of its own; each run adds a new ``--user-data-dir``."""
