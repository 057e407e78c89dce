"""EC2 instances in moto's EC2 (tests/support/moto_server.py), launched as another state, a legacy
reconcile or a person would. Its places are regions: "gone" is one the fault proxy denies (Aws)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.clients.aws import connect
from tests.kinds.conformance import OTHER_STATE, Aws, Owner

AMI = "ami-0123456789abcdef0"  # moto launches any well-formed AMI id
SPEC = f"instance_type: t3.micro, ami: {AMI}"


class Instances(Aws):
    section = "ec2_instances"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self.ec2: Any = connect("ec2", "us-east-1")  # before reconcile's endpoint turns to the fault proxy
        super().__init__(request)

    def declare(self, name: str, place: str) -> str:
        return f"{{region: {self.region(place)}, {SPEC}}}"

    def bad_reference(self, name: str) -> tuple[str, str]:
        return f"{{{SPEC}}}", "region is required"

    def make(self, name: str, owner: Owner) -> None:
        tags = {"reconciler:address": f"ec2_instance.{name}", "reconciler:state": OTHER_STATE, "Name": name}
        if owner == "legacy":
            del tags["reconciler:state"]
        if owner == "unmanaged":
            tags = {"Name": name}
        self.ec2.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        )  # fmt: skip

    def listing(self, prefix: str) -> list[str]:
        shown = []
        for reservation in self.ec2.describe_instances()["Reservations"]:
            for instance in reservation["Instances"]:
                tags = sorted((t["Key"], t["Value"]) for t in instance.get("Tags") or [])
                if any(k == "Name" and v.startswith(prefix) for k, v in tags):
                    shown.append(f"{instance['InstanceId']} {instance['State']['Name']} {instance['InstanceType']} {tags}")
        return sorted(shown)


FACTORY = Instances
