"""Providers: one package per system billsync talks to (Cloudmore as source, Autotask as target)."""
