"""The one list of kinds. Adding a kind: a model in model/spec.py, a module here, a line below."""

from __future__ import annotations

from reconciler.kinds import container, cost_doc, disk_budget, ec2_instance, network, s3_bucket
from reconciler.kinds.base import KindFactory

KINDS: dict[str, KindFactory] = {
    "network": network.KIND,  # before container: a container joins networks that exist
    "container": container.KIND,
    "disk_budget": disk_budget.KIND,
    "ec2_instance": ec2_instance.KIND,
    "s3_bucket": s3_bucket.KIND,
    "cost_doc": cost_doc.KIND,  # last: it reads the markets the others observed
}
