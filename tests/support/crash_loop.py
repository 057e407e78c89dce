"""kill -9 at random instants of `reconcile apply`, then one more apply: does it converge?

A state of 8 containers (busybox, healthchecks every second, depends_on in three levels) and 2 S3
buckets (from a pool of 3 names, protect: false); optionally (`Options`) its records and lock in an
S3 backend (settings.backend: s3://crash-state/PREFIX) and 2 EC2 instances (from a pool of 3 names,
each t3.micro or t3.small). Each round changes the state (the command of a random half of the
containers, which replaces them healthy-first, which 2 buckets and which 2 instances are declared,
and the instances' types), starts `reconcile apply` as a user does, sends it SIGKILL after a random
delay within the time a whole apply takes, then runs `reconcile apply` once more, unkilled. An S3
lock outlives a killed apply: when that apply names the dead holder's lock, the round removes it
with `reconcile force-unlock ID` as the message says, and applies again (counted: `unlocked`). The
round converges when that apply succeeds, the next plan shows no change, every declared container
exists exactly once (no NAME-reconcile-new, no two containers with one address), the buckets are
exactly the declared ones, and each declared instance is live exactly once with its declared type
(none for the others). Used by tests/kinds/test_crash_recovery.py (a few rounds) and
bench/crash_loop.py (25).
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE

CONTAINERS = 8
BUCKET_POOL = ("crash-exports-a", "crash-exports-b", "crash-exports-c")
INSTANCE_POOL = ("worker-a", "worker-b", "worker-c")  # after the prefix
INSTANCE_TYPES = ("t3.micro", "t3.small")
AMI = "ami-0123456789abcdef0"  # moto launches any well-formed AMI id
BACKEND_BUCKET = "crash-state"
DEPENDS = {1: [0], 2: [0], 3: [1], 4: [1, 2], 5: [2], 6: [3], 7: [4, 5]}
UNLOCK = re.compile(r"a process that no longer runs: remove its lock with `reconcile force-unlock (\w+)`")


@dataclass(frozen=True)
class Options:
    backend: bool = False  # records and lock in s3://crash-state/PREFIX (else the state directory)
    instances: bool = False  # 2 EC2 instances too


@dataclass
class Round:
    number: int
    killed_after: float  # seconds after the apply started
    killed: bool  # False: the apply had ended before the kill
    converged: bool = False
    problems: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # addresses the plan after the kill showed as a recovery
    unlocked: bool = False  # the killed apply's S3 lock was removed with force-unlock before the apply after it


def state_text(
    prefix: str,
    commands: dict[int, int],
    buckets: tuple[str, ...],
    options: Options = Options(),
    instances: dict[str, str] | None = None,
) -> str:
    lines = [f"settings: {{backend: 's3://{BACKEND_BUCKET}/{prefix}'}}"] if options.backend else []
    lines += ["aws: {region: us-east-1}", "containers:"]
    for index in range(CONTAINERS):
        depends = ", ".join(f"{prefix}-{d}" for d in DEPENDS.get(index, []))
        lines += [
            f"  {prefix}-{index}:",
            f"    image: {TEST_IMAGE}",
            f'    command: ["sleep", "{commands[index]}"]',
            "    network_mode: none",
            "    init: true",
            "    stop_grace_period: 1s",
            # a generous timeout: on a loaded machine a 1 s one fails `true` itself, and the round fails
            # for the load, not for the kill
            "    healthcheck: {test: [CMD-SHELL, 'true'], interval: 1s, timeout: 10s, retries: 3}",
        ]
        if depends:
            lines.append(f"    depends_on: [{depends}]")
    lines.append("s3_buckets:")
    lines += [f"  {name}: {{versioning: true, protect: false}}" for name in buckets]
    if instances:
        lines.append("ec2_instances:")
        lines += [f"  {prefix}-{name}: {{instance_type: {kind}, ami: {AMI}}}" for name, kind in sorted(instances.items())]
    return "\n".join(lines) + "\n"


def instance_problems(prefix: str, instances: dict[str, str], ec2: Any) -> list[str]:
    """Each declared instance live exactly once with its declared type, none for the others."""
    live: dict[str, list[str]] = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for instance in (i for r in page["Reservations"] for i in r["Instances"]):
            tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
            address = tags.get("reconciler:address", "")
            if address.startswith(f"ec2_instance.{prefix}-") and instance["State"]["Name"] not in ("shutting-down", "terminated"):
                live.setdefault(address.removeprefix("ec2_instance."), []).append(instance["InstanceType"])
    wanted = {f"{prefix}-{name}": kind for name, kind in instances.items()}
    found = [f"{name}: {len(types)} live instances" for name, types in sorted(live.items()) if len(types) > 1]
    found += [
        f"{name}: {types[0]}, declared {wanted[name]}"
        for name, types in live.items()
        if name in wanted and types[0] != wanted[name]
    ]
    found += [f"{name} not launched" for name in sorted(set(wanted) - set(live))]
    found += [f"{name} still live, no longer declared" for name in sorted(set(live) - set(wanted))]
    return found


def problems_of(prefix: str, buckets: tuple[str, ...], docker_api: Any, s3: Any) -> list[str]:
    found: list[str] = []
    listing = docker_api.containers(all=True, filters={"label": "reconciler.managed=true"})
    labelled = {(c.get("Names") or ["/?"])[0].lstrip("/"): (c.get("Labels") or {}) for c in listing}
    mine = [name for name in labelled if name.startswith(f"{prefix}-")]
    addresses = Counter(labelled[name].get("reconciler.address") for name in mine)
    found += [f"{name} left behind" for name in mine if name.endswith("-reconcile-new")]
    found += [f"{address} held by {count} containers" for address, count in addresses.items() if count > 1]
    missing = {f"{prefix}-{i}" for i in range(CONTAINERS)} - set(mine)
    found += [f"{name} missing" for name in sorted(missing)]
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]} & set(BUCKET_POOL)
    if existing != set(buckets):
        found.append(f"buckets {sorted(existing)}, declared {sorted(buckets)}")
    return found


def recovered_addresses(cwd: Path) -> list[str]:
    plan = run_reconcile("plan", "desired_state", "--format", "json", cwd=cwd)
    if plan.returncode != 0:
        return [f"(plan failed: {plan.stderr.strip()[-200:]})"]
    actions = json.loads(plan.stdout)["actions"]
    return [a["address"] for a in actions if any(c["path"] == "recovery" for c in a["changes"])]


def apply_after_kill(cwd: Path, result: Round) -> subprocess.CompletedProcess[str]:
    """`reconcile apply`, unkilled; a lock the killed apply left (S3) is removed as the message says."""
    again = run_reconcile("apply", "desired_state", "--auto-approve", cwd=cwd)
    dead = UNLOCK.search(again.stderr) if again.returncode != 0 else None
    if dead is None:
        return again
    unlocked = run_reconcile("force-unlock", dead.group(1), "desired_state", cwd=cwd)
    if unlocked.returncode != 0:
        result.problems.append(f"force-unlock {dead.group(1)} failed: {(unlocked.stdout + unlocked.stderr).strip()[-300:]}")
    result.unlocked = True
    return run_reconcile("apply", "desired_state", "--auto-approve", cwd=cwd)


def crash_rounds(
    cwd: Path,
    prefix: str,
    rounds: int,
    seed: int,
    docker_api: Any,
    s3: Any,
    say: Callable[[str], None] = print,
    look: bool = True,
    options: Options = Options(),
    ec2: Any = None,
) -> list[Round]:
    """``cwd`` holds (or gets) desired_state/; the engine and AWS come from the environment.
    ``look``: plan after each kill to record what it shows as a recovery (one more run a round).
    ``ec2``: a client to check the instances with, for Options(instances=True)."""
    chooser = random.Random(seed)
    state = cwd / "desired_state"
    state.mkdir(exist_ok=True)
    if options.backend:
        s3.create_bucket(Bucket=BACKEND_BUCKET)
    commands = dict.fromkeys(range(CONTAINERS), 86_400)  # a day: no container ends by itself during the rounds
    buckets: tuple[str, ...] = BUCKET_POOL[:2]
    instances = dict.fromkeys(INSTANCE_POOL[:2], INSTANCE_TYPES[0]) if options.instances else {}
    (state / "state.yaml").write_text(state_text(prefix, commands, buckets, options, instances))
    started = time.monotonic()
    first = run_reconcile("apply", "desired_state", "--auto-approve", cwd=cwd)
    whole = time.monotonic() - started
    if first.returncode != 0:
        raise RuntimeError(f"the first apply failed: {first.stdout[-2000:]}{first.stderr[-2000:]}")
    say(f"first apply: {whole:.1f}s (kills land within that)")
    results = []
    for number in range(1, rounds + 1):
        for index in chooser.sample(range(CONTAINERS), CONTAINERS // 2):
            commands[index] += 1
        buckets = tuple(sorted(chooser.sample(BUCKET_POOL, 2)))
        if options.instances:
            instances = {name: chooser.choice(INSTANCE_TYPES) for name in chooser.sample(INSTANCE_POOL, 2)}
        (state / "state.yaml").write_text(state_text(prefix, commands, buckets, options, instances))
        delay = chooser.uniform(0.5, whole)
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "desired_state", "--auto-approve"],
            cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            process.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed = True
        result = Round(number, delay, killed)
        result.recovered = recovered_addresses(cwd) if killed and look else []
        again = apply_after_kill(cwd, result) if killed else run_reconcile("apply", "desired_state", "--auto-approve", cwd=cwd)
        if again.returncode != 0:
            result.problems.append(f"the apply after the kill failed: {(again.stdout + again.stderr).strip()[-600:]}")
        plan = run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=cwd)
        if plan.returncode != 0:
            result.problems.append(f"plan after it exits {plan.returncode}: {plan.stdout.strip()[-600:]}")
        result.problems += problems_of(prefix, buckets, docker_api, s3)
        if options.instances:
            result.problems += instance_problems(prefix, instances, ec2)
        result.converged = not result.problems
        said = "converged" if result.converged else "NOT CONVERGED: " + "; ".join(result.problems)
        recovered = f", recovered {', '.join(result.recovered)}" if result.recovered else ""
        unlocked = ", its lock force-unlocked" if result.unlocked else ""
        say(f"round {number}: killed at {delay:.1f}s{'' if killed else ' (had ended)'}{recovered}{unlocked}: {said}")
        results.append(result)
    return results
