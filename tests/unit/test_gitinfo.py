"""state.git: the commit, branch and dirty flag of the repository holding the state directory, from
real (temporary) git repositories."""

from __future__ import annotations

from pathlib import Path

import git

from reconciler.gitinfo import git_info


def repository(tmp_path: Path) -> tuple[git.Repo, Path]:
    repo = git.Repo.init(tmp_path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.invalid")
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "state.yaml").write_text("containers: {}\n")
    (tmp_path / "README.md").write_text("hello\n")
    repo.index.add(["desired_state/state.yaml", "README.md"])
    repo.index.commit("the state")
    return repo, state


def test_outside_a_repository_there_is_no_git_info(tmp_path: Path) -> None:
    assert git_info(tmp_path) is None


def test_a_repository_without_commits_has_no_git_info(tmp_path: Path) -> None:
    git.Repo.init(tmp_path)
    assert git_info(tmp_path) is None


def test_a_clean_checkout_names_its_commit_and_branch(tmp_path: Path) -> None:
    repo, state = repository(tmp_path)
    info = git_info(state)
    assert info is not None
    assert (info.commit, info.branch, info.dirty) == (repo.head.commit.hexsha, "main", False)


def test_an_edit_or_a_new_file_under_the_state_makes_it_dirty(tmp_path: Path) -> None:
    _, state = repository(tmp_path)
    (state / "state.yaml").write_text("containers: {web: {image: x}}\n")
    assert git_info(state).dirty  # type: ignore[union-attr]
    (state / "state.yaml").write_text("containers: {}\n")
    assert not git_info(state).dirty  # type: ignore[union-attr]
    (state / "new.yaml").write_text("hosts: {}\n")
    assert git_info(state).dirty  # type: ignore[union-attr]


def test_a_change_elsewhere_in_the_repository_does_not_make_the_state_dirty(tmp_path: Path) -> None:
    _, state = repository(tmp_path)
    (tmp_path / "README.md").write_text("changed\n")
    assert not git_info(state).dirty  # type: ignore[union-attr]


def test_a_detached_head_has_no_branch(tmp_path: Path) -> None:
    repo, state = repository(tmp_path)
    repo.git.checkout(repo.head.commit.hexsha)
    info = git_info(state)
    assert info is not None and info.branch is None and info.commit == repo.head.commit.hexsha


def test_reconciles_own_records_beside_the_state_do_not_make_it_dirty(tmp_path: Path) -> None:
    _, state = repository(tmp_path)
    for name in (".reconcile.lock", ".reconcile.lock.info", ".reconcile.restarts.json", ".reconcile.applied"):
        (state / name).write_text("{}")
    assert not git_info(state).dirty  # type: ignore[union-attr]
