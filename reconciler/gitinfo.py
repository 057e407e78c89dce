"""Where the desired state comes from: the commit, branch and dirty flag of the git repository that
holds the state directory (GitPython), for every plan (SPEC §3.2 `state.git`)."""

from __future__ import annotations

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
