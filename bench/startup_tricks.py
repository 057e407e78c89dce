"""What each start-up trick of reconciler/startup.py saves, in instructions of one whole process.

    .venv/bin/python bench/startup_tricks.py              # about 3 minutes; needs valgrind
    DOCKER_HOST=unix:///run/reconciler-NAME-docker.sock .venv/bin/python bench/startup_tricks.py --plan

Each row runs one `reconcile` command twice under `valgrind --tool=callgrind`: as shipped, and with
one trick turned off in that process (drive() patches reconciler.startup before the CLI is
imported). Instruction counts are the same on a loaded machine as on a quiet one,
so they compare where seconds on a shared 2-CPU machine do not. `--plan` adds a read-only plan of
20 containers (not created) against the engine DOCKER_HOST names.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRICKS = {
    "lazy": "commands import what they use when they run",
    "rich": "rich's Console made on first print",
    "paramiko": "the docker SDK imported without paramiko",
    "gc": "the collector off while a command runs, frozen at exit",
    "loadgc": "the collector off while YAML loads",
    "pydantic": "PYDANTIC_DISABLE_PLUGINS=__all__",
}
CONTAINER = """\
  c{i:03d}:
    image: reconciler-test/busybox:1
    command: [sleep, "86400"]
    network_mode: none
    healthcheck: {{test: [CMD-SHELL, "test -d /tmp"], interval: 10m, timeout: 5s, retries: 3}}
"""


def drive(off: set[str], args: list[str]) -> None:
    """Run reconcile's console script with the tricks in ``off`` turned off."""
    import reconciler.startup as startup

    if "paramiko" in off:
        startup.defer_paramiko = lambda: None
    if "gc" in off:

        @contextmanager
        def environment_only() -> Any:
            os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
            yield

        startup.short_lived_process = environment_only
    if "loadgc" in off:
        startup.without_cycle_collection = lambda load: load
    if "pydantic" in off:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = ""  # set, so not defaulted, and empty: plugins are looked for
    if "rich" in off:
        import rich.console  # noqa: F401
    if "lazy" in off:  # what the commands import when they run, imported with the CLI instead
        import reconciler.apply.environment
        import reconciler.apply.executor
        import reconciler.apply.interrupt
        import reconciler.apply.lock
        import reconciler.gitinfo
        import reconciler.imports
        import reconciler.kinds.base
        import reconciler.model.load
        import reconciler.model.spec
        import reconciler.plan.schema
        import reconciler.planner
        import reconciler.pr_base
        import reconciler.pr_state
        import reconciler.progress
        import reconciler.render.comment
        import reconciler.render.markdown
        import reconciler.render.text
        import reconciler.watch  # noqa: F401
    from reconciler.cli import main

    sys.argv = ["reconcile", *args]
    main()


def instructions(off: set[str], args: list[str], cwd: Path) -> int:
    import re
    import subprocess

    here = str(Path(__file__).resolve().parent)  # imported, not run: its bytecode is cached like reconcile's
    driver = f"import sys; sys.path.append({here!r}); import startup_tricks; startup_tricks.drive({off!r}, {args!r})"
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", driver]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=900)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count for {args}: {done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    import argparse
    import compileall
    import shutil
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", action="store_true", help="also a plan of 20 containers on $DOCKER_HOST's engine")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/startup_tricks.py: needs valgrind (apt-get install valgrind)")
    if options.plan and not os.environ.get("DOCKER_HOST"):
        raise SystemExit("bench/startup_tricks.py --plan: set DOCKER_HOST to the engine to plan against")
    compileall.compile_file(__file__, quiet=1)  # the driver's bytecode, before the first count
    with tempfile.TemporaryDirectory(prefix="startup-tricks-") as scratch:
        work = Path(scratch)
        for name, count in (("small", 20), ("large", 500)):
            (work / name).mkdir()
            (work / name / "c.yaml").write_text("containers:\n" + "".join(CONTAINER.format(i=i) for i in range(count)))
        # (the command, [(the tricks turned off, those already off in the row's baseline)])
        cases: list[tuple[list[str], list[tuple[set[str], set[str]]]]] = [
            (["--version"], [({"lazy"}, set()), ({"rich"}, set())]),
            (["--help"], [({"lazy"}, set())]),
            (["validate", str(ROOT / "desired_state")], [({"gc"}, set()), ({"pydantic"}, set())]),
            (["validate", str(work / "large")], [({"gc"}, set()), ({"loadgc"}, set()), ({"gc", "loadgc"}, {"gc"})]),
        ]
        if options.plan:
            cases.append((["plan", str(work / "small")], [({"paramiko"}, set()), ({"gc"}, set()), ({"pydantic"}, set())]))
        print(f"{'command':<24} {'turned off':<12} {'already off':<12} {'baseline':>12} {'trick off':>12} {'saves':>7}")
        counted: dict[tuple[str, ...], int] = {}
        for args, rows in cases:
            label = " ".join(Path(arg).name if "/" in arg else arg for arg in args)
            for off, already in rows:
                for tricks in (off, already):
                    key = (*args, *sorted(tricks))
                    if key not in counted:
                        counted[key] = instructions(tricks, args, work)
                without, baseline = counted[(*args, *sorted(off))], counted[(*args, *sorted(already))]
                turned = "+".join(sorted(off - already))
                print(
                    f"{label:<24} {turned:<12} {'+'.join(sorted(already)) or '-':<12} "
                    f"{baseline / 1e6:>10.1f} M {without / 1e6:>10.1f} M {(without - baseline) / without:>7.1%}"
                )


if __name__ == "__main__":
    main()
