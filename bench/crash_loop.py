"""kill -9 at random instants of `reconcile apply`, then one more apply: how many rounds converge?

    .venv/bin/python bench/crash_loop.py [--rounds 25] [--seed 16] [--s3-backend] [--ec2]

The state (tests/support/crash_loop.py): 8 containers with healthchecks and depends_on in three
levels, and 2 S3 buckets from a pool of 3 names; with --s3-backend its records and lock live in
S3 (settings.backend: s3://crash-state/crash), with --ec2 it declares 2 EC2 instances from a pool
of 3 names, each t3.micro or t3.small. Each round changes half the containers' commands (replaced
healthy-first), which 2 buckets (and instances, and their types) are declared, starts `reconcile
apply`, sends it SIGKILL at a random instant within the time a whole apply takes, runs `reconcile
apply` once more (after `reconcile force-unlock ID` when it names the killed apply's S3 lock, as
a user would) and checks: that apply succeeds, the next plan shows no change, one container per
name (no NAME-reconcile-new left, no two containers with one address), exactly the declared
buckets, each declared instance live once with its type and no other.

Docker: a dedicated engine (RECONCILER_ENGINE_NAME=crash, via scripts/docker-engine), so no other
engine's containers are touched. AWS: a moto server of its own on 127.0.0.1 (tests/support), never
real AWS. A measurement: exits 0 when every round converged, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support

import docker  # noqa: E402

from tests.support.crash_loop import Options, crash_rounds  # noqa: E402
from tests.support.docker_engine import ensure_images  # noqa: E402
from tests.support.moto_server import running_moto_server  # noqa: E402


def dedicated_engine() -> str:
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    done = subprocess.run(
        [str(REPO / "scripts" / "docker-engine")], env={**os.environ, "RECONCILER_ENGINE_NAME": "crash"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1].partition("=")[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--s3-backend", action="store_true", help="records and lock in S3 (settings.backend)")
    parser.add_argument("--ec2", action="store_true", help="2 EC2 instances too")
    arguments = parser.parse_args()
    options = Options(backend=arguments.s3_backend, instances=arguments.ec2)
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(1))  # so the moto server and containers go too
    os.environ["DOCKER_HOST"] = dedicated_engine()
    ensure_images()
    client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], timeout=60)
    with running_moto_server() as moto, tempfile.TemporaryDirectory(prefix="crash-loop-") as work:
        os.environ.update({**moto.environment, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        os.environ.pop("AWS_PROFILE", None)
        from reconciler.clients.aws import connect

        started = time.monotonic()
        try:
            rounds = crash_rounds(
                Path(work), "crash", arguments.rounds, arguments.seed, client.api, connect("s3", "us-east-1"),
                options=options, ec2=connect("ec2", "us-east-1"),
            )  # fmt: skip
        finally:
            for container in client.containers.list(all=True, filters={"name": "crash-"}):
                container.remove(force=True)
    killed = sum(1 for r in rounds if r.killed)
    recovered = sum(1 for r in rounds if r.recovered)
    converged = sum(1 for r in rounds if r.converged)
    unlocked = sum(1 for r in rounds if r.unlocked)
    print(
        f"{converged} of {len(rounds)} rounds converged ({killed} killed mid-apply, {recovered} with a recovery in the plan "
        f"after the kill, {unlocked} S3 locks of a killed apply force-unlocked); {time.monotonic() - started:.0f}s"
    )
    return 0 if converged == len(rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
