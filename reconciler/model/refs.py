"""References that must resolve: hosts, depends_on (and its cycles), network_mode container:NAME,
regions, cost doc paths, user data files. Works on the raw merged document, type-tolerant, so its
findings come together with the schema's in one report."""

from __future__ import annotations

import graphlib
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

from reconciler.errors import Diagnostic
from reconciler.model.proxy import route_references
from reconciler.model.source import Path, Position, SourceMap, dotted
from reconciler.model.spec import HOSTED_SECTIONS, IMPLICIT_HOST
from reconciler.model.suggest import did_you_mean
from reconciler.pr_tree import MARKER as PR_MARKER

DOCS_DIRECTORY = "docs"  # under the repository root: where cost docs live (README, Cost docs)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Checker:
    def __init__(self, document: dict[str, Any], source: SourceMap, fallback: Position, base: FsPath) -> None:
        self.document = document
        self.source = source
        self.fallback = fallback
        self.base = base
        self.problems: list[Diagnostic] = []

    def report(self, path: Path, message: str, on_key: bool = False) -> None:
        self.problems.append(self._at(path, message, on_key))

    def _at(self, path: Path, message: str, on_key: bool = False) -> Diagnostic:
        position = self.source.nearest(path, prefer_key=on_key) or self.fallback
        return position.diagnostic(f"{dotted(path)}: {message}")

    def section(self, name: str) -> dict[str, Any]:
        return _mapping(self.document.get(name))

    def run(self) -> list[Diagnostic]:
        self.hosts()
        self.problems += [self._at(path, message) for path, message in route_references(self.document)]
        self.dependencies()
        self.network_modes()
        self.networks()
        self.volume_names()
        self.configs()
        self.regions()
        self.cost_docs()
        self.user_data_files()
        return self.problems

    def hosts(self) -> None:
        declared = list(self.section("hosts")) or [IMPLICIT_HOST]
        for section in HOSTED_SECTIONS:
            for name, resource in self.section(section).items():
                resource = {} if resource is None and section == "volumes" else resource  # compose's `data:`
                if not isinstance(resource, dict):
                    continue
                host = resource.get("host")
                if host is None:
                    if len(declared) > 1:
                        self.report(
                            (section, name),
                            f"host is required: there are {len(declared)} hosts ({', '.join(declared)})",
                            on_key=True,
                        )
                elif isinstance(host, str) and host not in declared:
                    hint = did_you_mean(host, declared) or f"; declared: {', '.join(declared)}"
                    if not self.section("hosts"):
                        hint = f"; no hosts are declared, so the only host is the implicit {IMPLICIT_HOST!r}"
                    self.report((section, name, "host"), f"no host {host!r}{hint}")

    def _dependencies_of(self, name: str, container: dict[str, Any]) -> Iterator[tuple[str, Path]]:
        depends_on = container.get("depends_on")
        if isinstance(depends_on, list):
            for index, target in enumerate(depends_on):
                if isinstance(target, str):
                    yield target, ("containers", name, "depends_on", index)
        elif isinstance(depends_on, dict):
            for target, options in depends_on.items():
                if isinstance(options, dict) and options.get("required") is False and target not in self.section("containers"):
                    continue  # compose: an optional dependency that is not there is skipped
                yield target, ("containers", name, "depends_on", target)

    def dependencies(self) -> None:
        containers = {name: c for name, c in self.section("containers").items() if isinstance(c, dict)}
        graph: dict[str, list[str]] = {}
        for name, container in containers.items():
            graph[name] = []
            for target, path in self._dependencies_of(name, container):
                if target == name:
                    self.report(path, "a container cannot depend on itself", on_key=True)
                elif target not in containers:
                    self.report(
                        path, f"no container {target!r}{did_you_mean(target, [c for c in containers if c != name])}", on_key=True
                    )
                else:
                    graph[name].append(target)
        for cycle in _cycles(graph):
            self.report(
                ("containers", cycle[0], "depends_on"), f"dependency cycle: {' → '.join([*cycle, cycle[0]])}", on_key=True
            )

    def network_modes(self) -> None:
        containers = {name: c for name, c in self.section("containers").items() if isinstance(c, dict)}
        for name, container in containers.items():
            mode = container.get("network_mode")
            if not (isinstance(mode, str) and mode.startswith(("container:", "service:"))):
                continue
            target = mode.partition(":")[2]
            path = ("containers", name, "network_mode")
            if target == name:
                self.report(path, "a container cannot share its own network")
            elif target not in containers:
                self.report(path, f"no container {target!r}{did_you_mean(target, containers)}")
            elif containers[target].get("host") != container.get("host"):
                self.report(path, f"{target!r} runs on another host; a shared network needs the same host")

    def volume_names(self) -> None:
        """A volume's engine name is its key: compose's ``name:`` may only repeat it."""
        for key, volume in self.section("volumes").items():
            name = _mapping(volume).get("name")
            if isinstance(name, str) and name != key:
                self.report(
                    ("volumes", key, "name"),
                    f"a volume's engine name is its key here (no project prefix is added): rename the key to {name!r}",
                )

    def networks(self) -> None:
        """Each network a container joins is declared under networks:, on the container's host."""
        declared = {name: n for name, n in self.section("networks").items() if isinstance(n, dict) or n is None}
        for name, container in self.section("containers").items():
            joined = _mapping(container).get("networks")
            names = joined if isinstance(joined, list) else list(joined) if isinstance(joined, dict) else []
            for network in names:
                if not isinstance(network, str):
                    continue
                path = ("containers", name, "networks", network if isinstance(joined, dict) else names.index(network))
                if network == "default" and network not in declared and len(self.section("hosts")) <= 1:
                    continue  # compose's default network: there for every container that asks (one host)
                if network not in declared:
                    hint = did_you_mean(network, declared) or "; declare it under the top-level networks:"
                    self.report(path, f"no network {network!r}{hint}", on_key=isinstance(joined, dict))
                elif None not in (hosts := (_mapping(declared[network]).get("host"), _mapping(container).get("host"))) and (
                    hosts[0] != hosts[1]
                ):
                    self.report(path, f"network {network!r} is on another host; a container joins networks of its own host")

    def configs(self) -> None:
        """Each config or secret a container mounts is declared under the top-level configs: or
        secrets:; a secret from an AWS store knows its region."""
        for section, sources in (("configs", "file: or content:"), ("secrets", "file:, environment: or aws_ssm:")):
            declared = self.section(section)
            for name, container in self.section("containers").items():
                mounts = _mapping(container).get(section)
                for index, mount in enumerate(mounts if isinstance(mounts, list) else []):
                    source = mount if isinstance(mount, str) else _mapping(mount).get("source")
                    if isinstance(source, str) and source not in declared:
                        hint = did_you_mean(source, declared) or f"; declare it under the top-level {section}: ({sources})"
                        self.report(("containers", name, section, index), f"no {section[:-1]} {source!r}{hint}")
        default_region = _mapping(self.document.get("aws")).get("region")
        for name, secret in self.section("secrets").items():
            for store in ("aws_ssm", "aws_secretsmanager"):
                where = _mapping(secret).get(store)
                if where is None or default_region is not None:
                    continue
                named = where if isinstance(where, str) else _mapping(where).get("name") or _mapping(where).get("id")
                if _mapping(where).get("region") is None and not str(named).startswith("arn:"):
                    self.report(("secrets", name, store), "which region? set aws.region, or region: here (or give an ARN)")

    def regions(self) -> None:
        if isinstance(_mapping(self.document.get("aws")).get("region"), str):
            return
        for section in ("ec2_instances", "s3_buckets"):
            for name, resource in self.section(section).items():
                if isinstance(resource, dict) and "region" not in resource:
                    self.report((section, name), "region is required: set region here, or aws.region for all", on_key=True)

    def cost_docs(self) -> None:
        docs = self.document.get("cost_docs")
        seen: dict[str, int] = {}
        for index, doc in enumerate(docs if isinstance(docs, list) else []):
            path = _mapping(doc).get("path")
            if not isinstance(path, str):
                continue
            if path.startswith("/") or ".." in path.split("/"):
                continue  # not a relative path: the field's own error says so
            if not self._in_docs_directory(path):
                self.report(
                    ("cost_docs", index, "path"),
                    f"{path!r} is not under the repository's {DOCS_DIRECTORY}/ directory: cost docs live there "
                    f"(e.g. {DOCS_DIRECTORY}/costs.md), so that apply rewrites nothing else",
                )
            elif path in seen:
                first = self.source.nearest(("cost_docs", seen[path], "path")) or self.fallback
                self.report(("cost_docs", index, "path"), f"{path!r} is already declared at {first.file}:{first.line}")
            else:
                seen[path] = index

    def _in_docs_directory(self, path: str) -> bool:
        """``path`` names a file under DOCS_DIRECTORY, also once symlinks are followed."""
        docs = (repository_root(self.base) / DOCS_DIRECTORY).resolve()
        resolved = (docs.parent / path).resolve()
        return path.split("/")[0] == DOCS_DIRECTORY and resolved.is_relative_to(docs) and resolved != docs

    def user_data_files(self) -> None:
        """Each user_data_file is a file of the repository, also once symlinks are followed (apply
        sends its content to EC2: a link must not carry a file of the machine there)."""
        root = repository_root(self.base)
        for name, instance in self.section("ec2_instances").items():
            user_data = _mapping(instance).get("user_data_file")
            if not isinstance(user_data, str) or user_data.startswith("/"):
                continue
            path = self.base / user_data
            if not path.resolve().is_relative_to(root):
                self.report(
                    ("ec2_instances", name, "user_data_file"),
                    f"{user_data!r} leads outside the repository (through a symlink): user data must be a file of {root}",
                )
            elif not path.is_file():
                self.report(("ec2_instances", name, "user_data_file"), f"no file {user_data!r} in {self.base}")


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Dependency cycles (each as dependant → dependency → …), each starting from its first member in
    declaration order: graphlib finds one at a time, and the edge that closes it is set aside
    before it looks again, so that every independent cycle is reported at once."""
    order = {node: index for index, node in enumerate(graph)}
    remaining = {node: list(targets) for node, targets in graph.items()}
    cycles: list[list[str]] = []
    while True:
        try:
            graphlib.TopologicalSorter(remaining).prepare()
        except graphlib.CycleError as error:
            cycle = list(reversed(error.args[1][1:]))  # graphlib lists dependency → dependant, first node twice
            first = min(range(len(cycle)), key=lambda index: order.get(cycle[index], len(order)))
            cycle = cycle[first:] + cycle[:first]
            cycles.append(cycle)
            remaining[cycle[0]].remove(cycle[1 % len(cycle)])
            continue
        return cycles


def repository_root(state_dir: FsPath) -> FsPath:
    """Where cost doc and env_file paths start, and what they may not leave: the nearest directory at
    or above the state directory that is an unpacked pull request's root (its marker) or a git top
    level (a `.git` directory or file), else the state directory's parent."""
    resolved = state_dir.resolve()
    for candidate in (resolved, *resolved.parents):
        if (candidate / PR_MARKER).is_file() or (candidate / ".git").exists():
            return candidate
    return resolved.parent


def check_references(document: dict[str, Any], source: SourceMap, fallback: Position, base: FsPath) -> list[Diagnostic]:
    return _Checker(document, source, fallback, base).run()
