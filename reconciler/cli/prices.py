"""reconcile prices: the price catalog's date and source; --refresh rebuilds it from AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import app, out, plural
from reconciler.errors import ReconcileError


@app.command()
def prices(
    refresh: Annotated[bool, typer.Option("--refresh", help="Rebuild the catalog from the AWS Price List API.")] = False,
    region: Annotated[list[str] | None, typer.Option("--region", help="Refresh this region (repeatable; default: all).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the catalog here, not over the shipped one.")] = None,
) -> None:
    """Show the price catalog's date and source; with --refresh, rebuild it from AWS."""
    from reconciler.clients.aws import BotoCoreError, ClientError, connect, explain
    from reconciler.costs.catalog import shipped_catalog, shipped_catalog_path
    from reconciler.costs.refresh import PRICING_REGION, refreshed_catalog

    catalog = shipped_catalog()
    if refresh:
        regions = region or sorted(catalog.ec2)
        try:
            pricing = connect("pricing", PRICING_REGION)
            catalog = refreshed_catalog(pricing, lambda name: connect("ec2", name), regions, catalog, datetime.now(UTC))
        except (ClientError, BotoCoreError) as error:
            raise ReconcileError(f"prices --refresh: {explain(error)}") from None
        destination = out_file or shipped_catalog_path()
        destination.write_text(catalog.to_json(), encoding="utf-8")
        out.print(f"wrote {destination}")
    types = sum(len(kinds) for kinds in catalog.ec2.values())
    out.print(f"prices as of {catalog.date}: {types} EC2 prices in {plural(len(catalog.ec2), 'region')}; {catalog.source}")
