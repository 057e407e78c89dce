"""What a container bind-mounts from the repository, hashed (kinds/container/bind_files.py): the bounds,
links, what is never read, the findings, and the field a plan names."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.clients.disk import local_engine
from reconciler.kinds.container import bind_files as module
from reconciler.kinds.container.bind_files import bind_files, bind_findings, recorded_files
from reconciler.kinds.container.view import compare
from reconciler.units import VolumeMount


def bind(source: Path, target: str = "/etc/app") -> VolumeMount:
    return VolumeMount(str(source), target, read_only=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "app.conf").write_text("a = 1\n")
    return root


def test_a_file_and_a_directory_are_hashed_by_their_paths_in_the_repository(repository: Path) -> None:
    (repository / "conf" / "rules").mkdir()
    (repository / "conf" / "rules" / "one.yml").write_text("x\n")
    files = bind_files((bind(repository / "conf" / "app.conf"), bind(repository / "conf" / "rules", "/r")), repository)
    assert sorted(files.digests) == ["conf/app.conf", "conf/rules/one.yml"]
    before = dict(files.digests)
    (repository / "conf" / "app.conf").write_text("a = 2\n")
    after = bind_files((bind(repository / "conf" / "app.conf"), bind(repository / "conf" / "rules", "/r")), repository)
    changed = compare({"files": after.digests}, {"files": recorded_files(files.label())})
    assert [(c.path, c.before, c.after, c.in_place) for c in changed] == [
        ("files.conf/app.conf", before["conf/app.conf"], after.digests["conf/app.conf"], False)
    ]


def test_a_link_inside_a_mounted_directory_is_hashed_by_its_target_never_followed(repository: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (repository / "conf" / "leak").symlink_to(outside)
    first = bind_files((bind(repository / "conf"),), repository).digests
    outside.write_text("another secret\n")
    assert bind_files((bind(repository / "conf"),), repository).digests == first
    assert "conf/leak" in first


def test_past_the_bounds_nothing_is_hashed_and_a_warning_says_why(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_FILES", 3)
    for index in range(4):
        (repository / "conf" / f"f{index}").write_text("x")
    files = bind_files((bind(repository / "conf"),), repository)
    assert files.digests == {} and files.label() == {}
    assert "more than 3 files under conf" in files.too_large
    [finding] = bind_findings("container.app", files, True, repository)
    assert (finding.severity, finding.code) == ("warning", "bind-files-not-hashed")


def test_a_named_volume_and_a_host_path_are_not_the_repositorys(repository: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "host.conf").write_text("h")
    files = bind_files((VolumeMount("data", "/data"), bind(elsewhere / "host.conf")), repository)
    assert files.digests == {} and files.sources == ()
    assert bind_findings("container.app", files, False, repository) == []  # on a remote host: the host's own path


def test_a_repository_source_on_a_remote_host_is_an_error_naming_it(repository: Path) -> None:
    files = bind_files((bind(repository / "conf" / "app.conf"),), repository)
    [finding] = bind_findings("container.app", files, False, repository)
    assert (finding.severity, finding.code) == ("error", "bind-from-repository-on-remote-host")
    assert "conf/app.conf" in finding.message and "configs:" in (finding.remedy or "")


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("unix:///var/run/docker.sock", True),
        ("tcp://127.0.0.1:2376", True),
        ("ssh://deploy@vps", False),
        ("tcp://10.0.0.5:2376", False),
    ],
)
def test_which_engines_are_this_machine(url: str, local: bool) -> None:
    assert local_engine(url) is local
