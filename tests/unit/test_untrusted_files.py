"""What a pull request's desired state may make reconcile read: env_file stays in the repository and
quotes nothing of a line it cannot read; nesting of variables is bounded; an image reference is
checked where it is written (issue 23, files and hosts)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.model.load import load_state

PRIVATE_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACD+/canaryQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB==
-----END OPENSSH PRIVATE KEY-----
"""


def repository(tmp_path: Path) -> Path:
    """A git repository with its state in desired_state/ (as CI checks it out)."""
    top = tmp_path / "repo"
    (top / "desired_state").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(top)], check=True)
    return top


def errors_of(state_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_state(state_dir, environ={}, mode="plan")
    return [str(d) for d in caught.value.diagnostics]


def with_env_file(top: Path, reference: str) -> Path:
    state_dir = top / "desired_state"
    (state_dir / "state.yaml").write_text(f"containers:\n  web:\n    image: app:1\n    env_file: {reference}\n")
    return state_dir


@pytest.mark.parametrize(
    "reference",
    ["SECRET", "~/secret.env", "../../secret.env", "[app.env, 'SECRET']", "[{path: 'SECRET', required: false}]"],
)
def test_an_env_file_outside_the_repository_is_a_located_error_and_never_read(
    tmp_path: Path, reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = repository(tmp_path)
    (top / "desired_state" / "app.env").write_text("A=1\n")
    secret = tmp_path / "secret.env"
    secret.write_text("AWS_SECRET_ACCESS_KEY=canary-outside\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.env").write_text("HOME_KEY=canary-home\n")
    monkeypatch.setenv("HOME", str(home))
    [message] = errors_of(with_env_file(top, reference.replace("SECRET", str(secret))))
    assert message.startswith(f"{top / 'desired_state' / 'state.yaml'}:4:")
    assert "outside the repository" in message
    assert "canary" not in message


def test_proc_environ_cannot_be_read_through_env_file(tmp_path: Path) -> None:
    [message] = errors_of(with_env_file(repository(tmp_path), f"/proc/{os.getpid()}/environ"))
    assert "outside the repository" in message and "PATH=" not in message


def test_a_symlink_out_of_the_repository_is_outside_it(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (tmp_path / "id_ed25519").write_text(PRIVATE_KEY)
    (top / "desired_state" / "innocent.env").symlink_to(tmp_path / "id_ed25519")
    [message] = errors_of(with_env_file(top, "innocent.env"))
    assert "state.yaml:4:" in message and "outside the repository" in message
    assert "b3Blbn" not in message and "canary" not in message


def test_an_env_file_elsewhere_in_the_repository_is_read(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (top / "config").mkdir()
    (top / "config" / "web.env").write_text("# shared\nexport LEVEL=debug\nNAME='web'\n")
    (top / "desired_state" / "link.env").symlink_to(top / "config" / "web.env")
    for reference in ("../config/web.env", "link.env"):
        environment = load_state(with_env_file(top, reference), environ={}).state.containers["web"].environment
        assert {key: value.reveal() for key, value in environment.items()} == {"LEVEL": "debug", "NAME": "web"}  # type: ignore[union-attr]


def test_a_line_that_is_not_key_value_is_located_and_nothing_of_it_is_shown(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (top / "desired_state" / "key.env").write_text("# a deploy key, by mistake\n\nGOOD=1\n" + PRIVATE_KEY)
    [message] = errors_of(with_env_file(top, "key.env"))
    assert message.startswith(f"{top / 'desired_state' / 'state.yaml'}:4:")
    assert "key.env:4:" in message  # the env file's line: the BEGIN line
    for line in PRIVATE_KEY.splitlines():
        for piece in line.split("-"):
            assert len(piece) < 6 or piece not in message, piece


@pytest.mark.parametrize(("text", "line"), [("A=1\nBARE\n", 2), ("A=1\n\n\nQyNT+/x==\n", 4), ("  not a line at all\n", 1)])
def test_each_kind_of_bad_line_names_its_line(tmp_path: Path, text: str, line: int) -> None:
    top = repository(tmp_path)
    (top / "desired_state" / "bad.env").write_text(text)
    [message] = errors_of(with_env_file(top, "bad.env"))
    assert f"bad.env:{line}: not KEY=VALUE" in message
    assert "BARE" not in message and "QyNT" not in message and "not a line" not in message.split("not KEY")[0]


def test_nesting_of_variables_is_bounded_and_located(tmp_path: Path) -> None:
    depth = 3000
    image = "${A:-" * depth + "app:1" + "}" * depth
    (tmp_path / "state.yaml").write_text(f'containers:\n  web:\n    image: "{image}"\n')
    [message] = errors_of(tmp_path)
    assert message.startswith(f"{tmp_path / 'state.yaml'}:3:") and "nested more than" in message


def test_nesting_that_real_states_use_still_works(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text('containers:\n  web:\n    image: "app:${A:-${B:-${C:-1}}}"\n')
    assert load_state(tmp_path, environ={"B": "2"}).state.containers["web"].image == "app:2"


@pytest.mark.parametrize(
    "image", ["UPPER/Case::bad", "app::1", "Nginx", "a___b:1", "app:" + "x" * 129, "app@sha256:" + "a" * 32, "a" * 238]
)
def test_a_bad_image_reference_is_an_error_at_that_container(tmp_path: Path, image: str) -> None:
    (tmp_path / "state.yaml").write_text(f'containers:\n  good:\n    image: app:1\n  bad:\n    image: "{image}"\n')
    [message] = errors_of(tmp_path)
    assert message.startswith(f"{tmp_path / 'state.yaml'}:5:") and "containers.bad.image: invalid image reference" in message


@pytest.mark.parametrize(
    "image",
    ["nginx", "busybox:1.36", "localhost:5000/team/app:v1.2", "ghcr.io/org/app@sha256:" + "a" * 64, "reconciler-demo/frontend:1"],
)
def test_good_image_references_are_accepted(tmp_path: Path, image: str) -> None:
    (tmp_path / "state.yaml").write_text(f'containers:\n  web:\n    image: "{image}"\n')
    assert load_state(tmp_path, environ={}).state.containers["web"].image == image


@pytest.mark.parametrize("path", [".github/CODEOWNERS", "README.md", "desired_state/costs.md", "docs", "docsx/costs.md"])
def test_a_cost_doc_outside_the_docs_directory_is_a_located_error(tmp_path: Path, path: str) -> None:
    top = repository(tmp_path)
    (top / "desired_state" / "state.yaml").write_text(f"cost_docs:\n  - path: docs/costs.md\n  - path: {path}\n")
    [message] = errors_of(top / "desired_state")
    assert message.startswith(f"{top / 'desired_state' / 'state.yaml'}:3:")
    assert f"cost_docs[1].path: {path!r} is not under the repository's docs/ directory" in message


def test_a_cost_doc_that_links_out_of_the_docs_directory_is_a_located_error(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (top / ".github").mkdir()
    (top / ".github" / "CODEOWNERS").write_text("* @owners\n")
    (top / "docs").mkdir()
    (top / "docs" / "costs.md").symlink_to(top / ".github" / "CODEOWNERS")
    (top / "desired_state" / "state.yaml").write_text("cost_docs:\n  - path: docs/costs.md\n")
    [message] = errors_of(top / "desired_state")
    assert "state.yaml:2:" in message and "not under the repository's docs/ directory" in message


def test_cost_docs_under_docs_are_accepted(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (top / "desired_state" / "state.yaml").write_text("cost_docs:\n  - path: docs/costs.md\n  - path: docs/team/q3.md\n")
    docs = load_state(top / "desired_state", environ={}).state.cost_docs
    assert [doc.path for doc in docs] == ["docs/costs.md", "docs/team/q3.md"]


def with_user_data_file(top: Path, reference: str) -> Path:
    state_dir = top / "desired_state"
    (state_dir / "state.yaml").write_text(
        f"ec2_instances:\n  worker:\n    region: us-east-1\n    instance_type: t3.micro\n    ami: ami-12345678\n"
        f"    user_data_file: {reference}\n"
    )
    return state_dir


def test_a_user_data_file_that_links_out_of_the_repository_is_a_located_error(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (tmp_path / "id_ed25519").write_text(PRIVATE_KEY)
    (top / "desired_state" / "boot.sh").symlink_to(tmp_path / "id_ed25519")
    [message] = errors_of(with_user_data_file(top, "boot.sh"))
    assert "state.yaml:6:" in message and "outside the repository" in message and "b3Blbn" not in message


def test_a_user_data_file_of_the_repository_is_accepted(tmp_path: Path) -> None:
    top = repository(tmp_path)
    (top / "desired_state" / "boot.sh").write_text("#!/bin/sh\necho hello\n")
    assert load_state(with_user_data_file(top, "boot.sh"), environ={}, mode="plan").state.ec2_instances["worker"]
