"""Render the Kubernetes objects of each tenant: its workspace volume (or git checkout) and its CronJob.

The objects are built as plain dictionaries from a validated tenant list, never by pasting strings
into YAML, so a tenant name or URL cannot inject a field. ``concurrencyPolicy: Forbid`` keeps one
job per tenant at a time, the first half of billsync's one-writer-per-tenant guarantee.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["GitState", "Tenant", "TenantList", "VolumeState", "load_tenants", "render_tenant", "render_all"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CRON = re.compile(r"^(@(hourly|daily|weekly|monthly|yearly)|(\S+\s+){4}\S+)$")
_MAX_TENANT_NAME = 40
"""CronJob names are at most 52 characters; ``billsync-`` and the tenant name must fit."""

SUMMARY_PATH = ".billsync/last-run.json"
"""Where each job leaves the ``billsync run --json`` summary, besides printing it to its log."""


class VolumeState(BaseModel):
    """The workspace (rules and ``state/``) lives on a persistent volume of its own."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["volume"] = "volume"
    size: str = "1Gi"
    storage_class: str | None = None


class GitState(BaseModel):
    """The workspace is a git repository: cloned at start, ``state/`` committed and pushed after a run."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["git"] = "git"
    repository: str
    branch: str = "main"
    ssh_secret: str = Field(description="Secret holding the deploy key as `ssh-privatekey` and `known_hosts`")

    @field_validator("branch")
    @classmethod
    def _plain_branch(cls, value: str) -> str:
        """The branch reaches a shell command line: only the characters of ordinary branch names."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}", value) or ".." in value:
            raise ValueError(f"{value!r} is not a plain branch name (letters, digits, '.', '_', '/', '-')")
        return value

    @field_validator("repository")
    @classmethod
    def _no_credentials_in_url(cls, value: str) -> str:
        if re.match(r"^[a-z+]+://[^/@]*:[^/@]*@", value):
            raise ValueError("put credentials in ssh_secret, never in the repository URL")
        return value


class Tenant(BaseModel):
    """One Autotask tenant: its workspace, schedule and credentials Secret."""

    model_config = ConfigDict(extra="forbid")
    name: str
    credentials_secret: str = Field(
        description="Secret with AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE (and Cloudmore's)"
    )
    schedule: str | None = None
    state: VolumeState | GitState | None = Field(default=None, discriminator="kind")

    @field_validator("name", "credentials_secret")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        return _check_dns_label(value)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not _CRON.match(value.strip()):
            raise ValueError(f"{value!r} is not a cron schedule (five fields, e.g. '0 6 * * *')")
        return value


class TenantList(BaseModel):
    """The file a distributor keeps: defaults, then one entry per tenant."""

    model_config = ConfigDict(extra="forbid")
    image: str
    namespace: str = "billsync"
    schedule: str = "0 6 * * *"
    time_zone: str = "Etc/UTC"
    state: VolumeState | GitState = Field(default_factory=VolumeState, discriminator="kind")
    tenants: list[Tenant]

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return _check_dns_label(value)

    @model_validator(mode="after")
    def _unique(self) -> TenantList:
        names = [t.name for t in self.tenants]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"tenant names must be unique: {', '.join(doubles)}")
        return self


def _check_dns_label(value: str) -> str:
    if len(value) > _MAX_TENANT_NAME or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} must be lower-case letters, digits and '-', at most {_MAX_TENANT_NAME} characters"
        )
    return value


def load_tenants(path: Path) -> TenantList:
    """Read and validate a tenant list (YAML)."""
    return TenantList.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def render_all(tenants: TenantList) -> dict[str, list[dict[str, Any]]]:
    """Every tenant's objects, by tenant name."""
    return {tenant.name: render_tenant(tenants, tenant) for tenant in tenants.tenants}


def render_tenant(tenants: TenantList, tenant: Tenant) -> list[dict[str, Any]]:
    """The tenant's PersistentVolumeClaim (volume state) and CronJob."""
    state = tenant.state or tenants.state
    name = f"billsync-{tenant.name}"
    labels = {"app.kubernetes.io/name": "billsync", "billsync/tenant": tenant.name}
    objects: list[dict[str, Any]] = []
    volume: dict[str, Any]
    if isinstance(state, VolumeState):
        objects.append(_claim(tenants.namespace, name, labels, state))
        volume = {"name": "workspace", "persistentVolumeClaim": {"claimName": f"{name}-workspace"}}
    else:
        volume = {"name": "workspace", "emptyDir": {}}
    objects.append(_cronjob(tenants, tenant, name, labels, state, volume))
    return objects


def _claim(namespace: str, name: str, labels: dict[str, str], state: VolumeState) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": state.size}},
    }
    if state.storage_class:
        spec["storageClassName"] = state.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"{name}-workspace", "namespace": namespace, "labels": labels},
        "spec": spec,
    }


def _cronjob(
    tenants: TenantList,
    tenant: Tenant,
    name: str,
    labels: dict[str, str],
    state: VolumeState | GitState,
    volume: dict[str, Any],
) -> dict[str, Any]:
    security = {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts: list[dict[str, Any]] = [{"name": "workspace", "mountPath": "/workspace"}]
    volumes = [volume]
    init: list[dict[str, Any]] = []
    ssh_env: list[dict[str, str]] = []
    run = f"billsync run --auto-approve --json > {SUMMARY_PATH}; status=$?; cat {SUMMARY_PATH}"
    if isinstance(state, GitState):
        volumes.append(
            {"name": "deploy-key", "secret": {"secretName": state.ssh_secret, "defaultMode": 0o400}}
        )
        ssh = "ssh -i /etc/billsync/ssh/ssh-privatekey -o UserKnownHostsFile=/etc/billsync/ssh/known_hosts"
        ssh_env = [{"name": "GIT_SSH_COMMAND", "value": ssh}]
        key_mount = {"name": "deploy-key", "mountPath": "/etc/billsync/ssh", "readOnly": True}
        init.append(
            {
                "name": "checkout",
                "image": tenants.image,
                "command": ["git", "clone", "--branch", state.branch, "--", state.repository, "/workspace"],
                "env": ssh_env,
                "volumeMounts": [*mounts, key_mount],
                "securityContext": security,
            }
        )
        mounts = [*mounts, key_mount]
        run += (
            '; if [ $status -eq 0 ] && [ -n "$(git status --porcelain state)" ]; then'
            " git add state && git -c user.name=billsync -c user.email=billsync@localhost"
            f" commit -q -m 'billsync run ({tenant.name})' && git push -q origin HEAD:{state.branch}"
            " || status=1; fi"
        )
    run += "; exit $status"
    container: dict[str, Any] = {
        "name": "billsync",
        "image": tenants.image,
        "command": ["sh", "-c", run],
        "workingDir": "/workspace",
        "envFrom": [{"secretRef": {"name": tenant.credentials_secret}}],
        "volumeMounts": mounts,
        "securityContext": security,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}},
    }
    if ssh_env:
        container["env"] = ssh_env
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": {"fsGroup": 10001},
        "containers": [container],
        "volumes": volumes,
    }
    if init:
        pod["initContainers"] = init
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": tenants.namespace, "labels": labels},
        "spec": {
            "schedule": tenant.schedule or tenants.schedule,
            "timeZone": tenants.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            },
        },
    }


def dump(objects: list[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML text, keys in the order built."""
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)
