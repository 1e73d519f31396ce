"""Deployment definitions for running billsync unattended: one workspace and one job per tenant."""
