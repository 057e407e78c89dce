"""Where the desired state comes from: the commit, branch and dirty flag of the git repository that
holds the state directory (GitPython), for every plan (SPEC §3.2 `state.git`)."""

from __future__ import annotations

import os
from pathlib import Path

import git

from reconciler.plan.schema import GitInfo


def repository_of(directory: Path) -> git.Repo | None:
    try:
        return git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    except git.GitCommandNotFound:
        return None


def project_root(directory: Path) -> Path:
    """The git top level that holds ``directory``, else its parent (as cost doc paths are read)."""
    repo = repository_of(directory)
    if repo is not None and repo.working_tree_dir is not None:
        with repo:
            return Path(repo.working_tree_dir).resolve()
    return directory.resolve().parent


def recorded_state_dir(directory: Path) -> str:
    """What a plan records as its state directory: relative to the project root, so that a plan saved
    in one checkout applies from another (CI plans in one workspace and applies in another)."""
    return directory.resolve().relative_to(project_root(directory)).as_posix()


def saved_state_dir(recorded: str) -> Path:
    """Where a saved plan's state directory is from here: under the git top level of the current
    directory if it is there, else under the current directory (an absolute path, from an older
    plan, as is). Run `apply PLANFILE` anywhere in the repository the plan was made of."""
    path = Path(recorded)
    if path.is_absolute():
        return path
    here = Path.cwd()
    repo = repository_of(here)
    if repo is not None and repo.working_tree_dir is not None:
        with repo:
            in_repository = Path(repo.working_tree_dir) / path
        if in_repository.is_dir():
            return Path(os.path.relpath(in_repository, here))
    return path


def git_info(directory: Path) -> GitInfo | None:
    """None when the directory is in no repository, or the repository has no commit yet. Dirty
    means a change under the state directory (staged, unstaged or untracked, but not reconcile's own
    .reconcile.* records) — changes elsewhere in the repository do not make a plan of this state less
    true."""
    repo = repository_of(directory)
    if repo is None:
        return None
    with repo:
        try:
            commit = repo.head.commit.hexsha
        except ValueError:
            return None  # no commit yet
        branch = None if repo.head.is_detached else repo.active_branch.name
        inside = str(directory.resolve().relative_to(Path(repo.working_tree_dir or directory).resolve()))
        untracked = [path for path in repo.untracked_files if _under(path, inside) and not _ours(path)]
        dirty = repo.is_dirty(untracked_files=False, path=inside) or bool(untracked)
    return GitInfo(commit=commit, branch=branch, dirty=dirty)


def _under(path: str, directory: str) -> bool:
    return directory == "." or path == directory or path.startswith(directory.rstrip("/") + "/")


def _ours(path: str) -> bool:
    """The lock, its holder, the restart ledger and the other records reconcile keeps beside the
    state: never a change to the state, whether or not the repository ignores them."""
    return Path(path).name.startswith(".reconcile.")
