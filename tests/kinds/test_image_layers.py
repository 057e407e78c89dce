"""reconciler.clients.image_layers: an image's files read from its layers, against the real engine.

Images are made here, never pulled and never run: each layer is a tar written with tarfile, and the
image (legacy `docker save` layout: manifest.json, <n>/layer.tar, config) goes in through the Engine
API's `POST /images/load`, so whiteouts, opaque directories and hard links pass through the engine's
overlay2 storage and come back out of its export as it makes them. (The classic builder with only
COPY also works offline, but cannot delete a file.) `build_image` is also used by
bench/image_layers.py.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import io
import json
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from unittest import mock

import docker
import pytest

from reconciler.clients.docker import DockerUnavailable
from reconciler.clients.image_layers import (
    DEFAULT_PATH,
    Export,
    FileEntry,
    Files,
    ImageFiles,
    Tree,
    layer_change,
    layer_paths,
    read_image,
    resolve_path,
)
from reconciler.errors import ReconcileError
from reconciler.policies.image_view import ImageView

MTIME = 1_700_000_000
LayerEntry = tuple[tarfile.TarInfo, "bytes | int | None"]  # content: bytes, or a size of random bytes


# --- making images ------------------------------------------------------------------------------


def _info(path: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.strip("/"))
    info.type, info.mode, info.mtime = kind, mode, MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def directory(path: str, mode: int = 0o755) -> LayerEntry:
    return _info(path, tarfile.DIRTYPE, mode), None


def file(path: str, data: bytes | int = b"", mode: int = 0o644) -> LayerEntry:
    """A regular file holding ``data``, or that many random bytes."""
    info = _info(path, tarfile.REGTYPE, mode)
    info.size = data if isinstance(data, int) else len(data)
    return info, data


def symlink(path: str, target: str) -> LayerEntry:
    info = _info(path, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    return info, None


def hardlink(path: str, target: str) -> LayerEntry:
    info = _info(path, tarfile.LNKTYPE, 0o644)
    info.linkname = target.strip("/")
    return info, None


def whiteout(path: str) -> LayerEntry:
    parent, _, name = path.rpartition("/")
    return file(f"{parent}/.wh.{name}")


def opaque(path: str) -> LayerEntry:
    return file(f"{path.rstrip('/')}/.wh..wh..opq")


class RandomBytes(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left, 1 << 20)
        buffer[:count] = os.urandom(count)
        self.left -= count
        return count


def write_layer(path: Path, members: list[LayerEntry]) -> str:
    """Writes the layer tar (parents added as directories, as the engine's own diffs have them);
    returns its diff id."""
    named = {info.name for info, _ in members}
    parents = sorted({"/".join(info.name.split("/")[:i]) for info, _ in members for i in range(1, info.name.count("/") + 1)})
    members = [directory(parent) for parent in parents if parent not in named] + members
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            source: IO[bytes] | None = None
            if isinstance(data, bytes):
                source = io.BytesIO(data)
            elif isinstance(data, int):
                source = io.BufferedReader(RandomBytes(data))
            tar.addfile(info, source)
    digest = hashlib.sha256()
    with path.open("rb") as layer:
        while block := layer.read(1 << 20):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


@dataclass
class Recipe:
    name: str
    layers: list[list[LayerEntry]]
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def build_image(api: docker.APIClient, recipe: Recipe, workdir: Path) -> str:
    """Loads the image of ``recipe`` into the engine (nothing is pulled or run); returns its id."""
    workdir.mkdir(parents=True, exist_ok=True)
    diff_ids = [write_layer(workdir / f"{n}.tar", layer) for n, layer in enumerate(recipe.layers)]
    config = {
        "architecture": api.version()["Arch"],
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {"Env": recipe.env, "WorkingDir": recipe.workdir, "Labels": recipe.labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"layer {n}"} for n in range(len(diff_ids))],
    }
    config_bytes = json.dumps(config).encode()
    manifest = [{"Config": "config.json", "RepoTags": [recipe.name], "Layers": [f"{n}/layer.tar" for n in range(len(diff_ids))]}]
    archive = workdir / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for n in range(len(diff_ids)):
            tar.add(workdir / f"{n}.tar", arcname=f"{n}/layer.tar")
        for name, data in (("config.json", config_bytes), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))
    with archive.open("rb") as image_tar:
        for message in api.load_image(image_tar):
            if "error" in message:
                raise RuntimeError(f"loading {recipe.name}: {message['error']}")
    for path in workdir.iterdir():
        path.unlink()
    return str(api.inspect_image(recipe.name)["Id"])


def busybox_base() -> list[LayerEntry]:
    """A busybox-style root: one binary, applets as links to it, /sbin a link to usr/sbin."""
    return [
        file("bin/busybox", b"\x7fELF busybox stand-in", 0o755),
        symlink("bin/sh", "busybox"),
        symlink("usr/bin/wget", "/bin/busybox"),
        symlink("usr/bin/env", "../../bin/busybox"),
        directory("usr/sbin"),
        symlink("usr/sbin/httpd", "/bin/busybox"),
        symlink("sbin", "usr/sbin"),
        file("usr/local/bin/tool", b"#!/bin/sh\n", 0o755),
        file("usr/local/bin/readme", b"not a program\n", 0o644),
        file("usr/local/bin/original", b"#!/bin/sh\necho linked\n", 0o750),
        hardlink("usr/local/bin/linked", "usr/local/bin/original"),
        symlink("etc/dangling", "/nonexistent/file"),
        symlink("etc/loop-a", "loop-b"),
        symlink("etc/loop-b", "loop-a"),
        symlink("etc/self", "self"),
        file("opt/app/config/a.conf", b"a\n"),
        file("opt/app/keep", b"lower\n"),
        file("var/old/log.txt", b"old\n"),
        file("var/old/sub/deep.txt", b"deep\n"),
        file("var/kept", b"kept\n"),
        file("data/file", b"data\n"),
    ]


def layered_recipe(name: str) -> Recipe:
    same = [directory("srv"), file("srv/same", b"identical layers\n")]
    return Recipe(
        name=name,
        layers=[
            busybox_base(),
            [whiteout("var/old"), whiteout("usr/local/bin/tool")],
            [
                directory("opt/app"),
                opaque("opt/app"),
                file("opt/app/new.conf", b"new\n"),
                file("opt/app/run.sh", b"#!/bin/sh\n", 0o755),
            ],
            [symlink("data", "/opt/app")],
            same,
            same,  # the engine's export shares one layer.tar between identical layers
            [],  # an empty layer, as `RUN true` makes
        ],
        env=["PATH=/usr/local/bin:/usr/bin:/sbin:/bin", "HOME=/root"],
        workdir="/opt/app",
    )


def exporter_recipe(name: str) -> Recipe:
    """Like reconciler-demo/redis-exporter: one binary, a link to it, no shell, no PATH in the config."""
    return Recipe(
        name=name,
        layers=[
            [file("redis_exporter", b"\x7fELF", 0o755), symlink("bin/httpd", "/redis_exporter"), file("www/metrics", b"up 1\n")]
        ],
    )


@dataclass
class Images:
    api: docker.APIClient
    layered: str
    exporter: str


@pytest.fixture(scope="module")
def images(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    token = uuid.uuid4().hex[:12]
    api = docker_client.api
    workdir = tmp_path_factory.mktemp("image-layers")
    made = Images(api, f"reconciler-test/layers-{token}:1", f"reconciler-test/exporter-{token}:1")
    build_image(api, layered_recipe(made.layered), workdir)
    build_image(api, exporter_recipe(made.exporter), workdir)
    yield made
    for name in (made.layered, made.exporter):
        api.remove_image(name)


def read(images: Images, name: str, cache_dir: Path) -> ImageFiles:
    files = read_image(images.api, name, cache_dir)
    assert files is not None
    return files


# --- reading what the engine exports ------------------------------------------------------------


@pytest.mark.docker
def test_busybox_style_links_resolve_to_the_one_binary(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    view: ImageView = files
    assert view.resolve("/usr/bin/wget") == "/bin/busybox"
    assert view.is_executable("/usr/bin/wget")
    assert view.which("wget") == "/usr/bin/wget"
    assert view.resolve("/bin/sh") == "/bin/busybox"  # relative, same directory
    assert view.resolve("/usr/bin/env") == "/bin/busybox"  # relative, through ..
    assert view.resolve("/sbin/httpd") == "/bin/busybox"  # a symlinked parent (/sbin → usr/sbin)
    assert view.which("httpd") == "/sbin/httpd"  # /sbin comes before /bin in this PATH
    assert view.resolve("/sbin") == "/usr/sbin"
    assert files.files["/bin/busybox"] == FileEntry("file", 0o755)


@pytest.mark.docker
def test_the_config_gives_path_workdir_and_shell(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    assert files.image == images.layered
    assert files.image_id == images.api.inspect_image(images.layered)["Id"]
    assert files.path == ("/usr/local/bin", "/usr/bin", "/sbin", "/bin")
    assert files.workdir == "/opt/app"
    assert files.shell == ("/bin/sh", "-c")
    assert files.resolve("new.conf") == "/opt/app/new.conf"  # relative to the workdir
    assert files.which("./run.sh") == "/opt/app/run.sh"
    assert files.which("./new.conf") is None  # there, but not executable
    assert files.which("/usr/bin/wget") == "/usr/bin/wget"


@pytest.mark.docker
def test_whiteouts_remove_a_file_and_a_directory_with_everything_below(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    for gone in ("/var/old", "/var/old/log.txt", "/var/old/sub/deep.txt", "/usr/local/bin/tool"):
        assert files.resolve(gone) is None, gone
        assert gone not in files.files
    assert files.resolve("/var/kept") == "/var/kept"
    assert files.which("tool") is None


@pytest.mark.docker
def test_an_opaque_directory_hides_what_lower_layers_had_there(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    assert files.resolve("/opt/app/config/a.conf") is None
    assert files.resolve("/opt/app/config") is None
    assert files.resolve("/opt/app/keep") is None
    assert files.resolve("/opt/app/new.conf") == "/opt/app/new.conf"
    assert sorted(path for path in files.files if path.startswith("/opt/app/")) == ["/opt/app/new.conf", "/opt/app/run.sh"]


@pytest.mark.docker
def test_a_symlink_replacing_a_directory_takes_everything_below_it(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    assert files.files["/data"] == FileEntry("symlink", 0o777, "/opt/app")
    assert "/data/file" not in files.files
    assert files.resolve("/data/new.conf") == "/opt/app/new.conf"
    assert files.resolve("/data/file") is None


@pytest.mark.docker
def test_dangling_and_looping_links_resolve_to_none(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    for path in ("/etc/dangling", "/etc/loop-a", "/etc/loop-b", "/etc/self", "/etc/loop-a/x"):
        assert files.resolve(path) is None, path
        assert not files.is_executable(path)


@pytest.mark.docker
def test_a_hard_link_is_the_file_it_links_to(images: Images, tmp_path: Path) -> None:
    files = read(images, images.layered, tmp_path)
    for path in ("/usr/local/bin/original", "/usr/local/bin/linked"):
        assert files.files[path] == FileEntry("file", 0o750), path
        assert files.resolve(path) == path
        assert files.is_executable(path)
    assert files.which("linked") == "/usr/local/bin/linked"


@pytest.mark.docker
def test_identical_layers_shared_in_the_export_both_apply(images: Images, tmp_path: Path) -> None:
    exported = b"".join(images.api.get_image(images.layered))
    with tarfile.open(fileobj=io.BytesIO(exported)) as outer:
        names = outer.getnames()
        shared = [member.name for member in outer if member.issym() and member.name.endswith("/layer.tar")]
    if "index.json" not in names:  # the legacy layout (Docker < 25) writes the second as a symlink
        assert shared
    assert read(images, images.layered, tmp_path).files["/srv/same"] == FileEntry("file", 0o644)


@pytest.mark.docker
def test_an_image_without_a_shell(images: Images, tmp_path: Path) -> None:
    files = read(images, images.exporter, tmp_path)
    assert files.resolve("/bin/sh") is None
    assert files.which("sh") is None
    assert not files.is_executable("/bin/sh")
    assert files.resolve("/bin/httpd") == "/redis_exporter"
    assert files.is_executable("/bin/httpd")
    assert files.path == tuple(DEFAULT_PATH.split(":"))  # no PATH in the config
    assert files.workdir == "/"
    assert files.names_in_path() == {"httpd"}


@pytest.mark.docker
def test_names_in_path_lists_what_path_reaches(images: Images, tmp_path: Path) -> None:
    names = read(images, images.layered, tmp_path).names_in_path()
    assert names == {"wget", "env", "httpd", "sh", "busybox", "original", "linked"}
    # not: readme (not executable), tool (whited out), run.sh (not on PATH), dangling links


@pytest.mark.docker
def test_the_demo_frontend_has_httpd_and_no_wget(images: Images, tmp_path: Path) -> None:
    files = read(images, "reconciler-demo/frontend:1", tmp_path)
    assert files.which("wget") is None
    assert files.which("httpd") == "/usr/sbin/httpd"
    assert files.resolve("/bin/sh") == "/bin/bash"


# --- the OCI layout of newer engines ------------------------------------------------------------


def oci_export(legacy: bytes, manifest_json: bool, gzip_layers: bool) -> bytes:
    """The same image in the OCI layout of Docker ≥ 25: blobs/sha256/…, index.json (through a
    nested index, with an attestation manifest first, as BuildKit makes), and (unless told
    otherwise) a manifest.json, written last. Layers may be gzip-compressed (as a containerd image
    store exports them)."""
    with tarfile.open(fileobj=io.BytesIO(legacy)) as outer:
        old = json.load(outer.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
        config = outer.extractfile(old["Config"]).read()  # type: ignore[union-attr]
        layers = [outer.extractfile(path).read() for path in old["Layers"]]  # type: ignore[union-attr]
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict[str, Any]:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer_descriptors = [blob(gzip.compress(layer, mtime=0) if gzip_layers else layer) for layer in layers]
    manifest = blob(json.dumps({"schemaVersion": 2, "config": blob(config), "layers": layer_descriptors}).encode())
    provenance = blob(json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode())
    attestation = {
        **blob(json.dumps({"schemaVersion": 2, "config": provenance, "layers": [provenance]}).encode()),
        "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
    }
    inner_index = blob(json.dumps({"schemaVersion": 2, "manifests": [attestation, manifest]}).encode())
    files = [(f"blobs/sha256/{digest.removeprefix('sha256:')}", data) for digest, data in blobs.items()]
    files += [
        ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
        ("index.json", json.dumps({"manifests": [inner_index]}).encode()),
    ]
    if manifest_json:
        layer_paths = [f"blobs/sha256/{d['digest'].removeprefix('sha256:')}" for d in layer_descriptors]
        files.append(("manifest.json", json.dumps([{"Config": "blobs/sha256/x", "Layers": layer_paths}]).encode()))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def chunked(data: bytes, size: int = 32 * 1024) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.docker
@pytest.mark.parametrize(
    ("manifest_json", "gzip_layers"), [(True, False), (False, False), (True, True)], ids=["manifest", "index-only", "gzip"]
)
def test_the_oci_layout_reads_as_the_legacy_one(images: Images, tmp_path: Path, manifest_json: bool, gzip_layers: bool) -> None:
    legacy = read(images, images.layered, tmp_path / "legacy")
    converted = oci_export(b"".join(images.api.get_image(images.layered)), manifest_json, gzip_layers)
    with mock.patch.object(images.api, "get_image", return_value=chunked(converted)):
        oci = read(images, images.layered, tmp_path / "oci")
    assert oci == legacy


# --- the cache ----------------------------------------------------------------------------------


@pytest.mark.docker
def test_a_second_read_comes_from_the_cache(images: Images, tmp_path: Path) -> None:
    api = images.api
    with mock.patch.object(api, "get_image", wraps=api.get_image) as get_image:
        first = read(images, images.layered, tmp_path)
        assert get_image.call_count == 1
        with mock.patch.object(api, "inspect_image", wraps=api.inspect_image) as inspect_image:
            second = read(images, images.layered, tmp_path)
        assert get_image.call_count == 1
        assert inspect_image.call_count == 1
    assert second == first
    cache_file = tmp_path / f"{first.image_id.removeprefix('sha256:')}.json"
    assert cache_file.exists()
    assert [path.name for path in tmp_path.iterdir()] == [cache_file.name]  # no temporary file left


def spoil(files: dict[str, Any], how: str) -> bytes:
    """The cache file of ``files`` (its to_json) spoiled in one way."""
    columns = files["files"]
    if how == "garbage":
        return b"{not json"
    if how == "truncated":
        return json.dumps(files).encode()[:-20]
    if how == "empty":
        return b""
    if how == "list":
        return b"[]"
    if how == "old-format":
        return json.dumps({**files, "format": 1}).encode()
    if how == "mode-as-text":
        columns["modes"][0] = "755"
    elif how == "unknown-kind":
        columns["kinds"] = "x" + columns["kinds"][1:]
    elif how == "short-column":
        columns["modes"].pop()
    elif how == "out-of-order":
        columns["paths"][1], columns["paths"][2] = columns["paths"][2], columns["paths"][1]
    return json.dumps(files).encode()


@pytest.mark.docker
@pytest.mark.parametrize(
    "how", ["garbage", "truncated", "empty", "list", "old-format", "mode-as-text", "unknown-kind", "short-column", "out-of-order"]
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(images: Images, tmp_path: Path, how: str) -> None:
    first = read(images, images.layered, tmp_path)
    cache_file = tmp_path / f"{first.image_id.removeprefix('sha256:')}.json"
    cache_file.write_bytes(spoil(json.loads(cache_file.read_bytes()), how))
    with mock.patch.object(images.api, "get_image", wraps=images.api.get_image) as get_image:
        again = read(images, images.layered, tmp_path)
    assert get_image.call_count == 1
    assert again == first
    assert ImageFiles.from_json(json.loads(cache_file.read_bytes()), images.layered) == first


@pytest.mark.docker
def test_a_cache_file_of_another_image_is_not_believed(images: Images, tmp_path: Path) -> None:
    layered = read(images, images.layered, tmp_path)
    exporter = read(images, images.exporter, tmp_path)
    (tmp_path / f"{layered.image_id.removeprefix('sha256:')}.json").write_text(json.dumps(exporter.to_json()))
    assert read(images, images.layered, tmp_path) == layered


@pytest.mark.docker
def test_the_default_cache_is_under_xdg_cache_home(images: Images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    files = read_image(images.api, images.exporter)
    assert files is not None
    assert (tmp_path / "reconciler" / "images" / f"{files.image_id.removeprefix('sha256:')}.json").exists()


@pytest.mark.docker
def test_a_cache_that_cannot_be_written_only_costs_speed(images: Images, tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    assert read_image(images.api, images.exporter, not_a_directory) == read(images, images.exporter, tmp_path / "cache")


@pytest.mark.docker
def test_the_same_image_by_another_name_shares_the_cache(images: Images, tmp_path: Path) -> None:
    by_name = read(images, images.exporter, tmp_path)
    with mock.patch.object(images.api, "get_image") as get_image:
        by_id = read(images, by_name.image_id, tmp_path)
    get_image.assert_not_called()
    assert by_id.image == by_name.image_id
    assert by_id.files == by_name.files


# --- absent images and errors -------------------------------------------------------------------


@pytest.mark.docker
def test_a_missing_image_is_none_and_nothing_is_pulled(images: Images, tmp_path: Path) -> None:
    absent = f"reconciler-test/absent-{uuid.uuid4().hex[:12]}:1"
    since = int(time.time()) - 1
    assert read_image(images.api, absent, tmp_path) is None
    assert not images.api.images(name=absent.split(":")[0])
    events = images.api.events(since=since, until=int(time.time()) + 1, filters={"type": "image", "event": "pull"}, decode=True)
    assert [event for event in events if absent.split(":")[0] in json.dumps(event)] == []
    assert list(tmp_path.iterdir()) == []


def cut_short(exported: bytes, cut: str) -> bytes:
    if cut == "mid-layer":
        return exported[: len(exported) // 2]
    if cut == "end-marker":
        return exported.rstrip(b"\0")
    with tarfile.open(fileobj=io.BytesIO(exported)) as outer:
        last = outer.getmembers()[-1]
    return exported[: last.offset]  # between two members: only the missing end marker tells


@pytest.mark.docker
@pytest.mark.parametrize("cut", ["mid-layer", "end-marker", "between-members"])
def test_an_export_cut_short_is_an_error_not_a_partial_image(images: Images, tmp_path: Path, cut: str) -> None:
    truncated = cut_short(b"".join(images.api.get_image(images.exporter)), cut)
    with mock.patch.object(images.api, "get_image", return_value=chunked(truncated)), pytest.raises(ReconcileError) as raised:
        read_image(images.api, images.exporter, tmp_path)
    assert str(raised.value).startswith(f"image {images.exporter}: cannot read the engine's export of its layers")
    assert list(tmp_path.iterdir()) == []  # nothing cached


@pytest.mark.docker
def test_an_engine_error_while_exporting_names_the_image(images: Images, tmp_path: Path) -> None:
    error = docker.errors.APIError("500 Server Error", explanation="open /var/lib/docker/overlay2/x: no such file or directory")
    with mock.patch.object(images.api, "get_image", side_effect=error), pytest.raises(ReconcileError) as raised:
        read_image(images.api, images.exporter, tmp_path)
    assert str(raised.value) == (
        f"image {images.exporter}: cannot export its layers: open /var/lib/docker/overlay2/x: no such file or directory"
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the SDK leaves a failed connect's socket to gc
def test_an_unreachable_engine_is_an_error_naming_the_image(tmp_path: Path) -> None:
    api = docker.APIClient(base_url=f"unix://{tmp_path}/no-engine.sock", version="1.41")
    with pytest.raises(DockerUnavailable) as raised:
        read_image(api, "reconciler-demo/frontend:1", tmp_path)
    message = str(raised.value)
    del raised  # its context's traceback holds the socket
    gc.collect()
    assert message == "image reconciler-demo/frontend:1: cannot reach the Docker engine: no such socket"


# --- the path walk and the layer arithmetic, without an engine ----------------------------------


def test_the_walk_follows_at_most_40_links() -> None:
    files = {"/": FileEntry("dir", 0o755), "/bin": FileEntry("dir", 0o755), "/bin/target": FileEntry("file", 0o755)}
    for n in range(41):
        files[f"/bin/l{n}"] = FileEntry("symlink", 0o777, f"l{n - 1}" if n else "target")
    assert resolve_path(files, "/bin/l39") == "/bin/target"  # 40 links
    assert resolve_path(files, "/bin/l40") is None  # 41


@pytest.mark.parametrize(
    ("path", "resolved"),
    [
        ("/", "/"),
        ("/..", "/"),
        ("/bin/../bin/./tool", "/bin/tool"),
        ("/bin/tool/", None),  # a file is no directory
        ("/bin/tool/..", None),
        ("/up/tool", "/bin/tool"),  # up → ../bin from /
        ("/empty", None),
        ("/bin//tool", "/bin/tool"),
    ],
)
def test_the_walk_resolves_like_the_kernel(path: str, resolved: str | None) -> None:
    files = {
        "/": FileEntry("dir", 0o755),
        "/bin": FileEntry("dir", 0o755),
        "/bin/tool": FileEntry("file", 0o755),
        "/up": FileEntry("symlink", 0o777, "../bin"),
        "/empty": FileEntry("symlink", 0o777, ""),
    }
    assert resolve_path(files, path) == resolved


def changes(*members: LayerEntry) -> list[Any]:
    return [change for info, _ in members if (change := layer_change(info)) is not None]


def test_a_whiteout_hides_only_lower_layers() -> None:
    tree = Tree()
    tree.apply(changes(file("etc/conf", mode=0o600)))
    tree.apply(changes(file("etc/conf", mode=0o644), whiteout("etc/conf")))  # the same layer: a replacement
    assert tree.flatten()["/etc/conf"] == FileEntry("file", 0o644)


def test_a_directory_over_a_directory_keeps_its_contents() -> None:
    tree = Tree()
    tree.apply(changes(directory("etc"), file("etc/a")))
    tree.apply(changes(directory("etc", 0o700), file("etc/b")))
    files = tree.flatten()
    assert files["/etc"] == FileEntry("dir", 0o700)
    assert {"/etc/a", "/etc/b"} <= files.keys()


def test_a_hard_link_to_a_lower_layer_file_and_to_a_symlink() -> None:
    tree = Tree()
    tree.apply(changes(file("bin/tool", mode=0o755), symlink("bin/sh", "tool")))
    tree.apply(changes(hardlink("usr/bin/tool", "bin/tool"), hardlink("usr/bin/sh", "bin/sh"), hardlink("lost", "nowhere")))
    files = tree.flatten()
    assert files["/usr/bin/tool"] == FileEntry("file", 0o755)
    assert files["/usr/bin/sh"] == FileEntry("symlink", 0o777, "tool")
    assert files["/lost"] == FileEntry("file", 0o644)


def test_aufs_bookkeeping_is_no_file_and_no_whiteout() -> None:
    tree = Tree()
    tree.apply(changes(file("etc/keep"), directory(".wh..wh.plnk"), file(".wh..wh.plnk/1.2"), file("etc/.wh..wh.orph")))
    assert set(tree.flatten()) == {"/", "/etc", "/etc/keep"}


@pytest.mark.parametrize("image_id", ["sha256:index", "sha256:config", "sha256:unknown"])
def test_an_oci_index_leads_to_the_image_not_its_attestation(image_id: str) -> None:
    attestation = {"digest": "sha256:att", "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
    export = Export(
        documents={
            "index.json": {"manifests": [{"digest": "sha256:index"}]},
            "blobs/sha256/index": {"manifests": [attestation, {"digest": "sha256:image"}]},
            "blobs/sha256/att": {"config": {"digest": "sha256:x"}, "layers": [{"digest": "sha256:provenance"}]},
            "blobs/sha256/image": {
                "config": {"digest": "sha256:config"},
                "layers": [{"digest": "sha256:a"}, {"digest": "sha256:b"}],
            },
        }
    )
    assert layer_paths(export, image_id) == ["blobs/sha256/a", "blobs/sha256/b"]


def test_image_files_round_trip_through_json() -> None:
    entries = {"/": FileEntry("dir", 0o755), "/bin": FileEntry("dir", 0o755), "/bin/sh": FileEntry("symlink", 0o777, "busybox")}
    files = ImageFiles("img:1", "sha256:abc", ("/bin",), "/", ("/bin/sh", "-c"), Files.of(entries))
    assert ImageFiles.from_json(json.loads(json.dumps(files.to_json())), "img:1") == files
    assert dict(files.files) == entries
    assert "/bin/busybox" not in files.files
    assert files.files.get("/nowhere") is None
