"""The compose fields of an inspected container that differ from what the image and the engine
give anyway, in the declaration's own form (pure)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.container.compose_view import UNDECLARED

SIMPLE = ("hostname", "domainname", "working_dir", "extra_hosts", "dns", "dns_search", "dns_opt", "group_add", "cap_add",
          "cap_drop", "privileged", "read_only", "security_opt", "sysctls", "devices", "tmpfs", "tty", "stdin_open",
          "pids_limit", "mem_reservation")  # fmt: skip


def compose_fields(seen: dict[str, Any], bare: dict[str, Any], published: set[str]) -> dict[str, Any]:
    """``bare``: the desired view of a declaration with only the image; ``published``: the
    container ports its ports: publish (they are exposed without saying so)."""
    declared: dict[str, Any] = {}
    for key in SIMPLE:
        value = seen.get(key)
        if value not in (None, False, [], {}) and value != bare.get(key):
            declared[key] = value
    if "tmpfs" in declared:
        declared["tmpfs"] = [f"{path}:{options}" if options else path for path, options in declared["tmpfs"].items()]
    if seen.get("ulimits"):
        declared["ulimits"] = {
            name: {"soft": int(limit.split(":")[0]), "hard": int(limit.split(":")[1])} for name, limit in seen["ulimits"].items()
        }
    if bare.get("shm_size") is UNDECLARED and seen.get("shm_size") not in (None, 64 * 1024 * 1024):
        declared["shm_size"] = seen["shm_size"]
    expose = sorted(set(seen.get("expose") or []) - set(bare.get("expose") or []) - published)
    if expose:
        declared["expose"] = expose
    return declared
