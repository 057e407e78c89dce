"""S3 buckets in moto's S3 (tests/support/moto_server.py), made as another state, a legacy reconcile
or a person would. Its places are regions: "gone" is one the fault proxy denies (Aws)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.clients.aws import connect
from tests.kinds.conformance import OTHER_STATE, Aws, Owner


class Buckets(Aws):
    section = "s3_buckets"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self.s3: Any = connect("s3", "us-east-1")  # before reconcile's endpoint turns to the fault proxy
        super().__init__(request)

    def declare(self, name: str, place: str) -> str:
        return f"{{region: {self.region(place)}, protect: false}}"

    def bad_reference(self, name: str) -> tuple[str, str]:
        return "{protect: false}", "region is required"

    def make(self, name: str, owner: Owner) -> None:
        self.s3.create_bucket(Bucket=name)
        tags = {"reconciler:address": f"s3_bucket.{name}", "reconciler:protect": "false", "reconciler:state": OTHER_STATE}
        if owner == "legacy":
            del tags["reconciler:state"]
        if owner != "unmanaged":
            self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})

    def listing(self, prefix: str) -> list[str]:
        shown = []
        for bucket in self.s3.list_buckets()["Buckets"]:
            if bucket["Name"].startswith(prefix):
                try:
                    tags = self.s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
                except self.s3.exceptions.ClientError:
                    tags = []
                shown.append(f"{bucket['Name']} {sorted((t['Key'], t['Value']) for t in tags)}")
        return sorted(shown)


FACTORY = Buckets
