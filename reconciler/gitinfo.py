"""Where the desired state comes from: the commit, branch and dirty flag of the git repository that
holds the state directory (GitPython), for every plan (SPEC §3.2 `state.git`).

GitPython is imported only for a directory inside a repository (it runs `git version` as it is
imported, and fails with an ImportError when there is no `git` binary): without git, `state.git`
is left out and the caller is told in one line."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.model.refs import repository_root
from reconciler.plan.schema import GitInfo

if TYPE_CHECKING:
    import git

NO_GIT = "no `git` binary on PATH: the plan's state.git (commit, branch, dirty) is left out"


def _top_level(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` with a `.git` (a directory, or the file of a
    worktree or submodule), else None."""
    resolved = directory.resolve()
    return next((candidate for candidate in (resolved, *resolved.parents) if (candidate / ".git").exists()), None)


def _git_binary() -> str | None:
    return os.environ.get("GIT_PYTHON_GIT_EXECUTABLE") or shutil.which("git")


def repository_of(directory: Path, say: Callable[[str], None] = lambda _: None) -> git.Repo | None:
    if _top_level(directory) is None:
        return None
    if _git_binary() is None:
        say(NO_GIT)
        return None
    try:
        import git
    except ImportError:  # a `git` that does not run
        say(NO_GIT)
        return None
    try:
        return git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    except git.GitCommandNotFound:
        say(NO_GIT)
        return None


def project_root(directory: Path) -> Path:
    """The git top level that holds ``directory`` (where its `.git` is), else its parent (as cost
    doc paths are read). Found without git or GitPython: every plan records it."""
    return repository_root(directory)


def recorded_state_dir(directory: Path) -> str:
    """What a plan records as its state directory: relative to the project root, so that a plan saved
    in one checkout applies from another (CI plans in one workspace and applies in another)."""
    return directory.resolve().relative_to(project_root(directory)).as_posix()


def saved_state_dir(recorded: str, made_at: str | None = None) -> Path:
    """Where a saved plan's state directory is from here: under the git top level of the current
    directory, else under the current directory, else where the plan was made (``made_at``, the
    absolute path it recorded), in that order; an absolute ``recorded`` (an older plan) as is. Run
    `apply PLANFILE` in any checkout of the repository the plan was made of, or anywhere on the
    machine that made it."""
    path = Path(recorded)
    if path.is_absolute():
        return path
    here = Path.cwd()
    top = _top_level(here)
    if top is not None and (top / path).is_dir():
        return Path(os.path.relpath(top / path, here))
    if path.is_dir() or made_at is None or not Path(made_at).is_dir():
        return path
    return Path(made_at)


def git_info(directory: Path, say: Callable[[str], None] = lambda _: None) -> GitInfo | None:
    """None when the directory is in no repository, the repository has no commit yet, or there is
    no `git` to ask (then ``say`` is told why). Dirty means a change under the state directory
    (staged, unstaged or untracked, but not reconcile's own .reconcile.* records) — changes
    elsewhere in the repository do not make a plan of this state less true."""
    repo = repository_of(directory, say)
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


def no_commit_reason(directory: Path) -> str:
    """Why git_info found no commit for ``directory``, in words a user can act on."""
    if _top_level(directory) is None:
        return "the state directory is not in a git repository"
    if _git_binary() is None:
        return "there is no `git` binary on PATH to read the state directory's commit"
    return "the state directory's git repository has no commit yet"


def _under(path: str, directory: str) -> bool:
    return directory == "." or path == directory or path.startswith(directory.rstrip("/") + "/")


def _ours(path: str) -> bool:
    """The lock, its holder, the restart ledger and the other records reconcile keeps beside the
    state: never a change to the state, whether or not the repository ignores them."""
    return Path(path).name.startswith(".reconcile.")
