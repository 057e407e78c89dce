"""The pull request's artifact, unpacked by the privileged plan job: whoever opens the pull request
made it, so anything but the expected shape is refused before a byte lands outside the destination."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from reconciler.errors import ReconcileError
from reconciler.pr_state import unpack

SHA = "0123456789abcdef0123456789abcdef01234567"


def tar_of(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tree:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tree.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def artifact(path: Path, tree: bytes, number: str = "42", head: str = SHA, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as packed:
        packed.writestr("pr-number", number + "\n")
        packed.writestr("head-sha", head + "\n")
        packed.writestr("tree.tar", tree)
        for name, data in (extra or {}).items():
            packed.writestr(name, data)
    return path


def test_git_archive_of_a_repository_unpacks_with_its_number_and_head(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "desired_state").mkdir(parents=True)
    (repo / "desired_state" / "state.yaml").write_text("containers: {}\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], check=True)
    tree = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "HEAD"], capture_output=True, check=True).stdout
    state = unpack(artifact(tmp_path / "a.zip", tree), tmp_path / "pr")
    assert (state.number, state.head_sha) == (42, SHA)
    assert (tmp_path / "pr" / "desired_state" / "state.yaml").read_text() == "containers: {}\n"


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([(entry("../escape.yaml"), b"x")], "outside the tree"),
        ([(entry("/etc/cron.d/x"), b"x")], "outside the tree"),
        ([(entry("desired_state/../../x"), b"x")], "outside the tree"),
        ([(entry("desired_state/link.yaml", tarfile.SYMTYPE, "/home/runner/.aws/credentials"), b"")], "a link"),
        ([(entry("docs", tarfile.SYMTYPE, "/tmp"), b""), (entry("docs/costs.md"), b"x")], "a link"),
        ([(entry("a"), b"x"), (entry("b", tarfile.LNKTYPE, "a"), b"")], "a link"),
        ([(entry("dev", tarfile.CHRTYPE), b"")], "special file"),
        ([(entry("a"), b"x"), (entry("a"), b"y")], "well-formed"),
    ],
)
def test_anything_but_files_and_directories_inside_the_tree_is_refused(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]], why: str
) -> None:
    with pytest.raises(ReconcileError, match=why):
        unpack(artifact(tmp_path / "a.zip", tar_of(*members)), tmp_path / "out" / "pr")
    assert not (tmp_path / "escape.yaml").exists() and not (tmp_path / "out" / "escape.yaml").exists()
    assert not any(path.is_symlink() for path in (tmp_path / "out").rglob("*"))


@pytest.mark.parametrize(
    ("number", "head", "extra", "why"),
    [
        ("42; rm -rf /", SHA, None, "pr-number"),
        ("42\nhead_sha=evil", SHA, None, "pr-number"),
        ("42", "HEAD", None, "head-sha"),
        ("42", SHA, {"../x": b"x"}, "expected exactly"),
    ],
)
def test_the_number_and_head_must_be_what_they_say(
    tmp_path: Path, number: str, head: str, extra: dict[str, bytes] | None, why: str
) -> None:
    with pytest.raises(ReconcileError, match=why):
        unpack(artifact(tmp_path / "a.zip", tar_of((entry("a"), b"x")), number, head, extra), tmp_path / "pr")


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_text("<html>rate limited</html>")
    with pytest.raises(ReconcileError, match="not a readable zip"):
        unpack(tmp_path / "a.zip", tmp_path / "pr")
