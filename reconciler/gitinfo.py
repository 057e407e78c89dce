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
    means a change under the state directory (staged, unstaged or untracked) — changes elsewhere in
    the repository do not make a plan of this state less true."""
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
        dirty = repo.is_dirty(untracked_files=True, path=inside)
    return GitInfo(commit=commit, branch=branch, dirty=dirty)
