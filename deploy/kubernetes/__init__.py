"""Kubernetes manifests for billsync: a CronJob per Autotask tenant, rendered from a list of tenants.

Each tenant has its own Autotask API budget (10,000 requests an hour per database), so the unit of
work is one workspace per tenant: its rules and ``state/`` live on the tenant's own volume, or in the
tenant's own git repository, and its credentials in the tenant's own Kubernetes Secret. ``python -m
deploy.kubernetes tenants.yaml --out manifests/`` writes one file per tenant.
"""

from deploy.kubernetes.manifests import TenantList, load_tenants, render_tenant

__all__ = ["TenantList", "load_tenants", "render_tenant"]
