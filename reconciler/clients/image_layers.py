"""An image's filesystem, read from its layers through the engine's image export (never by running
it, never by pulling it), and cached by image id.

The export (`GET /images/{id}/get`, `docker save`) is one tar: the legacy layout of Docker < 25
(manifest.json, <id>/layer.tar) or the OCI one (index.json, blobs/sha256/…, and usually a
manifest.json too). It is read as a stream: each layer's entries are recorded as metadata (path,
kind, mode, link target; never contents) under the layer's path in the export, and once the
manifest has been seen (it may come last) the layers are applied in order, whiteouts and opaque
directories included, as the engine's overlay would.
"""

from __future__ import annotations

import bisect
import bz2
import contextlib
import functools
import gzip
import io
import json
import lzma
import operator
import os
import posixpath
import re
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol, cast

import docker
import docker.errors
import requests.exceptions

from reconciler.clients.docker import DockerUnavailable, explain, inspect_image
from reconciler.errors import ReconcileError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ("/bin/sh", "-c")
MAX_SYMLINK_HOPS = 40  # as the kernel's path walk (MAXSYMLINKS)
CACHE_FORMAT = 2
DOCUMENT_LIMIT = 16 << 20  # JSON documents of the export (manifest, index, configs) are read whole
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
AUFS_META = ".wh..wh."
CACHE_NAME = re.compile(r"[A-Za-z0-9_.+-]+")


class FileEntry(NamedTuple):
    """One path of the image: kind "file" (hard links included), "dir", "symlink" or "other"
    (devices, fifos); its permission bits; a symlink's target as written."""

    kind: str
    mode: int
    target: str = ""


ROOT = FileEntry("dir", 0o755)


@dataclass
class ImageFiles:
    """What an image holds, path by path; implements reconciler.policies.image_view.ImageView.
    Paths not starting with "/" are taken from the workdir, as the container's process would."""

    image: str
    image_id: str
    path: tuple[str, ...]
    workdir: str
    shell: tuple[str, ...]
    files: Files = field(repr=False)

    def resolve(self, path: str) -> str | None:
        return resolve_path(self.files, posixpath.join(self.workdir, path))

    def is_executable(self, path: str) -> bool:
        resolved = self.resolve(path)
        if resolved is None:
            return False
        entry = self.files[resolved]
        return entry.kind == "file" and entry.mode & 0o111 != 0

    def which(self, program: str) -> str | None:
        if not program:
            return None
        if "/" in program:
            candidates = [posixpath.join(self.workdir, program.removeprefix("./"))]
        else:
            candidates = [posixpath.join(self.workdir, directory, program) for directory in self.path]
        return next((candidate for candidate in candidates if self.is_executable(candidate)), None)

    def names_in_path(self) -> frozenset[str]:
        names: set[str] = set()
        for directory in self.path:
            resolved = self.resolve(directory)
            if resolved is not None and self.files[resolved].kind == "dir":
                names.update(name for name in self._children.get(resolved, ()) if self.is_executable(f"{resolved}/{name}"))
        return frozenset(names)

    @functools.cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for path in self.files:
            if path != "/":
                parent, _, name = path.rpartition("/")
                children.setdefault(parent or "/", []).append(name)
        return children

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "image": self.image,
            "image_id": self.image_id,
            "path": self.path,
            "workdir": self.workdir,
            "shell": self.shell,
            "files": self.files.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], image: str) -> ImageFiles:
        """The inverse of to_json, for ``image`` (the reference now asked for); raises ValueError,
        KeyError or TypeError on anything malformed."""
        if data["format"] != CACHE_FORMAT:
            raise ValueError("another cache format")
        path, shell, workdir, image_id = data["path"], data["shell"], data["workdir"], data["image_id"]
        if not (_all_of(str, path) and _all_of(str, shell) and _all_of(str, [workdir, image_id])):
            raise ValueError("malformed image config")
        return cls(image, image_id, tuple(path), workdir, tuple(shell), Files.from_json(data["files"]))


KIND_CODES = {"file": "f", "dir": "d", "symlink": "l", "other": "o"}
KINDS_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}


class Files(Mapping[str, FileEntry]):
    """Absolute path → FileEntry ("/" included), held as columns in path order and looked up by
    bisection: reading a cached image back builds no Python object per path."""

    def __init__(self, paths: list[str], kinds: str, modes: list[int], targets: dict[str, str]) -> None:
        self._paths, self._kinds, self._modes, self._targets = paths, kinds, modes, targets

    @classmethod
    def of(cls, entries: dict[str, FileEntry]) -> Files:
        paths = sorted(entries)
        return cls(
            paths,
            "".join(KIND_CODES[entries[path].kind] for path in paths),
            [entries[path].mode for path in paths],
            {path: entries[path].target for path in paths if entries[path].target},
        )

    def __getitem__(self, path: str) -> FileEntry:
        index = bisect.bisect_left(self._paths, path)
        if index == len(self._paths) or self._paths[index] != path:
            raise KeyError(path)
        return FileEntry(KINDS_BY_CODE[self._kinds[index]], self._modes[index], self._targets.get(path, ""))

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def to_json(self) -> dict[str, Any]:
        return {"paths": self._paths, "kinds": self._kinds, "modes": self._modes, "targets": self._targets}

    @classmethod
    def from_json(cls, columns: dict[str, Any]) -> Files:
        """The inverse of to_json; raises ValueError (or KeyError) when the columns are malformed."""
        paths, kinds, modes, targets = columns["paths"], columns["kinds"], columns["modes"], columns["targets"]
        if not _well_formed(paths, kinds, modes, targets):
            raise ValueError("malformed file columns")
        return cls(paths, kinds, modes, targets)


def _well_formed(paths: Any, kinds: Any, modes: Any, targets: Any) -> bool:
    """Columns of the right types and lengths, paths strictly in order; in C-level passes only."""
    return (
        isinstance(kinds, str)
        and isinstance(targets, dict)
        and isinstance(paths, list)
        and len(paths) == len(kinds) == len(modes)
        and _all_of(str, paths)
        and _all_of(int, modes)
        and _all_of(str, targets.values())
        and set(kinds) <= KINDS_BY_CODE.keys()
        and all(map(operator.lt, paths, paths[1:]))
    )


def _all_of(kind: type, values: Iterable[object]) -> bool:
    return set(map(type, values)) <= {kind}


def resolve_path(files: Mapping[str, FileEntry], path: str) -> str | None:
    """``path`` (absolute) with every symlink followed, as the kernel walks it, or None when a
    component is missing, a non-directory has components after it, or links loop."""
    done: list[str] = []
    todo = _components_reversed(path)
    hops = 0
    while todo:
        name = todo.pop()
        if name in ("", "."):
            continue
        if name == "..":
            if done:
                done.pop()
            continue
        here = "/" + "/".join([*done, name])
        entry = files.get(here)
        if entry is None:
            return None
        if entry.kind == "symlink":
            hops += 1
            if hops > MAX_SYMLINK_HOPS or not entry.target:
                return None
            if entry.target.startswith("/"):
                done.clear()
            todo.extend(_components_reversed(entry.target))
            continue
        if entry.kind != "dir" and todo:
            return None  # a file (or device) with more of the path after it: ENOTDIR
        done.append(name)
    return "/" + "/".join(done)


def _components_reversed(path: str) -> list[str]:
    return path.split("/")[::-1]


# --- reading an image ---------------------------------------------------------------------------


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "reconciler" / "images"


def read_image(client: docker.APIClient, reference: str, cache_dir: Path | None = None) -> ImageFiles | None:
    """The filesystem of the image ``reference`` on the engine of ``client``, or None when the image
    is not there (nothing is pulled). Read from the cache when this image id was read before."""
    record = _inspect(client, reference)
    return None if record is None else files_of(client, reference, record, cache_dir)


def files_of(client: docker.APIClient, reference: str, record: dict[str, Any], cache_dir: Path | None = None) -> ImageFiles:
    """The filesystem of the image whose inspect ``record`` the caller already holds."""
    image_id = str(record["Id"])
    cache = _cache_file(cache_dir or default_cache_dir(), image_id)
    cached = _load_cached(cache, image_id, reference)
    if cached is not None:
        return cached
    config = record.get("Config") or {}
    files = ImageFiles(
        image=reference,
        image_id=image_id,
        path=_config_path(config.get("Env")),
        workdir=config.get("WorkingDir") or "/",
        shell=tuple(config.get("Shell") or DEFAULT_SHELL),
        files=_read_export(client, reference, image_id),
    )
    _store(cache, files)
    return files


def _inspect(client: docker.APIClient, reference: str) -> dict[str, Any] | None:
    try:
        return inspect_image(client, reference)
    except requests.exceptions.ConnectionError as error:
        raise DockerUnavailable(f"image {reference}: cannot reach the Docker engine: {explain(error)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise ReconcileError(f"image {reference}: cannot inspect it: {explain(error)}") from None


def _config_path(env: list[str] | None) -> tuple[str, ...]:
    for variable in env or []:
        name, _, value = variable.partition("=")
        if name == "PATH":
            return tuple(value.split(":")) if value else ()
    return tuple(DEFAULT_PATH.split(":"))


def _read_export(client: docker.APIClient, reference: str, image_id: str) -> Files:
    try:
        return files_from_export(client.get_image(image_id), image_id)
    except requests.exceptions.ConnectionError as error:
        raise DockerUnavailable(f"image {reference}: cannot reach the Docker engine: {explain(error)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise ReconcileError(f"image {reference}: cannot export its layers: {explain(error)}") from None
    except (tarfile.TarError, ValueError, LookupError, TypeError, AttributeError) as error:
        raise ReconcileError(f"image {reference}: cannot read the engine's export of its layers: {error}") from None


# --- the cache ----------------------------------------------------------------------------------


def _cache_file(cache_dir: Path, image_id: str) -> Path | None:
    name = image_id.removeprefix("sha256:")
    return cache_dir / f"{name}.json" if CACHE_NAME.fullmatch(name) else None


def _load_cached(cache: Path | None, image_id: str, reference: str) -> ImageFiles | None:
    """The cached files of ``image_id``; None when absent or unreadable (then it is rewritten)."""
    if cache is None:
        return None
    try:
        files = ImageFiles.from_json(json.loads(cache.read_bytes()), reference)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if files.image_id == image_id else None


def _store(cache: Path | None, files: ImageFiles) -> None:
    """Writes the cache file atomically (temporary file, then rename); a cache that cannot be
    written only costs the next read its speed."""
    if cache is None:
        return
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.stem}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump(files.to_json(), out, separators=(",", ":"))
            os.replace(temporary, cache)
        except BaseException:
            os.unlink(temporary)
            raise


# --- the export ---------------------------------------------------------------------------------


class Change(NamedTuple):
    """One entry of a layer: kind "whiteout" (path removed), "opaque" (path's lower contents
    hidden), "hardlink" (target: the linked path), or a FileEntry kind."""

    path: str  # absolute, normalised
    kind: str
    mode: int = 0
    target: str = ""


@dataclass
class Export:
    """What the stream of an export left: each layer's changes and each JSON document, by path."""

    layers: dict[str, list[Change]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # blobs that are no tar, and why
    documents: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # symlinks in the export (shared layers)


def files_from_export(chunks: Iterable[bytes], image_id: str) -> Files:
    """Every path of the image whose export streams as ``chunks``, its layers applied in order."""
    export = scan_export(chunks)
    tree = Tree()
    for layer in layer_paths(export, image_id):
        tree.apply(_layer_changes(export, layer))
    return Files.of(tree.flatten())


def scan_export(chunks: Iterable[bytes]) -> Export:
    """One pass over the export, keeping only metadata; raises tarfile.ReadError when it is cut short."""
    export = Export()
    stream = ExportStream(chunks)
    with tarfile.TarFile(fileobj=stream, mode="r") as outer:
        for member in outer:
            name = _export_name(member.name)
            if member.issym() or member.islnk():
                base = posixpath.dirname(name) if member.issym() else ""
                export.aliases[name] = _export_name(posixpath.join(base, member.linkname))
            elif member.isfile():
                _scan_member(export, name, Member(stream, member.size))
        end_of_archive = outer.offset
    if stream.tell() + stream.skip_rest() < end_of_archive + 2 * tarfile.BLOCKSIZE:
        raise tarfile.ReadError(f"the export ended early (after {stream.tell()} bytes)")
    return export


def _scan_member(export: Export, name: str, content: Member) -> None:
    if name in ("manifest.json", "index.json"):
        export.documents[name] = json.loads(content.read(DOCUMENT_LIMIT))
    elif name.endswith("/layer.tar"):
        _scan_layer(export, name, content)
    elif name.startswith("blobs/"):
        _scan_blob(export, name, content)


def _scan_blob(export: Export, name: str, content: Member) -> None:
    """An OCI blob: a JSON document (index, manifest, config) is kept, a layer is read."""
    if content.size > DOCUMENT_LIMIT or content.peek(1)[:1] != b"{":
        _scan_layer(export, name, content)
        return
    data = content.read()
    try:
        export.documents[name] = json.loads(data)
    except ValueError:  # a tar after all, whose first name starts with "{"
        _scan_layer(export, name, Member(ExportStream([data]), len(data)))


def _scan_layer(export: Export, name: str, content: Member) -> None:
    try:
        export.layers[name] = read_layer(content)
    except (tarfile.TarError, OSError, EOFError) as error:  # gzip, bz2 and lzma raise these
        export.unreadable[name] = str(error) or type(error).__name__


def _export_name(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def read_layer(content: Member) -> list[Change]:
    """A layer's entries (a tar, maybe gzip, bzip2 or xz compressed), read forward."""
    with contextlib.closing(_decompressed(content)) as source, tarfile.TarFile(fileobj=source, mode="r") as layer:
        return [change for info in layer if (change := layer_change(info)) is not None]


def _decompressed(content: Member) -> _Fileobj:
    """The layer's tar: ``content`` itself, or a reader decompressing it."""
    head = content.peek(6)
    stream = cast("IO[bytes]", content)  # read, tell and seek forward are all the decompressors use
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(stream)
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(stream)
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise tarfile.CompressionError("zstd-compressed layers are not supported")
    return content


def layer_change(info: tarfile.TarInfo) -> Change | None:
    path = _layer_path(info.name)
    if path == "/":
        return None
    parent, _, name = path.rpartition("/")
    parent = parent or "/"
    if name == OPAQUE:
        return Change(parent, "opaque")
    if f"/{AUFS_META}" in path:
        return None  # AUFS bookkeeping (.wh..wh.plnk, .wh..wh.orph), no file of the image
    if name.startswith(WHITEOUT):
        return Change(posixpath.join(parent, name.removeprefix(WHITEOUT)), "whiteout")
    mode = info.mode & 0o7777
    if info.isdir():
        return Change(path, "dir", mode)
    if info.issym():
        return Change(path, "symlink", mode, info.linkname)
    if info.islnk():
        return Change(path, "hardlink", mode, _layer_path(info.linkname))
    if info.isreg():
        return Change(path, "file", mode)
    return Change(path, "other", mode)


def _layer_path(name: str) -> str:
    return posixpath.normpath("/" + name.removeprefix("./"))


def layer_paths(export: Export, image_id: str) -> list[str]:
    """The image's layers, lowest first, as paths in the export: from manifest.json (both layouts
    of `docker save`), else from the OCI index."""
    if "manifest.json" in export.documents:
        entries = export.documents["manifest.json"]
        entry = next((e for e in entries if image_id.removeprefix("sha256:") in str(e.get("Config", ""))), entries[0])
        return [str(layer) for layer in entry["Layers"]]
    if "index.json" in export.documents:
        layers = _oci_layers(export, export.documents["index.json"], image_id, depth=0)
        if layers is not None:
            return layers
        raise ValueError("the OCI index names no image manifest that is in the export")
    raise ValueError("the export has neither manifest.json nor index.json")


def _oci_layers(export: Export, index: dict[str, Any], image_id: str, depth: int) -> list[str] | None:
    """The layers of the manifest under ``index`` that is the image (its digest or its config's is
    the image id), else of the first one in the export; attestations are no image."""
    if depth > 8:
        raise ValueError("the OCI index nests too deep")
    first: list[str] | None = None
    for descriptor in index.get("manifests", []):
        document = export.documents.get(_blob_path(descriptor["digest"]))
        if not isinstance(document, dict) or _is_attestation(descriptor):
            continue
        if "manifests" in document:
            layers = _oci_layers(export, document, image_id, depth + 1)
        else:
            layers = [_blob_path(layer["digest"]) for layer in document.get("layers", [])]
        if image_id in (descriptor["digest"], document.get("config", {}).get("digest")):
            return layers
        first = first if first is not None else layers
    return first


def _is_attestation(descriptor: dict[str, Any]) -> bool:
    return (descriptor.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest"


def _blob_path(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def _layer_changes(export: Export, path: str) -> list[Change]:
    name = _export_name(path)
    for _ in range(MAX_SYMLINK_HOPS):
        if name in export.layers:
            return export.layers[name]
        if name in export.unreadable:
            raise ValueError(f"layer {name} cannot be read: {export.unreadable[name]}")
        if name not in export.aliases:
            break
        name = export.aliases[name]
    raise ValueError(f"layer {path} is not in the export")


class _Fileobj(Protocol):
    """What tarfile reads from."""

    def read(self, size: int = -1, /) -> bytes: ...
    def write(self, data: bytes, /) -> int: ...
    def tell(self) -> int: ...
    def seek(self, position: int, whence: int = io.SEEK_SET, /) -> int: ...
    def close(self) -> None: ...


class ExportStream:
    """The export's chunks as the forward-only file tarfile reads: read, tell, and seek forward,
    which skips without copying. Holds about one chunk at a time."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")
        self._position = 0

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        parts: list[memoryview] = []
        while size != 0 and self._fill():
            part = self._pending if size < 0 else self._pending[:size]
            parts.append(part)
            self._advance(len(part))
            size = size - len(part) if size > 0 else size
        return b"".join(parts)

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes from here, left unread."""
        while len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending = memoryview(bytes(self._pending) + chunk)
        return bytes(self._pending[:size])

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        target = position + (self._position if whence == io.SEEK_CUR else 0)
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._position:
            raise io.UnsupportedOperation("the export is read forward only")
        left = target - self._position
        while left and self._fill():
            step = min(left, len(self._pending))
            self._advance(step)
            left -= step
        if left:
            raise tarfile.ReadError("unexpected end of data")
        return self._position

    def skip_rest(self) -> int:
        """Skips to the end; returns how many bytes that was."""
        skipped = 0
        while self._fill():
            skipped += len(self._pending)
            self._advance(len(self._pending))
        return skipped

    def write(self, data: bytes) -> int:
        raise io.UnsupportedOperation("the export is read only")

    def close(self) -> None:
        pass

    def _fill(self) -> bool:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._pending = memoryview(chunk)
        return True

    def _advance(self, count: int) -> None:
        self._pending = self._pending[count:]
        self._position += count


class Member:
    """The next ``size`` bytes of an ExportStream (one member of the export), as a file."""

    def __init__(self, stream: ExportStream, size: int) -> None:
        self._stream = stream
        self._start = stream.tell()
        self.size = size

    def tell(self) -> int:
        return self._stream.tell() - self._start

    def read(self, size: int = -1) -> bytes:
        left = self.size - self.tell()
        return self._stream.read(left if size < 0 else min(size, left))

    def peek(self, size: int) -> bytes:
        return self._stream.peek(min(size, self.size - self.tell()))

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        target = position + (self.tell() if whence == io.SEEK_CUR else 0)
        if target > self.size:
            raise tarfile.ReadError("unexpected end of data")
        return self._stream.seek(self._start + target) - self._start

    def write(self, data: bytes) -> int:
        raise io.UnsupportedOperation("the export is read only")

    def close(self) -> None:
        pass


# --- applying layers ----------------------------------------------------------------------------


@dataclass
class Node:
    entry: FileEntry
    children: dict[str, Node] = field(default_factory=dict)


class Tree:
    """The image's filesystem as layers are applied, as the engine's overlay shows it."""

    def __init__(self) -> None:
        self.root = Node(ROOT)

    def apply(self, changes: list[Change]) -> None:
        """Whiteouts first: they hide only what lower layers had, never this layer's entries."""
        for change in changes:
            if change.kind == "whiteout":
                self._remove(change.path)
            elif change.kind == "opaque":
                self._empty(change.path)
        for change in changes:
            if change.kind == "hardlink":
                self._add(change.path, self._linked(change))
            elif change.kind not in ("whiteout", "opaque"):
                self._add(change.path, FileEntry(change.kind, change.mode, change.target))

    def flatten(self) -> dict[str, FileEntry]:
        files: dict[str, FileEntry] = {}
        stack = [("/", self.root)]
        while stack:
            path, node = stack.pop()
            files[path] = node.entry
            stack.extend((posixpath.join(path, name), child) for name, child in node.children.items())
        return files

    def _remove(self, path: str) -> None:
        parent, name = self._parent(path, create=False), posixpath.basename(path)
        if parent is not None:
            parent.children.pop(name, None)

    def _empty(self, path: str) -> None:
        node = self._find(path)
        if node is not None and node.entry.kind == "dir":
            node.children.clear()

    def _add(self, path: str, entry: FileEntry) -> None:
        parent = self._parent(path, create=True)
        assert parent is not None
        name = posixpath.basename(path)
        existing = parent.children.get(name)
        if existing is not None and existing.entry.kind == "dir" and entry.kind == "dir":
            existing.entry = entry  # directories merge; anything else replaces
        else:
            parent.children[name] = Node(entry)

    def _linked(self, change: Change) -> FileEntry:
        """A hard link is the file it links to (a link to a symlink is that symlink)."""
        node = self._find(change.target)
        if node is None or node.entry.kind == "dir":
            return FileEntry("file", change.mode)
        return node.entry

    def _find(self, path: str) -> Node | None:
        node = self.root
        for name in _names(path):
            child = node.children.get(name)
            if child is None:
                return None
            node = child
        return node

    def _parent(self, path: str, create: bool) -> Node | None:
        """The directory holding ``path``; with ``create``, missing (or non-directory) parents
        become directories, as unpacking a layer makes them."""
        node = self.root
        for name in _names(path)[:-1]:
            child = node.children.get(name)
            if child is None or child.entry.kind != "dir":
                if not create:
                    return None
                child = node.children[name] = Node(ROOT)
            node = child
        return node


def _names(path: str) -> list[str]:
    return [name for name in path.split("/") if name]
