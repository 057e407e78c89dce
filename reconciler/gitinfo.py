"""Where the desired state comes from: the commit, branch and dirty flag of the git repository that
holds the state directory (GitPython), for every plan (SPEC §3.2 `state.git`).

GitPython is imported only for a directory inside a repository (it runs `git version` as it is
imported, and fails with an ImportError when there is no `git` binary): without git, `state.git`
is left out and the caller is told in one line.

Git runs only on a repository the user owns and never on an unpacked pull request's tree
(pr_tree.MARKER), and always with options that run nothing a repository's config names and write
nothing into it: `core.fsmonitor` off, no hooks, no optional locks (so `git status` leaves
`.git/index` as it is)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.model.refs import repository_root
from reconciler.plan.schema import GitInfo
from reconciler.pr_tree import MARKER

if TYPE_CHECKING:
    import git

NO_GIT = "no `git` binary on PATH: the plan's state.git (commit, branch, dirty) is left out"
SAFE_GIT = {  # command-line config (GIT_CONFIG_*) outranks the repository's own .git/config
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "core.fsmonitor",
    "GIT_CONFIG_VALUE_0": "false",
    "GIT_CONFIG_KEY_1": "core.hooksPath",
    "GIT_CONFIG_VALUE_1": os.devnull,
}


def _top_level(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` with a `.git` (a directory, or the file of a
    worktree or submodule), else None; None too inside an unpacked pull request (its tree is data)."""
    root = repository_root(directory)
    if (root / MARKER).is_file():
        return None  # a .git that got into an unpacked tree some other way is never run
    return root if (root / ".git").exists() else None


def _git_binary() -> str | None:
    return os.environ.get("GIT_PYTHON_GIT_EXECUTABLE") or shutil.which("git")


def repository_of(directory: Path, say: Callable[[str], None] = lambda _: None) -> git.Repo | None:
    top = _top_level(directory)
    if top is None:
        return None
    if (top / ".git").stat().st_uid != os.getuid():
        say(f"{top / '.git'} is not yours: git is not run on it, and the plan's state.git is left out")
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
        repo = git.Repo(directory, search_parent_directories=True)
        repo.git.update_environment(**SAFE_GIT)
        return repo
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    except git.GitCommandNotFound:
        say(NO_GIT)
        return None


def tracked(path: Path) -> bool:
    """Does git track ``path`` (in the index of the repository that holds it)? `git ls-files`, which
    reads the index and writes nothing."""
    repo = repository_of(path.parent)
    if repo is None:
        return False
    with repo:
        try:
            relative = path.resolve().relative_to(Path(repo.working_tree_dir or path.parent).resolve()).as_posix()
        except ValueError:
            return False
        return bool(repo.git.ls_files("-z", "--full-name", "--", f":(literal){relative}"))


def project_root(directory: Path) -> Path:
    """The root of the unpacked pull request that holds ``directory``, else the git top level that
    holds it (where its `.git` is), else its parent (as cost doc paths are read). Found without git
    or GitPython: every plan records it."""
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
        dirty = any(not _ours(path) for path in _changed(repo, inside))
    return GitInfo(commit=commit, branch=branch, dirty=dirty)


def _changed(repo: git.Repo, inside: str) -> list[str]:
    """The paths under ``inside`` that are staged, unstaged or untracked: one `git status`, which
    (unlike `git diff`) leaves the index as it is when optional locks are off."""
    listed = repo.git.status("--porcelain", "-z", "--untracked-files=all", "--", inside).split("\0")
    paths, entries = [], iter(listed)
    for entry in entries:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":
            next(entries, None)  # a rename's or copy's source path follows
    return paths


def no_commit_reason(directory: Path) -> str:
    """Why git_info found no commit for ``directory``, in words a user can act on."""
    if _top_level(directory) is None:
        return "the state directory is not in a git repository"
    if _git_binary() is None:
        return "there is no `git` binary on PATH to read the state directory's commit"
    return "the state directory's git repository has no commit yet"


def _ours(path: str) -> bool:
    """The lock, its holder, the restart ledger and the other records reconcile keeps beside the
    state: never a change to the state, whether or not the repository ignores them."""
    return Path(path).name.startswith(".reconcile.")
