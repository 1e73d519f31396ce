"""The Kubernetes manifests rendered for three tenants are valid against the Kubernetes schema (offline)
and give each tenant its own job, credentials Secret and workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from deploy.kubernetes.manifests import TenantList, load_tenants, render_all

EXAMPLE = Path(__file__).parents[2] / "deploy" / "kubernetes" / "tenants.example.yaml"
KUBERNETES_VERSION = "1.30"
"""CronJob ``timeZone`` is stable from 1.27; the oldest release still supported when written."""


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return render_all(load_tenants(EXAMPLE))


def test_three_tenants_render_valid_kubernetes_objects(rendered: dict[str, list[dict]]) -> None:
    assert sorted(rendered) == ["contoso", "fabrikam", "northwind"]
    kinds = {name: [o["kind"] for o in objects] for name, objects in rendered.items()}
    assert kinds == {
        "contoso": ["PersistentVolumeClaim", "CronJob"],
        "fabrikam": ["PersistentVolumeClaim", "CronJob"],
        "northwind": ["CronJob"],
    }
    for objects in rendered.values():
        for obj in objects:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_broken_object_is_refused_by_the_schema(rendered: dict[str, list[dict]]) -> None:
    """The validation is real: a misspelt field in the same object fails it."""
    cronjob = yaml.safe_load(yaml.safe_dump(rendered["contoso"][1]))
    cronjob["spec"]["concurrencyPolicy"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)
    cronjob = yaml.safe_load(yaml.safe_dump(rendered["contoso"][1]))
    cronjob["spec"]["concurencyPolicy"] = "Forbid"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)


def test_each_tenant_has_its_own_secret_schedule_and_workspace(rendered: dict[str, list[dict]]) -> None:
    jobs = {name: objects[-1] for name, objects in rendered.items()}
    assert {n: j["spec"]["schedule"] for n, j in jobs.items()} == {
        "contoso": "0 6 * * *",
        "fabrikam": "30 6 * * *",
        "northwind": "0 6 * * *",
    }
    for name, job in jobs.items():
        assert job["metadata"]["name"] == f"billsync-{name}"
        assert job["spec"]["concurrencyPolicy"] == "Forbid"
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": f"billsync-{name}"}}]
        assert "billsync run --auto-approve --json" in container["command"][2]
        assert container["securityContext"]["runAsNonRoot"] is True
    contoso_pod = jobs["contoso"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert contoso_pod["volumes"] == [
        {"name": "workspace", "persistentVolumeClaim": {"claimName": "billsync-contoso-workspace"}}
    ]
    northwind_pod = jobs["northwind"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert northwind_pod["initContainers"][0]["command"] == [
        "git",
        "clone",
        "--branch",
        "main",
        "--",
        "git@git.example.com:billing/northwind.git",
        "/workspace",
    ]
    assert "git push -q origin HEAD:main" in northwind_pod["containers"][0]["command"][2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tenants": [{"name": "Contoso Ltd", "credentials_secret": "s"}]}, "lower-case letters"),
        (
            {"tenants": [{"name": "a", "credentials_secret": "s"}, {"name": "a", "credentials_secret": "t"}]},
            "unique",
        ),
        ({"tenants": [{"name": "a", "credentials_secret": "s", "schedule": "daily"}]}, "not a cron schedule"),
        (
            {"state": {"kind": "git", "repository": "https://u:p@git.example.com/x.git", "ssh_secret": "k"}},
            "never in the repository URL",
        ),
        (
            {
                "state": {
                    "kind": "git",
                    "repository": "git@h:x.git",
                    "ssh_secret": "k",
                    "branch": "main; rm -rf /",
                }
            },
            "not a plain branch name",
        ),
    ],
)
def test_a_bad_tenant_list_is_refused(change: dict, message: str) -> None:
    data = {"image": "billsync:1", "tenants": [{"name": "a", "credentials_secret": "s"}], **change}
    with pytest.raises(ValidationError, match=message):
        TenantList.model_validate(data)


def test_the_command_writes_one_file_per_tenant(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.kubernetes", str(EXAMPLE), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contoso.yaml", "fabrikam.yaml", "northwind.yaml"]
    documents = list(yaml.safe_load_all((tmp_path / "contoso.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["PersistentVolumeClaim", "CronJob"]
