"""Autotask PSA: REST client, entity table, target adapter and the sandbox emulator."""
