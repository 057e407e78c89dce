"""A Docker engine and the demo images for the tests that need them (marked `docker`).

`ensure_engine()` runs scripts/docker-engine (an engine that answers: $DOCKER_HOST, the default
socket, or one it starts) and `ensure_images()` runs scripts/demo-images; each once per session.
`image_files()` lists an image's filesystem without running it.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = REPO / "scripts" / "docker-engine"
IMAGES_SCRIPT = REPO / "scripts" / "demo-images"

DEMO_IMAGES = (
    "reconciler-demo/redis:1",
    "reconciler-demo/frontend:1",
    "reconciler-demo/redis-exporter:1",
    "reconciler-demo/publisher:1",
)
TEST_IMAGE = "reconciler-test/busybox:1"  # every busybox applet: sh, sleep, nc (with -z), wget, httpd, …

# Containers a test starts carry TEST_LABEL; `cleanup_containers` removes them, and managed ones.
TEST_LABEL = {"reconciler.test": "1"}
CLEANUP_FILTERS = ("reconciler.test=1", "reconciler.managed=true")


@functools.cache
def ensure_engine() -> str:
    """The DOCKER_HOST of an engine that answers (scripts/docker-engine may install and start one)."""
    result = subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, text=True, timeout=600, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("DOCKER_HOST="):
        raise RuntimeError(f"scripts/docker-engine failed (exit {result.returncode}):\n{result.stderr}{result.stdout}")
    return lines[-1].removeprefix("DOCKER_HOST=")


@functools.cache
def ensure_images() -> None:
    """Builds (or finds up to date) the demo images and the test image, in the engine of ensure_engine()."""
    env = {**os.environ, "DOCKER_HOST": ensure_engine()}
    result = subprocess.run(
        [sys.executable, str(IMAGES_SCRIPT)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/demo-images failed (exit {result.returncode}):\n{result.stderr}{result.stdout}")


def image_files(client: docker.DockerClient, ref: str) -> dict[str, tarfile.TarInfo]:
    """Every path in the image `ref` (no leading '/'), from `docker save`, layers applied in order
    (whiteouts honoured). Works with both the legacy save layout and the OCI one of newer engines."""
    data = b"".join(client.images.get(ref).save(named=False))
    files: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                for member in inner.getmembers():
                    path = member.name.removeprefix("./").rstrip("/")
                    parent, _, base = path.rpartition("/")
                    if base == ".wh..wh..opq":
                        for name in [n for n in files if n.startswith(parent + "/")]:
                            del files[name]
                    elif base.startswith(".wh."):
                        gone = f"{parent}/{base[4:]}".lstrip("/")
                        for name in [n for n in files if n == gone or n.startswith(gone + "/")]:
                            del files[name]
                    elif path:
                        files[path] = member
    return files
