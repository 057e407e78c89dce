"""paramiko on demand: imported when an ssh:// host connects, not with the docker SDK.

`import docker` imports paramiko for the SDK's ssh:// transport, and paramiko brings invoke,
unittest.mock, asyncio, cryptography and nacl: about half of the SDK's import time, which a run
against unix:// and tcp:// hosts never uses. The SDK takes a failed `import paramiko` as "no SSH
support" (docker/transport/__init__.py and docker/api/client.py wrap it in try/except ImportError),
so after `defer_paramiko()` the process's first `import docker` runs with paramiko unavailable. An
ssh:// host then imports paramiko and docker.transport.sshconn when it connects (clients/ssh.py),
and clients/docker.py's Engine never uses the SDK's own ssh:// branch, so nothing depends on what
the SDK left out. Plain imports only: they are thread-safe, and hosts connect in parallel threads.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader


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
