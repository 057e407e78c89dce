"""The pull request's tree as the unprivileged CI job packed it, unpacked by the privileged one.

Everything in the artifact is untrusted: whoever opens a pull request controls the job that made it
(it runs the pull request's own workflow file). So it is read as data and held to a shape: a zip
with exactly `pr-number`, `head-sha` and `tree.tar` (`git archive` of the pull request's merge
commit); the tar may hold regular files and directories only, each under the destination (no
absolute path, no `..`, no link of any kind, no device), within size and count limits, and none of
them git metadata (`.git` anywhere) or one of reconcile's records (`.reconcile.*`). Nothing is
extracted by a library that could follow a link or write outside the destination. The unpacked tree
carries pr_tree.MARKER: plan runs no git on it and reads no record from it."""

from __future__ import annotations

import io
import re
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.errors import ReconcileError
from reconciler.pr_tree import MARKER, forbidden_part

MEMBERS = {"pr-number", "head-sha", "tree.tar"}
MAX_TREE_BYTES = 200 * 1024 * 1024  # the whole tar, unpacked
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class PullRequestState:
    number: int
    head_sha: str
    root: Path  # the unpacked tree; its desired_state/ is the state to plan


def _refuse(why: str) -> ReconcileError:
    return ReconcileError(f"refusing the pull request's artifact: {why}")


def _read_zip(archive: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(archive) as packed:
            infos = [info for info in packed.infolist() if not info.is_dir()]  # a folder entry carries nothing
            names = {info.filename for info in infos}
            if names != MEMBERS or len(infos) != len(MEMBERS):
                raise _refuse(f"expected exactly {sorted(MEMBERS)}, found {sorted(names)[:10]}")
            if sum(info.file_size for info in infos) > MAX_TREE_BYTES:
                raise _refuse(f"more than {MAX_TREE_BYTES:,} bytes")
            return {info.filename: packed.read(info) for info in infos}
    except (zipfile.BadZipFile, OSError) as error:
        raise _refuse(f"not a readable zip ({error})") from None


def _field(data: bytes, name: str, pattern: str) -> str:
    text = data.decode("ascii", errors="replace").strip()
    if not re.fullmatch(pattern, text):
        raise _refuse(f"{name} is not {pattern}")
    return text


def _safe_name(member: tarfile.TarInfo) -> PurePosixPath:
    name = PurePosixPath(member.name)
    parts = [part for part in name.parts if part != "."]
    if name.is_absolute() or not parts or ".." in parts or any("\\" in part or "\0" in part for part in parts):
        raise _refuse(f"the path {member.name!r} is outside the tree")
    if (why := forbidden_part(tuple(parts))) is not None:
        raise _refuse(f"{member.name!r}: {why}")
    return PurePosixPath(*parts)


def _unpack_tree(data: bytes, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=False)
    (destination / MARKER).write_text("an unpacked pull request: data, never a repository\n")
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tree:
            for count, member in enumerate(tree, start=1):
                if count > MAX_ENTRIES:
                    raise _refuse(f"more than {MAX_ENTRIES:,} entries")
                if member.name in ("pax_global_header",) or member.type in (tarfile.XGLTYPE, tarfile.XHDTYPE):
                    continue
                relative = _safe_name(member)
                target = destination.joinpath(*relative.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg():
                    raise _refuse(f"{member.name!r} is a link or a special file; the tree may hold files and directories only")
                if member.size > MAX_FILE_BYTES or total + member.size > MAX_TREE_BYTES:
                    raise _refuse(f"{member.name!r} makes the tree too large")
                total += member.size
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.parent.resolve().is_relative_to(destination.resolve()):
                    raise _refuse(f"the path {member.name!r} is outside the tree")
                source = tree.extractfile(member)
                assert source is not None  # a regular file always has contents
                with open(target, "xb") as written:  # never through an existing file or link
                    written.write(source.read())
                target.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    except (tarfile.TarError, FileExistsError) as error:
        raise _refuse(f"not a well-formed tar ({error})") from None


@dataclass(frozen=True)
class Claims:
    """What the artifact says it is (checked in shape here; the workflow checks it is this run's)."""

    number: int
    head_sha: str
    tree: bytes


def read_claims(archive: Path) -> Claims:
    members = _read_zip(archive)
    number = int(_field(members["pr-number"], "pr-number", r"[1-9][0-9]{0,9}"))
    head_sha = _field(members["head-sha"], "head-sha", r"[0-9a-f]{40}")
    return Claims(number, head_sha, members["tree.tar"])


def unpack_tree(claims: Claims, destination: Path) -> PullRequestState:
    """The tree under ``destination`` (which must not exist yet). Raises ReconcileError, having
    written nothing outside ``destination``."""
    _unpack_tree(claims.tree, destination)
    return PullRequestState(claims.number, claims.head_sha, destination)


def unpack(archive: Path, destination: Path) -> PullRequestState:
    """The pull request's number, head commit and tree, unpacked under ``destination``."""
    return unpack_tree(read_claims(archive), destination)
