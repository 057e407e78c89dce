"""`reconcile prices --refresh` against botocore's Stubber: moto does not serve the AWS Price List
API (nor a real Spot price history), so the responses are stubbed in-process; no request leaves it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from reconciler.costs.catalog import Catalog, parse_catalog
from reconciler.costs.refresh import refreshed_catalog

NOW = datetime(2025, 11, 14, 12, 0, tzinfo=UTC)


def ec2_product(instance_type: str, usd: str) -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceType": instance_type, "operatingSystem": "Linux"}},
            "terms": {"OnDemand": {"T1": {"priceDimensions": {"D1": {"pricePerUnit": {"USD": usd}, "unit": "Hrs"}}}}},
        }
    )


def s3_product(volume_type: str, tiers: list[tuple[str, str]]) -> str:
    dimensions = {f"D{i}": {"beginRange": begin, "pricePerUnit": {"USD": usd}} for i, (begin, usd) in enumerate(tiers)}
    return json.dumps(
        {"product": {"attributes": {"volumeType": volume_type}}, "terms": {"OnDemand": {"T": {"priceDimensions": dimensions}}}}
    )


def client(service: str) -> Any:
    return boto3.session.Session(aws_access_key_id="stub", aws_secret_access_key="stub", region_name="us-east-1").client(
        service,
        endpoint_url="http://127.0.0.1:9",  # never reached: the Stubber answers
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    pricing, ec2 = client("pricing"), client("ec2")
    with Stubber(pricing) as pricing_stub, Stubber(ec2) as ec2_stub:
        yield pricing, pricing_stub, ec2, ec2_stub
        pricing_stub.assert_no_pending_responses()
        ec2_stub.assert_no_pending_responses()


def test_refresh_reads_every_page_and_keeps_other_regions(stubbed: tuple[Any, Stubber, Any, Stubber]) -> None:
    pricing, pricing_stub, ec2, ec2_stub = stubbed
    ec2_filters = {"ServiceCode": "AmazonEC2", "Filters": ANY, "FormatVersion": "aws_v1"}
    pricing_stub.add_response(
        "get_products",
        {
            "PriceList": [ec2_product("c7i.8xlarge", "1.4280000000"), ec2_product("x2iedn.32xlarge", "26.68")],
            "NextToken": "page-2",
        },
        ec2_filters,
    )
    pricing_stub.add_response(
        "get_products", {"PriceList": [ec2_product("t3.2xlarge", "0.3328000000")]}, {**ec2_filters, "NextToken": "page-2"}
    )
    ec2_stub.add_response(
        "describe_spot_price_history",
        {
            "SpotPriceHistory": [
                {"InstanceType": "c7i.8xlarge", "AvailabilityZone": "us-east-1a", "SpotPrice": "0.4400", "Timestamp": NOW},
                {"InstanceType": "c7i.8xlarge", "AvailabilityZone": "us-east-1b", "SpotPrice": "0.4500", "Timestamp": NOW},
                {"InstanceType": "c7i.8xlarge", "AvailabilityZone": "us-east-1c", "SpotPrice": "0.6000", "Timestamp": NOW},
            ]
        },
        {"InstanceTypes": ["c7i.8xlarge", "t3.2xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": NOW},
    )
    pricing_stub.add_response(
        "get_products",
        {
            "PriceList": [
                s3_product("Standard", [("51200", "0.022"), ("0", "0.023")]),
                s3_product("Glacier Deep Archive", [("0", "0.00099")]),
            ]
        },
        {"ServiceCode": "AmazonS3", "Filters": ANY, "FormatVersion": "aws_v1"},
    )
    base = Catalog("2025-01-01", "old", {"eu-west-1": {"t3.micro": {"on-demand": Decimal("0.0114")}}}, {})

    catalog = refreshed_catalog(pricing, lambda region: ec2, ["us-east-1"], base, NOW)

    assert catalog.date == "2025-11-14"
    assert "AWS Price List API" in catalog.source and "eu-west-1 as in the previous catalog (dated 2025-01-01)" in catalog.source
    assert catalog.ec2["us-east-1"] == {
        "c7i.8xlarge": {"on-demand": Decimal("1.428"), "spot": Decimal("0.45")},  # the median of the zones
        "t3.2xlarge": {"on-demand": Decimal("0.3328")},  # no Spot history: no Spot price
    }
    assert catalog.s3["us-east-1"] == {"standard": Decimal("0.023"), "deep_archive": Decimal("0.00099")}
    assert catalog.hourly("eu-west-1", "t3.micro", "on-demand") == Decimal("0.0114")
    assert parse_catalog(catalog.to_json(), "x") == catalog
