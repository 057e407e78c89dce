"""What the resident process imports once, before it serves: what plan, apply and validate import
for a state of containers, networks, volumes and proxies (the commands import most of it inside
their functions, reconciler/startup.py). Imports only: nothing here is run, so no state (a client,
a cache, a console) exists before a command's child is forked.

Left out on purpose: GitPython (it runs `git` and finds it by the environment as it is imported:
reconciler/gitinfo.py imports it for a state in a repository), paramiko (deferred for ssh:// hosts,
startup.py), boto3 (the AWS kinds), typer's rich help formatting (it reads TERMINAL_WIDTH and
FORCE_COLOR as it is imported): each command imports them itself, with its client's environment."""

from __future__ import annotations

import importlib

MODULES = (
    "reconciler.cli",  # every command's module, typer
    "reconciler.cli.planning",
    "reconciler.model.load",
    "reconciler.planner",
    "reconciler.plan.report",
    "reconciler.plan.digest",
    "reconciler.apply.executor",
    "reconciler.apply.walk",
    "reconciler.apply.lock",
    "reconciler.apply.applied",
    "reconciler.apply.environment",
    "reconciler.apply.interrupt",
    "reconciler.render.text",
    "reconciler.render.markdown",
    "reconciler.render.comment",
    "reconciler.progress",
    "reconciler.gitinfo",
    "reconciler.pr_base",
    "reconciler.clients.docker",
    "reconciler.clients.records",
    "reconciler.clients.journal",
    "reconciler.clients.image_layers",
    "reconciler.kinds.container.kind",
    "reconciler.kinds.network.kind",
    "reconciler.kinds.volume.kind",
    "reconciler.kinds.proxy.kind",
    "reconciler.policies.containers",
    "reconciler.policies.shell_parser",
    "pydantic.type_adapter",
    "typer._adapters",
    "typer._click.decorators",
    "docker",
    "rich.console",
    "rich.live",
    "rich.text",
    "rich.markup",
)


def preload() -> None:
    for name in MODULES:
        importlib.import_module(name)
    from reconciler.policies.shell_parser import bashlex

    bashlex()  # its import, with the shipped parse tables (a CMD-SHELL healthcheck's parser)
