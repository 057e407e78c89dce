"""The vCPU facts behind an EC2 launch: which Service Quotas code governs an instance family and
market (a shipped table), how many vCPUs an instance type has (describe_instance_types, else the
shipped table), and the Service Quotas calls to read a quota and to file and follow an increase.
Errors become QuotaUnavailable with a line a user can read; no decisions are made here."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from reconciler.clients.aws import BotoCoreError, ClientError, explain
from reconciler.errors import ReconcileError
from reconciler.units import parse_instance_type

SERVICE = "service-quotas"
OPEN_STATUSES = ("PENDING", "CASE_OPENED")
REFUSED_STATUSES = ("DENIED", "CASE_CLOSED", "NOT_APPROVED", "INVALID_REQUEST")


class QuotaUnavailable(ReconcileError):
    """The quota service could not be asked, or does not know the quota."""


@dataclass(frozen=True)
class QuotaClass:
    """One vCPU quota: e.g. L-1216C47A, "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"."""

    code: str
    title: str


@dataclass(frozen=True)
class QuotaRequest:
    id: str
    status: str
    desired: int


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("data/ec2_families.json").read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def quota_class(instance_type: str, market: str) -> QuotaClass | None:
    """The quota an instance of this type counts against in this market (None: not in the table)."""
    family = parse_instance_type(instance_type).family
    best: tuple[int, dict[str, Any]] | None = None
    for entry in _table()["quota_classes"]:
        for prefix in entry["prefixes"]:
            if family.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), entry)
    if best is None or not best[1].get(market):
        return None
    entry = best[1]
    title = (
        f"Running On-Demand {entry['name']} instances" if market == "on-demand" else f"All {entry['name']} Spot Instance Requests"
    )
    return QuotaClass(entry[market], title)


def fallback_vcpus(instance_type: str) -> int | None:
    """vCPUs from the shipped table: exceptions by type, else by size (Nxlarge = 4·N)."""
    table = _table()
    if instance_type in table["vcpus_by_type"]:
        return int(table["vcpus_by_type"][instance_type])
    size = parse_instance_type(instance_type).size
    if size in table["vcpus_by_size"]:
        return int(table["vcpus_by_size"][size])
    multiple = re.fullmatch(r"(\d+)xlarge", size)
    return int(multiple.group(1)) * int(table["vcpus_per_xlarge"]) if multiple else None


def vcpus_of(ec2: Any, instance_types: set[str]) -> dict[str, int]:
    """vCPUs per instance type: one describe_instance_types call; the shipped table where AWS does
    not answer (an unknown type makes AWS refuse the whole call). Types known to neither are left out."""
    known: dict[str, int] = {}
    if instance_types:
        try:
            paginator = ec2.get_paginator("describe_instance_types")
            for page in paginator.paginate(InstanceTypes=sorted(instance_types)):
                for record in page.get("InstanceTypes", []):
                    known[record["InstanceType"]] = int(record["VCpuInfo"]["DefaultVCpus"])
        except (ClientError, BotoCoreError):
            pass
    for instance_type in instance_types - set(known):
        vcpus = fallback_vcpus(instance_type)
        if vcpus is not None:
            known[instance_type] = vcpus
    return known


def _asked(call: str, function: Any, **arguments: Any) -> Any:
    try:
        return function(**arguments)
    except (ClientError, BotoCoreError) as error:
        raise QuotaUnavailable(f"Service Quotas {call}: {explain(error)}") from None


def read_quota(quotas: Any, code: str) -> int:
    """The quota's current value for this account and region."""
    answer = _asked("GetServiceQuota", quotas.get_service_quota, ServiceCode="ec2", QuotaCode=code)
    return int(answer["Quota"]["Value"])


def _request(record: dict[str, Any]) -> QuotaRequest:
    return QuotaRequest(record["Id"], record["Status"], int(record.get("DesiredValue", 0)))


def open_request(quotas: Any, code: str) -> QuotaRequest | None:
    """An increase already asked for and not yet decided (the newest), if any."""
    answer = _asked(
        "ListRequestedServiceQuotaChangeHistoryByQuota",
        quotas.list_requested_service_quota_change_history_by_quota,
        ServiceCode="ec2",
        QuotaCode=code,
    )
    pending = [r for r in answer.get("RequestedQuotas", []) if r.get("Status") in OPEN_STATUSES]
    pending.sort(key=lambda r: str(r.get("Created", "")), reverse=True)
    return _request(pending[0]) if pending else None


def request_increase(quotas: Any, code: str, value: int) -> QuotaRequest:
    answer = _asked(
        "RequestServiceQuotaIncrease",
        quotas.request_service_quota_increase,
        ServiceCode="ec2",
        QuotaCode=code,
        DesiredValue=float(value),
    )
    return _request(answer["RequestedQuota"])


def request_status(quotas: Any, request_id: str) -> QuotaRequest:
    answer = _asked("GetRequestedServiceQuotaChange", quotas.get_requested_service_quota_change, RequestId=request_id)
    return _request(answer["RequestedQuota"])
