"""`reconcile validate`, `--version`, `--help` and the error edge, as a user runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler import __version__
from tests.cli.conftest import EXAMPLE, EXAMPLE_ENV, Run


def test_the_example_is_valid(reconcile: Run) -> None:
    result = reconcile("validate", str(EXAMPLE), env=EXAMPLE_ENV)
    assert result.returncode == 0, result.stderr
    assert "valid (6 files): 1 host, 4 containers, 1 disk budget, 2 EC2 instances, 1 S3 bucket, 2 cost docs" in result.stdout


def test_the_directory_defaults_to_desired_state_then_the_environment(reconcile: Run, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "desired_state")
    assert reconcile("validate", env=EXAMPLE_ENV).returncode == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.yaml").write_text("containers:\n  web: {image: app:1, state: gone}\n")
    result = reconcile("validate", env={**EXAMPLE_ENV, "RECONCILE_STATE_DIR": "other"})
    assert result.returncode == 1
    assert "other/a.yaml:2:30: containers.web.state: invalid value 'gone'" in result.stderr


def test_every_error_is_printed_with_its_place_and_exit_1(reconcile: Run, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "a.yaml").write_text(
        "containers:\n  web:\n    image: app:1\n    helthcheck: {test: [NONE]}\n    restart: sometimes\n"
    )
    result = reconcile("validate", "state")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "state/a.yaml:4:5: containers.web.helthcheck: unknown key 'helthcheck' (did you mean 'healthcheck'?)"
    assert lines[1].startswith("state/a.yaml:5:14: containers.web.restart: invalid restart policy 'sometimes'")
    assert lines[2] == "2 errors in the desired state"
    assert result.stdout == ""


def test_a_secret_is_never_printed_even_next_to_an_error(reconcile: Run, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(EXAMPLE, state)
    with (state / "vps" / "containers.yaml").open("a") as file:
        file.write(
            "  broken:\n    image: x:1\n    command: ${REDIS_PASSWORD}\n    environment: {A: '${REDIS_PASSWORD}x'}\n    labels: {a: '${REDIS_PASSWORD}'}\n"
        )
    result = reconcile("validate", "state", env=EXAMPLE_ENV)
    assert result.returncode == 1
    assert "containers.broken.labels.a: this value uses a secret (settings.secrets)" in result.stderr
    assert EXAMPLE_ENV["REDIS_PASSWORD"] not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nowhere"], "error: nowhere: no such directory"),
        (["validate", "empty"], "error: empty: no *.yaml or *.yml files"),
        (["validate", "--frobnicate"], "No such option: --frobnicate"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_usage_and_setup_errors_exit_1_without_a_traceback(reconcile: Run, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    result = reconcile(*args)
    assert result.returncode == 1  # never 2: with --detailed-exitcode, 2 means "changes"
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help(reconcile: Run) -> None:
    assert reconcile("--version").stdout.strip() == f"reconcile {__version__}"
    help_text = reconcile("--help").stdout
    assert "validate" in help_text and "schema" in help_text


def test_a_bug_is_one_line_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An internal error (simulated by breaking the loader) never shows a traceback unless asked."""
    from reconciler import cli

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("reconciler.model.load.load_state", broken)  # validate imports it when it runs
    for argv, shows_traceback in ((["reconcile", "validate", "."], False), (["reconcile", "--debug", "validate", "."], True)):
        monkeypatch.setattr("sys.argv", argv)
        with pytest.raises(SystemExit) as stop:
            cli.main()
        assert stop.value.code == 1
        stderr = capsys.readouterr().err
        assert "internal error (KeyError); this is a bug in reconcile. Re-run with --debug" in stderr
        assert ("Traceback" in stderr) is shows_traceback
