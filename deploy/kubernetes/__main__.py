"""``python -m deploy.kubernetes TENANTS.yaml --out DIR``: one manifest file per tenant."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from deploy.kubernetes.manifests import dump, load_tenants, render_all


@click.command()
@click.argument("tenants_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def main(tenants_file: Path, out_dir: Path) -> None:
    """Write DIR/<tenant>.yaml for every tenant of TENANTS_FILE (kubectl apply -f DIR)."""
    try:
        tenants = load_tenants(tenants_file)
    except ValidationError as error:
        raise click.ClickException(f"{tenants_file}: {error}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, objects in render_all(tenants).items():
        (out_dir / f"{name}.yaml").write_text(dump(objects), encoding="utf-8")
        click.echo(f"{out_dir / (name + '.yaml')}: {', '.join(o['kind'] for o in objects)}")


if __name__ == "__main__":
    main()
