"""`reconcile prices --refresh`: rebuild the catalog from the AWS Price List API (On-Demand EC2,
Linux, shared tenancy; S3 storage per GB-month by class, first tier) and the EC2 Spot price history
(typical Spot: the median of the availability zones' latest Linux/UNIX price).

The Price List API answers only in a few regions; its us-east-1 endpoint serves every region's
prices. moto does not serve it, so the tests drive this module with botocore's Stubber."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciler.costs.catalog import Catalog

PRICING_REGION = "us-east-1"
COMMON_FAMILIES = frozenset(
    {"t3", "t3a", "t4g", "m5", "m6i", "m6g", "m7i", "m7g", "c5", "c6i", "c6g", "c7i", "c7g", "r5", "r6i", "r6g", "r7i", "r7g"}
)
S3_VOLUME_TYPES = {
    "Standard": "standard",
    "Standard - Infrequent Access": "standard_ia",
    "One Zone - Infrequent Access": "onezone_ia",
    "Intelligent-Tiering Frequent Access": "intelligent_tiering",
    "Glacier Instant Retrieval": "glacier_ir",
    "Amazon Glacier": "glacier",
    "Glacier Deep Archive": "deep_archive",
}
EC2_FILTERS = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}


def _filters(**terms: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in terms.items()]


def _products(pricing: Any, service: str, filters: list[dict[str, str]]) -> Iterable[dict[str, Any]]:
    for page in pricing.get_paginator("get_products").paginate(ServiceCode=service, Filters=filters, FormatVersion="aws_v1"):
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item


def _on_demand_usd(product: dict[str, Any], first_tier_only: bool = False) -> Decimal | None:
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            if first_tier_only and str(dimension.get("beginRange", "0")) != "0":
                continue
            try:
                price = Decimal(str(dimension["pricePerUnit"]["USD"]))
            except (KeyError, InvalidOperation):
                continue
            if price > 0:
                return price.normalize()
    return None


def on_demand_prices(pricing: Any, region: str) -> dict[str, Decimal]:
    """instance type → USD per hour, for the common families."""
    prices: dict[str, Decimal] = {}
    for product in _products(pricing, "AmazonEC2", _filters(regionCode=region, **EC2_FILTERS)):
        instance_type = str(product.get("product", {}).get("attributes", {}).get("instanceType", ""))
        if instance_type.partition(".")[0] not in COMMON_FAMILIES:
            continue
        price = _on_demand_usd(product)
        if price is not None:
            prices[instance_type] = price
    return prices


def s3_prices(pricing: Any, region: str) -> dict[str, Decimal]:
    """storage class → USD per GB-month (the first tier)."""
    prices: dict[str, Decimal] = {}
    for product in _products(pricing, "AmazonS3", _filters(regionCode=region, productFamily="Storage")):
        volume = product.get("product", {}).get("attributes", {}).get("volumeType", "")
        storage_class = S3_VOLUME_TYPES.get(volume)
        price = _on_demand_usd(product, first_tier_only=True)
        if storage_class and price is not None:
            prices[storage_class] = price
    return prices


def typical_spot_prices(ec2: Any, instance_types: Iterable[str], now: datetime) -> dict[str, Decimal]:
    """instance type → the median of each availability zone's latest Spot price."""
    latest: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=sorted(instance_types), ProductDescriptions=["Linux/UNIX"], StartTime=now
    )
    for page in pages:
        for entry in page.get("SpotPriceHistory", []):
            key = (entry["InstanceType"], entry["AvailabilityZone"])
            when, price = entry["Timestamp"], Decimal(str(entry["SpotPrice"]))
            if key not in latest or latest[key][0] < when:
                latest[key] = (when, price)
    by_type: dict[str, list[Decimal]] = {}
    for (instance_type, _zone), (_when, price) in latest.items():
        by_type.setdefault(instance_type, []).append(price)
    return {kind: Decimal(statistics.median(prices)).normalize() for kind, prices in by_type.items()}


def _markets(on_demand: Decimal, spot: Decimal | None) -> dict[str, Decimal]:
    return {"on-demand": on_demand} if spot is None else {"on-demand": on_demand, "spot": spot}


def refreshed_catalog(
    pricing: Any, ec2_in: Callable[[str], Any], regions: Iterable[str], base: Catalog, now: datetime
) -> Catalog:
    """``base`` with each of ``regions`` rebuilt from AWS; other regions kept as they were."""
    refreshed = sorted(set(regions))
    ec2 = {region: dict(types) for region, types in base.ec2.items()}
    s3 = dict(base.s3)
    for region in refreshed:
        on_demand = on_demand_prices(pricing, region)
        spot = typical_spot_prices(ec2_in(region), on_demand, now) if on_demand else {}
        ec2[region] = {kind: _markets(price, spot.get(kind)) for kind, price in sorted(on_demand.items())}
        s3[region] = s3_prices(pricing, region)
    source = (
        "AWS Price List API (AmazonEC2 On-Demand, Linux, shared tenancy; AmazonS3 storage, first tier) and the EC2 Spot "
        f"price history (median of the zones' latest Linux/UNIX price) for {', '.join(refreshed)}, "
        f"fetched {now:%Y-%m-%d %H:%M} UTC"
    )
    kept = sorted(set(ec2) - set(refreshed))
    if kept:
        source += f"; {', '.join(kept)} as in the previous catalog (dated {base.date})"
    return Catalog(date=f"{now:%Y-%m-%d}", source=source, ec2=ec2, s3=s3)
