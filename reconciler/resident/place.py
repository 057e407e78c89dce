"""Where the resident process listens, whether that place can be trusted, and which code it runs:
shared by the console script (client.py) and the daemon, so standard library only.

The socket is `$XDG_RUNTIME_DIR/reconcile/KEY.sock`, else `$XDG_CACHE_HOME/reconciler/resident/`
(`~/.cache/…`), in a directory only its user can enter (owned by the user, mode 0700); KEY names
the installation (its Python and its package directory), so two checkouts each have their own. The
client's environment crosses that socket, so a directory or socket that is not the user's alone is
never used.

The fingerprint says which code and interpreter a process would run: reconcile's version and every
file of the package (path, mtime, size), the interpreter (version, executable, prefix, flags,
sys.path and the mtimes of its site-packages), and the variables read at import by what the daemon
imports once (PYTHON*, the locale, TYPER_USE_RICH, PYDANTIC_DISABLE_PLUGINS). A daemon serves only a
client whose fingerprint is its own; a daemon whose files changed under it exits."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import reconciler

PACKAGE = Path(reconciler.__file__).resolve().parent
SOCKET_MAX = 107  # sockaddr_un's sun_path, less its NUL
# Read at import by the modules the daemon imports once (typer.core: TYPER_USE_RICH; pydantic's
# plugin scan at the first model), or at interpreter start (the locale): a client must agree.
IMPORT_TIME_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE", "TYPER_USE_RICH")
PLUGINS = "PYDANTIC_DISABLE_PLUGINS"  # unset is "__all__": the command sets it so before pydantic loads (startup.py)


def socket_directory(environ: Mapping[str, str]) -> Path:
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        return Path(runtime) / "reconcile"
    cache = environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if os.path.isabs(cache) else Path(environ.get("HOME") or os.path.expanduser("~")) / ".cache"
    return base / "reconciler" / "resident"


def installation_key() -> str:
    return hashlib.sha256(f"{sys.executable}\0{PACKAGE}".encode()).hexdigest()[:16]


def socket_path(environ: Mapping[str, str]) -> Path:
    return socket_directory(environ) / f"{installation_key()}.sock"


def _not_the_users(path: Path, is_kind: Callable[[int], bool], kind: str) -> tuple[str | None, int]:
    """Why ``path`` is not the user's own ``kind`` (missing, another kind, another owner), or None;
    and its mode."""
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"{path}: {error.strerror}", 0
    if not is_kind(info.st_mode):
        return f"{path} is not a {kind}", info.st_mode
    if info.st_uid != os.getuid():
        return f"{path} is not yours (owner uid {info.st_uid})", info.st_mode
    return None, info.st_mode


def untrusted_directory(directory: Path) -> str | None:
    """Why ``directory`` may not hold the socket (not a real directory, not the user's, open to
    others), or None."""
    reason, mode = _not_the_users(directory, stat.S_ISDIR, "directory")
    if reason is None and mode & 0o077:
        return f"{directory} is open to others (mode {stat.S_IMODE(mode):04o}, not 0700)"
    return reason


def untrusted_socket(path: Path) -> str | None:
    """Why the socket at ``path`` may not be used (its directory, not a socket, not the user's), or None."""
    return untrusted_directory(path.parent) or _not_the_users(path, stat.S_ISSOCK, "socket")[0]


def fingerprint(environ: Mapping[str, str]) -> str:
    """Which code and interpreter this process runs, as a digest (nothing of the environment shows)."""
    digest = hashlib.sha256()
    variables = sorted((k, v) for k, v in environ.items() if k.startswith("PYTHON") or k in IMPORT_TIME_VARIABLES)
    variables.append((PLUGINS, environ.get(PLUGINS, "__all__")))
    sites = [(entry, _mtime(entry)) for entry in sys.path[1:] if entry.endswith(("site-packages", "dist-packages"))]
    python = (sys.version, sys.executable, sys.prefix, tuple(sys.flags), sys.path[1:], sites)
    interpreter = (reconciler.__version__, python, variables)
    digest.update(repr(interpreter).encode())
    for root, directories, files in os.walk(PACKAGE):
        directories[:] = sorted(name for name in directories if name != "__pycache__")
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            digest.update(f"{os.path.relpath(path, PACKAGE)}\0{info.st_mtime_ns}\0{info.st_size}\n".encode())
    return digest.hexdigest()


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
