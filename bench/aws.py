"""reconcile's plan of S3 buckets and EC2 instances against the raw boto3 floor, on moto's server.

    bench/run --aws [--buckets 200] [--instances 200] [--rounds 3]

Everything talks to a moto server this run starts on 127.0.0.1 (a free port of its own: never the
tests' servers nor the demo's on 5055), through AWS_ENDPOINT_URL with fake credentials. Never real
AWS: every client this process makes is checked to point at that server, and the reconcile
subprocesses get no profile, config or credentials file.

  state           one region (us-east-1): N buckets (versioning, AES256 encryption, the public
                  access block, one lifecycle rule, tags) and M t3.micro instances (tags).
  cold apply      `reconcile apply DIR --auto-approve` from nothing (information, no target).
  per round       (--rounds, medians shown)
    make_plan     reconcile's planner in this process (load_state, then make_plan with every kind),
                  every AWS call it makes recorded as (service, region, operation, parameters) by a
                  botocore `provide-client-params` handler on each client reconciler.clients.aws
                  .connect makes.
    floor         exactly those recorded calls replayed with raw boto3 clients (standard retries),
                  10 threads: the listings first (ListBuckets, DescribeInstances: a client must
                  list before it reads), then every other call.
    no-op plan    `reconcile plan DIR`, timed as bench/containers.py does: wall time, and
                  "excluding start-up" (from `reconciler.cli` imported to the end of main()).
  Target: plan <= 1.3 x floor. moto answers calls about one at a time, so the floor is mostly
  moto's own time: the ratio shows reconcile's overhead, and the calls per resource (printed by
  operation) are what a plan costs against real AWS.

Docker: none. The state declares no host and no container, so reconcile does not touch Docker.

A measurement, not a test: exits 0 even when the target is missed (printed MISSED); 1 only when
the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support.moto_server; bench/ (timing) is the script's own directory

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
from botocore import xform_name  # noqa: E402
from timing import RECONCILE, BenchFailed, Timed, git_revision, median_wall, print_verdict, reconcile, say  # noqa: E402

import reconciler.clients.aws as aws_clients  # noqa: E402
import reconciler.kinds.ec2_instance.kind  # noqa: E402  # imported when planned; here first, so that its connect is wrapped
import reconciler.kinds.s3_bucket.kind  # noqa: E402, F401
from reconciler.kinds.base import RunContext  # noqa: E402
from reconciler.model.load import load_state  # noqa: E402
from reconciler.planner import make_plan  # noqa: E402
from tests.support.moto_server import running_moto_server  # noqa: E402

REGION = "us-east-1"
AMI = "ami-0123456789abcdef0"  # moto launches any well-formed AMI id (tests/aws/test_ec2_instances.py)
INSTANCE_TYPE = "t3.micro"
THREADS = 10  # the floor's threads; reconcile's settings.parallelism defaults to 10 as well
TARGET = 1.3
LISTINGS = {"ListBuckets", "DescribeInstances"}  # what the floor calls first: a client lists before it reads

# --- loopback only --------------------------------------------------------------------------------


def isolate_aws(url: str) -> None:
    """This process and its children talk to the moto server at `url` and to nothing else."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=url,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )


def check_loopback(client: Any) -> None:
    host = urlsplit(client.meta.endpoint_url).hostname
    if host != "127.0.0.1":
        raise SystemExit(f"bench: a {client.meta.service_model.service_name} client points at {host}, not moto; refusing")


# --- the state ------------------------------------------------------------------------------------


def bucket_name(i: int) -> str:
    return f"reconcile-bench-{i:04d}"


def write_state(directory: Path, buckets: int, instances: int) -> None:
    lines = [f"aws: {{region: {REGION}}}", "s3_buckets:"]
    for i in range(buckets):
        lines += [
            f"  {bucket_name(i)}:",
            "    versioning: true",
            "    encryption: AES256",
            "    block_public_access: true",
            "    lifecycle:",
            "      - {id: expire-tmp, prefix: tmp/, expire_days: 7, noncurrent_expire_days: 30}",
            f"    tags: {{Project: reconcile-bench, Index: '{i}'}}",
        ]
    lines.append("ec2_instances:")
    for i in range(instances):
        lines += [
            f"  bench-{i:04d}:",
            f"    instance_type: {INSTANCE_TYPE}",
            f"    ami: {AMI}",
            f"    tags: {{Project: reconcile-bench, Index: '{i}'}}",
        ]
    (directory / "aws.yaml").write_text("\n".join(lines) + "\n")


# --- make_plan in this process, every AWS call recorded -------------------------------------------


@dataclass(frozen=True)
class Call:
    service: str
    region: str
    operation: str  # the API's name: GetBucketTagging
    params: dict[str, Any]


class Recorder:
    """Replaces reconciler.clients.aws.connect (in every module that imported it) with one that
    registers a provide-client-params handler on each client it makes."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.connects: list[tuple[str, float]] = []  # (service, seconds) of each client made
        self.lock = threading.Lock()
        self.original = aws_clients.connect

    def connect(self, service: str, region: str, pool_size: int = 10) -> Any:
        started = time.monotonic()
        client = self.original(service, region, pool_size)
        with self.lock:
            self.connects.append((service, time.monotonic() - started))
        check_loopback(client)

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            with self.lock:
                self.calls.append(Call(service, region, model.name, copy.deepcopy(params)))

        client.meta.events.register("provide-client-params", record)
        return client

    @contextlib.contextmanager
    def installed(self) -> Iterator[list[str]]:
        patched = [
            name
            for name, module in list(sys.modules.items())
            if name.startswith("reconciler") and getattr(module, "connect", None) is self.original
        ]
        for name in patched:
            sys.modules[name].connect = self.connect  # type: ignore[attr-defined]
        try:
            yield patched
        finally:
            for name in patched:
                sys.modules[name].connect = self.original  # type: ignore[attr-defined]


@dataclass(frozen=True)
class InProcess:
    load: float  # load_state
    plan: float  # make_plan
    calls: list[Call]
    connects: list[tuple[str, float]]  # the clients make_plan made, and how long each took


def plan_in_process(state: Path) -> InProcess:
    recorder = Recorder()
    started = time.monotonic()
    loaded = load_state(state)
    loading = time.monotonic() - started
    with recorder.installed() as patched:
        if "reconciler.kinds.s3_bucket.kind" not in patched or "reconciler.kinds.ec2_instance.kind" not in patched:
            raise BenchFailed(f"could not wrap connect in the AWS kinds (wrapped in: {', '.join(patched) or 'none'})")
        ctx = RunContext(
            state=loaded.state, state_dir=loaded.directory, now=datetime.now(UTC), parallelism=loaded.state.settings.parallelism
        )
        started = time.monotonic()
        try:
            planned = make_plan(loaded, ctx)
        finally:
            ctx.close()
        planning = time.monotonic() - started
    if planned.plan.has_changes:
        changed = [f"{a.address}: {a.action}" for a in planned.plan.actions if a.is_change][:5]
        raise BenchFailed(f"the in-process plan is not a no-op: {changed}")
    return InProcess(loading, planning, list(recorder.calls), list(recorder.connects))


# --- the floor: the same calls with raw boto3 -----------------------------------------------------


class Floor:
    """Raw boto3 clients (standard retries, a pool for THREADS), one per (service, region)."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self.clients:
            config = botocore.config.Config(retries={"mode": "standard"}, max_pool_connections=THREADS)
            client = boto3.session.Session(region_name=region).client(service, config=config)
            check_loopback(client)
            self.clients[(service, region)] = client
        return self.clients[(service, region)]

    def replay(self, calls: list[Call]) -> tuple[float, int]:
        """(seconds, error answers). An error answer is an answer: it counts as a call made."""
        for call in calls:  # clients made before the clock starts, as reconcile's are reused within a run
            self.client(call.service, call.region)

        def one(call: Call) -> int:
            method = getattr(self.client(call.service, call.region), xform_name(call.operation))
            try:
                method(**call.params)
            except botocore.exceptions.ClientError:
                return 1
            return 0

        listings = [c for c in calls if c.operation in LISTINGS]
        reads = [c for c in calls if c.operation not in LISTINGS]
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            errors = sum(pool.map(one, listings)) + sum(pool.map(one, reads))
        return time.monotonic() - started, errors

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def count_resources(floor: Floor) -> tuple[int, int]:
    s3, ec2 = floor.client("s3", REGION), floor.client("ec2", REGION)
    buckets = [b["Name"] for b in s3.list_buckets().get("Buckets", []) if b["Name"].startswith("reconcile-bench-")]
    running = 0
    for page in ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    ):
        running += sum(len(r.get("Instances", [])) for r in page.get("Reservations", []))
    return len(buckets), running


# --- the report -----------------------------------------------------------------------------------


def signature(calls: list[Call]) -> Counter[tuple[str, str]]:
    return Counter((c.service, c.operation) for c in calls)


def report(
    buckets: int, instances: int, apply: Timed, rounds: list[tuple[InProcess, float, int, Timed]], version_s: float
) -> list[str]:
    floor = statistics.median(r[1] for r in rounds)
    in_process = statistics.median(r[0].plan for r in rounds)
    loading = statistics.median(r[0].load for r in rounds)
    wall = statistics.median(r[3].wall for r in rounds)
    work = statistics.median(r[3].work for r in rounds)
    calls = rounds[-1][0].calls
    total = len(calls)

    def verdict(seconds: float) -> str:
        return "met" if seconds <= TARGET * floor else "MISSED"

    def spread(values: list[float]) -> str:
        return ", ".join(f"{v:.3f}" for v in values)

    rows = [
        (f"floor: the {total} recorded calls (boto3, {THREADS} threads)", floor, 1.0, "", ""),
        ("make_plan in this process (load_state not incl.)", in_process, in_process / floor, f"<= {TARGET} x floor",
         verdict(in_process)),
        ("reconcile plan, no-op: wall", wall, wall / floor, f"<= {TARGET} x floor", verdict(wall)),
        ("  excluding start-up", work, work / floor, f"<= {TARGET} x floor", verdict(work)),
    ]  # fmt: skip
    print()
    print(f"{buckets} buckets and {instances} instances in {REGION}; cold apply "
          f"{apply.wall:.1f} s wall ({apply.work:.1f} s excluding start-up), information only")  # fmt: skip
    print()
    print(f"  {'figure':<52} {'seconds':>8} {'x floor':>8}   {'target':<16} verdict")
    print(f"  {'-' * 52} {'-' * 8} {'-' * 8}   {'-' * 16} -------")
    for name, seconds, ratio, target, mark in rows:
        print(f"  {name:<52} {seconds:>8.3f} {ratio:>8.2f}   {target:<16} {mark}")
    print()
    print(f"  samples: floor {spread([r[1] for r in rounds])}; make_plan {spread([r[0].plan for r in rounds])}")
    print(
        f"           no-op plan wall {spread([r[3].wall for r in rounds])}, excl. start-up {spread([r[3].work for r in rounds])}"
    )
    print(f"           ({len(rounds)} rounds, medians above; floor error answers: {spread([float(r[2]) for r in rounds])})")
    rest = max(0.0, work - loading - in_process)
    print(f"  the no-op plan's parts: start-up {wall - work:.3f} s (reconcile --version: {version_s:.3f} s), "
          f"load_state {loading:.3f} s, make_plan {in_process:.3f} s, the rest {rest:.3f} s")  # fmt: skip
    connecting = statistics.median(sum(s for _, s in r[0].connects) for r in rounds)
    made = ", ".join(f"{service} {seconds:.3f} s" for service, seconds in rounds[-1][0].connects)
    print(f"  of make_plan, making the boto3 clients (reconciler.clients.aws.connect, one at a time under its lock): "
          f"{connecting:.3f} s (last round: {made}); the floor's clients are made before its clock starts")  # fmt: skip
    print(f"  moto throughput during the floor: {total / floor:.0f} calls/s")
    print()
    per = {"s3": ("bucket", buckets), "ec2": ("instance", instances)}
    print(f"  AWS calls of one no-op plan: {total}")
    print(f"  {'service':<8} {'operation':<36} {'calls':>6}   per resource")
    for (service, operation), count in sorted(signature(calls).items()):
        noun, n = per.get(service, ("resource", 0))
        each = f"{count / n:.3f} per {noun}" if n else ""
        print(f"  {service:<8} {operation:<36} {count:>6}   {each}")
    for service, (noun, n) in per.items():
        own = sum(1 for c in calls if c.service == service)
        print(f"  {service:<8} {'(all)':<36} {own:>6}   {own / n:.3f} per {noun}" if n else "")
    first = signature(rounds[0][0].calls)
    if any(signature(r[0].calls) != first for r in rounds):
        print("  note: the rounds did not make the same calls: " + "; ".join(str(dict(signature(r[0].calls))) for r in rounds))
    print(f"  load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs: above that, other work shares them)")
    missed = []
    for name, seconds, ratio, target, mark in rows:
        if mark == "MISSED":
            missed.append(f"{name.strip()}: {seconds:.3f} s = {ratio:.2f} x floor (target {target})")
    return missed


# --- main -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path) -> list[str]:
    state = work / "state"
    state.mkdir()
    write_state(state, args.buckets, args.instances)
    with running_moto_server() as moto:
        isolate_aws(moto.url)
        say(f"moto server {moto.url} (this run's own); no Docker engine: the state declares no host or container")
        floor = Floor()
        try:
            version_s = median_wall([str(RECONCILE), "--version"])
            print(f"reconcile AWS benchmark: moto server {moto.url}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
            print(f"reconcile at {git_revision()}")
            total = args.buckets + args.instances
            say(f"reconcile apply: {args.buckets} buckets, {args.instances} instances (cold)")
            apply = reconcile("apply", str(state), "--auto-approve", cwd=work, expect=f"Apply complete: {total} done.")
            seen = count_resources(floor)
            if seen != (args.buckets, args.instances):
                raise BenchFailed(f"after the cold apply: {seen[0]} buckets and {seen[1]} running instances")
            rounds = []
            for r in range(args.rounds):
                say(f"round {r + 1} of {args.rounds}: make_plan (recorded), floor (replayed), reconcile plan")
                planned = plan_in_process(state)
                seconds, errors = floor.replay(planned.calls)
                noop = reconcile("plan", str(state), cwd=work, expect="No changes.")
                rounds.append((planned, seconds, errors, noop))
            missed = report(args.buckets, args.instances, apply, rounds, version_s)
            return missed
        finally:
            floor.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buckets", type=int, default=200, help="S3 buckets (default 200)")
    parser.add_argument("--instances", type=int, default=200, help="EC2 instances (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of make_plan / floor / no-op plan (default 3)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    def on_term(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-aws-"))
    try:
        missed = run(args, work)
    except KeyboardInterrupt:
        say("interrupted (the moto server is stopped)")
        return 130
    except (BenchFailed, RuntimeError, OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        say(f"the benchmark could not run: {error}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print_verdict(missed, "the moto server is stopped; ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
