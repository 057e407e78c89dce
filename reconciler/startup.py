"""Start-up tricks: everything done so that a short `reconcile` process starts and ends fast, in one place.

A `reconcile plan` in CI is a new process on every pull request, so its fixed cost is paid every
time. What each trick saves, in instructions of one whole process (callgrind counts the same on a
loaded machine as on a quiet one; ~100 M instructions is ~27 ms of CPU here), each row one trick turned off
against the code as shipped (2026-12-07; `bench/startup_tricks.py --plan` measures them again, its
driver adding ~6 M to every count):

===========================================  =====================================  =====================================
trick                                        what it avoids                         saves
===========================================  =====================================  =====================================
commands import what they use when they      ``--version`` and ``--help`` importing `--version`: 315 M instead of 2,114 M
run (each ``cli/<command>.py``: imports in   pydantic, the models, ruamel, the      (−85 %); `--help`: 670 M instead of
the function, types under TYPE_CHECKING;     kinds, the planner, the renderers      2,367 M (−72 %)
tests/cli/test_startup.py holds it)
:class:`LazyConsole`: rich's Console made    importing rich where nothing prints    `--version`: 315 M instead of 397 M
on first print                               through it (``--version``, ``schema``,  (−21 %)
                                             ``plan --format json``)
:func:`defer_paramiko`: the docker SDK       paramiko, invoke, cryptography, nacl,  a plan of 20 containers on a local
imported without paramiko; an ssh:// host    asyncio, unittest.mock with every      engine: 1,839 M instead of 2,057 M
imports it when it connects (clients/ssh.py) ``import docker``                      (−11 %)
:func:`short_lived_process`: the cyclic      the collector walking the same objects that plan: −8 % (1,839 M / 1,993 M);
collector off while a command runs, what is  during the run, and every one of them  `validate` of desired_state/: −7 %;
alive at the end frozen; ``watch`` turns it  once more at interpreter shutdown      of 500 containers: −6 %
back on (:func:`long_running_process`)
:func:`without_cycle_collection` around      the collector walking what loading     nothing while short_lived_process
YAML loading (model/source.py, load.py)      makes, as it makes it                  holds the collector off; with it on
                                                                                    (`watch`, in-process callers):
                                                                                    `validate` of 500 containers −1.6 %
``PYDANTIC_DISABLE_PLUGINS=__all__`` (in     pydantic scanning every installed      that plan −1.3 %, `validate` of
:func:`short_lived_process`, unless set)     distribution's entry points for        desired_state/ −2.0 %
                                             plugins at its first model
bashlex's LALR tables read from a shipped    ply building bashlex's parse tables    see policies/shell_parser.py
file, bashlex imported only for a            at every import (~0.1 s quiet,
``CMD-SHELL`` healthcheck                    seconds under load)
each kind's module imported when the kind is a state of containers importing boto3  see kinds/__init__.py
first made, only kinds a state uses          and the EC2, S3, disk and cost kinds
===========================================  =====================================  =====================================

The last two stay in their modules, being those modules' whole subject (the shipped bashlex
tables) or their registry (the kinds list); they are listed here so that this table is the one list
to read before changing what a command imports. Splitting the CLI into a module per command cost
+6.5 M instructions at `--version` (+2 %), within the noise of a whole process.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

    from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")


# --- lazy rich ---------------------------------------------------------------------------------


class LazyConsole:
    """A rich Console made on first use: importing rich costs more than `reconcile --version` may."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr
        self.console: Console | None = None

    def real(self) -> Console:
        """The Console itself, for what calls its special methods (rich's Live enters it), which
        __getattr__ cannot stand in for."""
        if self.console is None:
            from rich.console import Console

            self.console = Console(stderr=self.stderr, highlight=False, soft_wrap=True)
        return self.console

    def __getattr__(self, name: str) -> object:
        return getattr(self.real(), name)


# --- the garbage collector ---------------------------------------------------------------------


@contextmanager
def short_lived_process() -> Iterator[None]:
    """A command ends soon, and reference counting frees what it makes: the cyclic collector would
    only walk the same objects again and again (~0.05 s of a no-op plan), and once more, every one
    of them, at interpreter shutdown (~0.1 s). So it is off while the command runs (`watch`, which
    runs for days, turns it back on), and what is alive at the end is frozen out of its sight
    (still freed when no longer referenced). A test that calls main() gets its collector back.

    pydantic, at its first model, looks for plugins in every installed distribution's entry points;
    reconcile uses none, so the scan is skipped (an environment that sets the variable keeps its own)."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def long_running_process() -> None:
    """A process that runs for days (`watch`) collects its cycles."""
    gc.enable()


def without_cycle_collection(load: Callable[P, R]) -> Callable[P, R]:
    """Loading makes many objects and no reference cycle: the cyclic garbage collector, left on,
    would walk them again and again as they are made. A command already runs with it off
    (short_lived_process); this is for `watch` and in-process callers (1.6 % of validating 500
    containers; a third before the single-pass libyaml loader)."""

    @functools.wraps(load)
    def loading(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return load(*args, **kwargs)
        gc.disable()
        try:
            return load(*args, **kwargs)
        finally:
            gc.enable()

    return loading


# --- paramiko on demand ------------------------------------------------------------------------
#
# `import docker` imports paramiko for the SDK's ssh:// transport, and paramiko brings invoke,
# unittest.mock, asyncio, cryptography and nacl: about half of the SDK's import time, which a run
# against unix:// and tcp:// hosts never uses. The SDK takes a failed `import paramiko` as "no SSH
# support" (docker/transport/__init__.py and docker/api/client.py wrap it in try/except ImportError),
# so after `defer_paramiko()` the process's first `import docker` runs with paramiko unavailable. An
# ssh:// host then imports paramiko and docker.transport.sshconn when it connects (clients/ssh.py),
# and clients/docker.py's Engine never uses the SDK's own ssh:// branch, so nothing depends on what
# the SDK left out. Plain imports only: they are thread-safe, and hosts connect in parallel threads.


def defer_paramiko() -> None:
    """Make the first `import docker` of this process, whenever and wherever it happens, run
    without paramiko. Imports nothing itself: a command that never reaches Docker pays nothing."""
    if "docker" in sys.modules or any(isinstance(finder, _FirstDockerImport) for finder in sys.meta_path):
        return
    sys.meta_path = [_FirstDockerImport(), *sys.meta_path]


class _FirstDockerImport:
    """A meta path finder that sees the first `import docker` only, then leaves sys.meta_path. The
    import system asks it under the module lock of `docker`, so one thread at a time; it leaves by
    replacing the list, never changing it, as another thread may be walking it for another import."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name != "docker":
            return None
        sys.meta_path = [finder for finder in sys.meta_path if finder is not self]
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = cast("Loader", _WithoutParamiko(spec.loader))  # a loader by its methods
        return spec


class _WithoutParamiko:
    """The docker package's own loader, run while `import paramiko` fails (None in sys.modules
    makes an import raise ImportError); paramiko's entry is removed after, so a later import of it
    works. Once run, the module and its spec hold the real loader again."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        if "paramiko" in sys.modules:  # already imported by someone: the SDK may as well use it
            self.loader.exec_module(module)
            return
        sys.modules["paramiko"] = None  # type: ignore[assignment]
        try:
            self.loader.exec_module(module)
        finally:
            if "paramiko" in sys.modules and sys.modules["paramiko"] is None:
                del sys.modules["paramiko"]
