"""The image reference grammar checked at load (model/fields.py) agrees with the engine: what the
load refuses, the engine answers 400 to (which used to mark the whole host unreachable); what the
load accepts, the engine looks up (found or 404)."""

from __future__ import annotations

import docker
import pytest

from reconciler.model.fields import _image_reference

pytestmark = [pytest.mark.docker]

REFERENCES = [
    "busybox", "busybox:1.36", "reconciler-demo/frontend:1", "localhost:5000/x:1", "localhost/x", "Example.com/x",
    "a.b:80/c", "docker.io/library/busybox", "a__b", "a-b", "a--b", "a.b/c_d", "a/b/c/d:tag@sha256:" + "f" * 64,
    "x:1@sha256:" + "0" * 64, "busybox@sha512:" + "a" * 128, "busybox@sha384:" + "a" * 96, "busybox:" + "x" * 128,
    "a" * 237, "a/" + "b" * 244, "example.com/" + "x" * 243,
    # refused by both
    "UPPER/Case::bad", "Nginx", "foo/Bar", "FOO/bar", "Localhost/x", "a___b", "a..b", "-a", "a-", "a:1:2", "a b",
    "host:port/x", "[::1]:5000/x", "busybox@sha256:" + "a" * 32, "busybox@sha256:" + "A" * 64, "busybox@md5:" + "a" * 32,
    "busybox:" + "x" * 129, "a" * 238, "a/" + "b" * 245, "example.com/" + "x" * 244,
]  # fmt: skip


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r[:40])
def test_the_load_refuses_exactly_what_the_engine_refuses(docker_client: docker.DockerClient, reference: str) -> None:
    try:
        docker_client.api.inspect_image(reference)
        status = 200
    except docker.errors.APIError as error:
        status = error.status_code or 0
    assert status in (200, 404, 400), status
    engine_accepts = status != 400
    try:
        _image_reference(reference)
        load_accepts = True
    except ValueError:
        load_accepts = False
    assert load_accepts == engine_accepts
