"""A local stand-in for the few GitHub REST endpoints the workflows in .github/workflows/ call, for
the tests that run those workflows with a real runner (tests/support/workflow_runner.py).

It answers exactly what the workflows ask (`gh api` in their `run:` scripts, download-artifact's
cross-run download, github-script's comment and status calls) from a small model of one repository
(its pull requests, and the artifacts the runner's artifact server keeps, one directory per run) and
records every comment and status posted, so a test asserts what a reviewer would see on the pull
request. Anything else is a 404, and listed in `unexpected`, so a workflow that starts calling a
new endpoint fails its test rather than passing on a guess.

`gh` reaches it as `github.localhost` (gh's development host: plain HTTP to `api.github.localhost`,
the token from GH_TOKEN) through HTTP_PROXY=this server; octokit reaches it as GITHUB_API_URL.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT = "github-actions[bot]"


@dataclass
class PullRequest:
    number: int
    head_sha: str
    merged_at: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    user: str = BOT


@dataclass
class GitHubModel:
    """One repository as the stand-in serves it; the test changes it as GitHub would (a merge)."""

    repository: str
    artifacts_dir: Path  # the runner's artifact server: RUN_ID/NAME/NAME.zip
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    _artifact_ids: dict[tuple[int, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, number: int, merge_commit_sha: str) -> None:
        pull = self.pulls[number]
        pull.merged_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        pull.merge_commit_sha = merge_commit_sha

    def comments_on(self, number: int) -> list[Comment]:
        return [comment for comment in self.comments if comment.issue == number]

    def artifacts(self) -> list[dict[str, Any]]:
        """Every artifact the runner kept, newest run first, as the REST API lists them."""
        found = []
        runs = [run for run in self.artifacts_dir.iterdir() if run.name.isdigit()] if self.artifacts_dir.is_dir() else []
        for run in sorted(runs, key=lambda path: int(path.name), reverse=True):
            for zipped in sorted(run.glob("*/*.zip")):
                key = (int(run.name), zipped.parent.name)
                artifact_id = self._artifact_ids.setdefault(key, len(self._artifact_ids) + 1)
                found.append(
                    {
                        "id": artifact_id,
                        "name": key[1],
                        "size_in_bytes": zipped.stat().st_size,
                        "expired": False,
                        "workflow_run": {"id": key[0]},
                        "_path": str(zipped),
                    }
                )
        return found

    def pull_json(self, pull: PullRequest) -> dict[str, Any]:
        return {
            "number": pull.number,
            "head": {"sha": pull.head_sha},
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
        }


def _public(artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    shown = [{key: value for key, value in artifact.items() if not key.startswith("_")} for artifact in artifacts]
    return {"total_count": len(shown), "artifacts": shown}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        kind = "text/plain" if body is None else "application/octet-stream" if isinstance(body, bytes) else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)  # gh sends an absolute URI (it reaches us as a proxy)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        model = self.server.model
        with model.lock:
            answer = _answer(model, method, url.path, query, self._body() if method != "GET" else {}, self.server.base_url)
        if answer is None:
            model.unexpected.append(f"{method} {url.path}")
            self._answer(404, {"message": "Not Found (the stand-in does not serve this)"})
        else:
            self._answer(*answer)


def _answer(
    model: GitHubModel, method: str, path: str, query: dict[str, str], body: dict[str, Any], base_url: str
) -> tuple[int, Any] | tuple[int, Any, dict[str, str]] | None:
    if method == "GET" and (blob := re.fullmatch(r"/_blobs/(\d+)", path)):
        chosen = [artifact for artifact in model.artifacts() if artifact["id"] == int(blob[1])]
        return (200, Path(chosen[0]["_path"]).read_bytes()) if chosen else None
    prefix = f"/repos/{model.repository}"
    if not path.startswith(prefix + "/"):
        return None
    rest = path[len(prefix) :]
    if method == "GET" and (match := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest)):
        return 200, [model.pull_json(pull) for pull in model.pulls.values() if match[1] in (pull.merge_commit_sha, pull.head_sha)]
    if method == "GET" and (match := re.fullmatch(r"/pulls/(\d+)", rest)):
        pull = model.pulls.get(int(match[1]))
        return (200, model.pull_json(pull)) if pull else None
    if method == "GET" and rest == "/actions/artifacts":
        return 200, _public([a for a in model.artifacts() if a["name"] == query.get("name", a["name"])])
    if method == "GET" and (match := re.fullmatch(r"/actions/runs/(\d+)/artifacts", rest)):
        run = int(match[1])
        listed = [a for a in model.artifacts() if a["workflow_run"]["id"] == run and a["name"] == query.get("name", a["name"])]
        return 200, _public(listed)
    if method == "GET" and (match := re.fullmatch(r"/actions/artifacts/(\d+)/zip", rest)):
        return 302, None, {"Location": f"{base_url}/_blobs/{match[1]}"}
    if (match := re.fullmatch(r"/issues/(\d+)/comments", rest)) and method in ("GET", "POST"):
        number = int(match[1])
        if method == "POST":
            comment = Comment(id=len(model.comments) + 1, issue=number, body=body["body"])
            model.comments.append(comment)
            return 201, {"id": comment.id, "body": comment.body, "user": {"login": comment.user}}
        shown = [{"id": c.id, "body": c.body, "user": {"login": c.user}} for c in model.comments_on(number)]
        return 200, shown
    if method == "PATCH" and (match := re.fullmatch(r"/issues/comments/(\d+)", rest)):
        comment = next(c for c in model.comments if c.id == int(match[1]))
        comment.body = body["body"]
        return 200, {"id": comment.id, "body": comment.body, "user": {"login": comment.user}}
    if method == "POST" and (match := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)):
        model.statuses.append({**body, "sha": match[1]})
        return 201, {**body, "id": len(model.statuses)}
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    model: GitHubModel
    base_url: str


@contextlib.contextmanager
def running_github_api(model: GitHubModel) -> Iterator[str]:
    """Serves `model` on 127.0.0.1 (a free port); yields its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.model = model
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
