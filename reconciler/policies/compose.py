"""Findings about compose fields that load but do less than they say (pure)."""

from __future__ import annotations

from reconciler.model.spec import Container
from reconciler.plan.schema import Finding


def compose_findings(address: str, spec: Container) -> list[Finding]:
    found = []
    if spec.ports and spec.network_mode == "host":
        found.append(
            Finding(
                severity="warning",
                address=address,
                code="ports-ignored",
                message="ports are not published with network_mode: host: the container binds the host's ports itself",
                remedy="remove ports:, or use a network of its own (networks: or network_mode: bridge) to publish them",
            )
        )
    if spec.build is not None:
        found.append(
            Finding(
                severity="warning",
                address=address,
                code="build-not-run",
                message=f"build: is not run: the container runs the image {spec.image} as it is on the host "
                "(as `docker compose up --no-build` does)",
                remedy="build the image in CI, push it, and pin its tag in image:",
            )
        )
    return found
