"""A second Docker engine whose data root is a small loop-mounted ext4 filesystem, for the disk
budget tests: what the engine stores fills a filesystem the tests can measure and fill on purpose.

`running_disk_engine()` makes an ext4 image file, mounts it with `mount -o loop` (the loop device
detaches itself at unmount), starts a dockerd on it with scripts/docker-engine
(RECONCILER_ENGINE_NAME=disk<pid>: its own socket, exec root, pidfile, log and lock, never the shared
engine's) and imports a tiny busybox base image. At exit it removes every container, stops that
dockerd (SIGTERM to its pidfile's pid), unmounts, and deletes the image file, log and lock.

Real build cache comes from `DOCKER_BUILDKIT=1 /usr/bin/docker build --network none` (Debian's 20.10
client: the newer one first on PATH has no buildx) of a Dockerfile whose RUN writes random bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from tests.support.docker_engine import ENGINE_SCRIPT

BASE_IMAGE = "disk-test/base:1"
DOCKER_CLI = Path("/usr/bin/docker")
BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "head", "sleep", "cat", "true")
# Managed as far as a prune can tell; with no reconciler.address the container kind leaves it alone
# (with one, an undeclared managed container is an orphan it deletes).
MANAGED_LABEL = {"reconciler.managed": "true"}
MB = 1_000_000


class DiskEngineUnavailable(Exception):
    """This machine cannot run the disk engine (not root, no loop devices, no ext4 tools)."""


@dataclass
class DiskEngine:
    host: str  # unix:///run/reconciler-disk<pid>-docker.sock
    mount: Path  # the loop-mounted filesystem; the engine's data root is mount/docker
    api: docker.APIClient
    workdir: Path

    def used_percent(self) -> float:
        """As df computes Use%: used / (used + available to users)."""
        stats = os.statvfs(self.mount)
        used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        return 100 * used / (used + stats.f_bavail * stats.f_frsize)

    def total_bytes(self) -> int:
        stats = os.statvfs(self.mount)
        return (stats.f_blocks - stats.f_bfree + stats.f_bavail) * stats.f_frsize

    def fill_to(self, percent: float) -> None:
        """Grow (or shrink) one filler file until the filesystem is at about ``percent`` used."""
        filler = self.mount / "filler"
        current = filler.stat().st_size if filler.exists() else 0
        missing = int(self.total_bytes() * (percent - self.used_percent()) / 100)
        size = max(0, current + missing) // 4096 * 4096
        filler.unlink(missing_ok=True)
        if size:
            subprocess.run(["fallocate", "-l", str(size), str(filler)], check=True)

    def build(self, tag: str, megabytes: int, *, keep_image: bool = True) -> None:
        """A BuildKit build whose RUN writes ``megabytes`` of random bytes: real build cache. Without
        keep_image the image is removed afterwards, so its cache is neither shared nor in use."""
        context = Path(tempfile.mkdtemp(dir=self.workdir))
        (context / "Dockerfile").write_text(
            f"FROM {BASE_IMAGE}\nRUN head -c {megabytes * MB} /dev/urandom > /blob-{tag.replace(':', '-').replace('/', '-')}\n"
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DOCKER_HOST": self.host,
            "DOCKER_BUILDKIT": "1",
            "DOCKER_CONFIG": str(self.workdir / "docker-config"),
        }
        result = subprocess.run(
            [str(DOCKER_CLI), "build", "--network", "none", "--progress", "plain", "-t", tag, str(context)],
            capture_output=True, text=True, env=env, timeout=180, check=False,
        )  # fmt: skip
        shutil.rmtree(context, ignore_errors=True)
        if result.returncode != 0:
            raise RuntimeError(f"docker build of {tag} failed:\n{result.stderr[-3000:]}")
        if not keep_image:
            self.api.remove_image(tag)

    def run(self, image: str, name: str, *, labels: dict[str, str] | None = None, write_mb: int = 0, start: bool = True) -> str:
        """A container of ``image`` (network none) that writes ``write_mb`` into its own layer and then sleeps."""
        command = ["sh", "-c", f"head -c {write_mb * MB} /dev/urandom > /scratch; exec sleep 3600"]
        created = self.api.create_container(
            image, command=command, name=name, labels=labels or {}, host_config=self.api.create_host_config(network_mode="none")
        )
        if start:
            self.api.start(created["Id"])
        return str(created["Id"])

    def stop_after_writing(self, container_id: str, deadline: float = 30) -> None:
        """Wait until the container has written its scratch file (it is then sleeping), and stop it."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            top = self.api.top(container_id)
            if any(process[-1].startswith("sleep ") for process in top.get("Processes") or []):  # CMD, after the exec
                break
            time.sleep(0.1)
        self.api.stop(container_id, timeout=1)

    def df(self) -> dict[str, Any]:
        usage: dict[str, Any] = self.api.df()
        return usage

    def reset(self) -> None:
        """Back to a clean engine: no containers, no images but the base, no build cache, no filler."""
        for summary in self.api.containers(all=True):
            self.api.remove_container(summary["Id"], force=True)
        for image in self.api.images():
            if BASE_IMAGE not in (image.get("RepoTags") or []):
                with contextlib.suppress(docker.errors.APIError):
                    self.api.remove_image(image["Id"], force=True)
        self.api.prune_builds(all=True)
        (self.mount / "filler").unlink(missing_ok=True)


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise DiskEngineUnavailable(reason)


def _base_rootfs() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "tmp"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
    return buffer.getvalue()


def _engine_paths(name: str) -> dict[str, Path]:
    base = f"reconciler-{name}-docker"
    return {
        "pidfile": Path(f"/run/{base}.pid"),
        "log": Path(f"/var/log/reconciler-{name}-dockerd.log"),
        "lock": Path(f"/run/{base}.lock"),
        "exec_root": Path(f"/run/{base}"),
    }


def _stop_dockerd(pidfile: Path, deadline: float = 30) -> None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _unmount(mount: Path) -> None:
    for _ in range(50):
        if subprocess.run(["umount", str(mount)], capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.2)
    subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


@contextlib.contextmanager
def running_disk_engine(size_mb: int = 400) -> Iterator[DiskEngine]:
    _require(os.geteuid() == 0, "the disk engine needs root (loop mount, dockerd)")
    for tool in ("mkfs.ext4", "mount", "umount", "fallocate", "dockerd"):
        _require(shutil.which(tool) is not None, f"{tool} is not installed")
    _require(DOCKER_CLI.exists(), f"{DOCKER_CLI} (Debian's docker.io client, with BuildKit) is not installed")
    _require(BUSYBOX.exists(), f"{BUSYBOX} (busybox-static) is not installed")
    _require(Path("/dev/loop-control").exists(), "no /dev/loop-control: this machine cannot loop-mount")
    name = f"disk{os.getpid()}"
    paths = _engine_paths(name)
    workdir = Path(tempfile.mkdtemp(prefix="reconciler-disk-test-", dir="/var/tmp"))
    image, mount = workdir / "fs.img", workdir / "fs"
    mount.mkdir()
    mounted = False
    api: docker.APIClient | None = None
    try:
        subprocess.run(["truncate", "-s", f"{size_mb}M", str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True)
        mounted_now = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True, check=False)
        _require(mounted_now.returncode == 0, f"cannot loop-mount an ext4 image here: {mounted_now.stderr.strip()}")
        mounted = True
        env = {**os.environ, "RECONCILER_ENGINE_NAME": name, "RECONCILER_ENGINE_DATA_ROOT": str(mount / "docker")}
        env.pop("DOCKER_HOST", None)
        started = subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, text=True, env=env, timeout=120, check=False)
        lines = started.stdout.strip().splitlines()
        if started.returncode != 0 or not lines or not lines[-1].startswith("DOCKER_HOST="):
            raise RuntimeError(f"scripts/docker-engine failed (exit {started.returncode}):\n{started.stderr}")
        host = lines[-1].removeprefix("DOCKER_HOST=")
        api = docker.APIClient(base_url=host, version="auto", timeout=120)
        api.import_image(src=_base_rootfs(), repository=BASE_IMAGE.split(":")[0], tag=BASE_IMAGE.split(":")[1])
        yield DiskEngine(host, mount, api, workdir)
    finally:
        if api is not None:
            with contextlib.suppress(docker.errors.DockerException):
                for summary in api.containers(all=True):
                    api.remove_container(summary["Id"], force=True)
            api.close()
        _stop_dockerd(paths["pidfile"])
        if mounted:
            _unmount(mount)
        for leftover in (paths["log"], paths["lock"], paths["pidfile"]):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(paths["exec_root"], ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
