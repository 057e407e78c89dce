"""Hostile and broken YAML: every file the loader is handed ends in a ConfigError located in that
file (or, for a directory with nothing to read, a ReconcileError), quickly, and without running
anything the file asks for."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, Diagnostic, ReconcileError
from reconciler.model.load import LoadedState, load_state
from reconciler.model.source import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES


def write(directory: Path, text: str | bytes, name: str = "state.yaml") -> str:
    """Write one state file; returns its display path (what diagnostics name)."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return str(path)


def config_error(directory: Path) -> list[Diagnostic]:
    """The diagnostics load_state raises for ``directory`` (the test fails if it loads)."""
    with pytest.raises(ConfigError) as caught:
        load_state(directory, environ={})
    diagnostics = caught.value.diagnostics
    assert diagnostics
    for diagnostic in diagnostics:
        assert diagnostic.line >= 1
        assert diagnostic.col >= 1
        assert diagnostic.message.strip()
    return diagnostics


def timed_config_error(directory: Path, wall_limit: float, cpu_limit: float | None = None) -> list[Diagnostic]:
    """config_error, within ``wall_limit`` seconds of time.monotonic (a guard against hangs, not a
    benchmark) and, if given, ``cpu_limit`` seconds of this process's CPU time (which other work
    on a shared machine does not inflate)."""
    wall, cpu = time.monotonic(), time.process_time()
    diagnostics = config_error(directory)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    assert wall < wall_limit, f"load_state took {wall:.1f}s (limit {wall_limit}s)"
    if cpu_limit is not None:
        assert cpu < cpu_limit, f"load_state used {cpu:.1f}s of CPU (limit {cpu_limit}s)"
    return diagnostics


# --- resource exhaustion ----------------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    display = write(tmp_path, billion_laughs())
    diagnostics = timed_config_error(tmp_path, wall_limit=2.0)
    assert len(diagnostics) == 1
    (diagnostic,) = diagnostics
    assert diagnostic.file == display
    assert "alias" in diagnostic.message
    assert str(MAX_NODES) in diagnostic.message


def test_billion_laughs_inside_a_section_is_refused_quickly(tmp_path: Path) -> None:
    indented = "".join(f"  {line}\n" for line in billion_laughs().splitlines())
    display = write(tmp_path, "version: 1\nsettings:\n" + indented)
    (diagnostic,) = timed_config_error(tmp_path, wall_limit=2.0)
    assert diagnostic.file == display
    assert "alias" in diagnostic.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("[" * 10_000 + "]" * 10_000 + "\n", 1, id="flow-sequences"),
        pytest.param("a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", 1, id="flow-mappings"),
        pytest.param("x: " + "[" * 10_000 + "\n", 1, id="flow-unclosed"),
        pytest.param("- " * 10_000 + "x\n", 1, id="block-sequences"),
        # 10,000 block mapping levels need 50 MB of indentation, far above the size limit; 1,000 fit.
        pytest.param(
            "".join(" " * level + f"k{level}:\n" for level in range(1_000)) + " " * 1_000 + "x\n",
            MAX_DEPTH + 1,
            id="block-mappings",
        ),
    ],
)
def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path, text: str, line: int) -> None:
    assert len(text.encode()) <= MAX_FILE_BYTES
    display = write(tmp_path, text)
    try:
        diagnostics = timed_config_error(tmp_path, wall_limit=10.0, cpu_limit=3.0)
    except RecursionError:  # pragma: no cover - the failure this test exists for
        pytest.fail("deep nesting reached the recursion limit instead of being refused")
    assert [d.file for d in diagnostics] == [display]
    assert f"nested deeper than {MAX_DEPTH} levels" in diagnostics[0].message
    assert diagnostics[0].line == line


def alias_depth_chain(links: int = 20, depth: int = 60) -> str:
    """Each anchor is ``depth`` levels deep and ends in an alias of the previous one: every piece
    passes the nesting limit, and the few thousand values pass the alias limit, but the document,
    once expanded, is ``links * depth`` levels deep."""
    lines = ["settings:", "  a0: &a0 " + "[" * depth + "1" + "]" * depth]
    for link in range(1, links):
        lines.append(f"  a{link}: &a{link} " + "[" * depth + f"*a{link - 1}" + "]" * depth)
    return "\n".join(lines) + "\n"


def test_deep_nesting_through_aliases_is_refused(tmp_path: Path) -> None:
    display = write(tmp_path, alias_depth_chain())
    diagnostics = timed_config_error(tmp_path, wall_limit=10.0, cpu_limit=3.0)
    assert display in {d.file for d in diagnostics}
    assert any("nested deeper" in d.message or "alias" in d.message for d in diagnostics)


def test_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    body = "# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    assert len(body) > MAX_FILE_BYTES
    display = write(tmp_path, "version: 1\n" + body)
    (diagnostic,) = config_error(tmp_path)
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == (display, 1, 1)
    assert "larger than" in diagnostic.message
    assert f"{MAX_FILE_BYTES >> 20} MiB" in diagnostic.message


def test_file_of_exactly_the_size_cap_is_read(tmp_path: Path) -> None:
    head = "version: 1\n"
    write(tmp_path, head + "#" * (MAX_FILE_BYTES - len(head) - 1) + "\n")
    assert isinstance(load_state(tmp_path, environ={}), LoadedState)


# --- malformed files ------------------------------------------------------------------------------


def test_yaml_syntax_error_is_located_on_its_line(tmp_path: Path) -> None:
    display = write(tmp_path, "version: 1\ncontainers:\n  web: {image: app:1, ports: [80}\nhosts: {}\n")
    (diagnostic,) = config_error(tmp_path)
    assert diagnostic.file == display
    assert diagnostic.line == 3
    assert diagnostic.message.startswith("YAML syntax error")


def test_bad_indentation_is_located_on_its_line(tmp_path: Path) -> None:
    display = write(tmp_path, "containers:\n  web:\n   image: app:1\n    restart: always\n")
    (diagnostic,) = config_error(tmp_path)
    assert (diagnostic.file, diagnostic.line) == (display, 4)
    assert "YAML syntax error" in diagnostic.message


def test_duplicate_key_is_located_at_the_duplicate(tmp_path: Path) -> None:
    display = write(tmp_path, "containers:\n  web:\n    image: app:1\n    restart: always\n    image: app:2\n")
    (diagnostic,) = config_error(tmp_path)
    assert (diagnostic.file, diagnostic.line) == (display, 5)
    assert "duplicate key" in diagnostic.message
    assert "image" in diagnostic.message


def test_duplicate_section_in_one_file_is_located_at_the_duplicate(tmp_path: Path) -> None:
    display = write(tmp_path, "version: 1\ncontainers: {}\nhosts: {}\ncontainers: {}\n")
    (diagnostic,) = config_error(tmp_path)
    assert (diagnostic.file, diagnostic.line) == (display, 4)
    assert "duplicate key" in diagnostic.message
    assert "containers" in diagnostic.message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("- containers\n- hosts\n", id="list"),
        pytest.param("just a string\n", id="scalar"),
        pytest.param("42\n", id="number"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    display = write(tmp_path, text)
    (diagnostic,) = config_error(tmp_path)
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == (display, 1, 1)
    assert "top level must be a mapping" in diagnostic.message


def test_second_document_in_one_file_is_an_error(tmp_path: Path) -> None:
    display = write(tmp_path, "version: 1\n---\ncontainers: {}\n")
    (diagnostic,) = config_error(tmp_path)
    assert (diagnostic.file, diagnostic.line) == (display, 2)
    assert "YAML syntax error" in diagnostic.message


def test_non_utf8_bytes_are_a_located_error(tmp_path: Path) -> None:
    display = write(tmp_path, b"version: 1\nsettings:\n  lock: caf\xe9\n")
    (diagnostic,) = config_error(tmp_path)
    assert diagnostic.file == display
    assert diagnostic.line >= 1
    assert "not UTF-8" in diagnostic.message


def test_non_string_key_is_a_located_error(tmp_path: Path) -> None:
    display = write(tmp_path, "containers:\n  web: {image: app:1}\n  1: x\n")
    diagnostics = config_error(tmp_path)
    assert [(d.file, d.line, d.col) for d in diagnostics] == [(display, 3, 3)]
    assert "keys must be strings" in diagnostics[0].message
    assert "1" in diagnostics[0].message


# --- tags: nothing is constructed or run -----------------------------------------------------------


def test_python_tag_at_top_level_runs_nothing(tmp_path: Path) -> None:
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    display = write(tmp_path, f'!!python/object/apply:os.system ["touch {marker}"]\n')
    try:
        diagnostics = config_error(tmp_path)
        assert not marker.exists(), "a !!python tag ran a command"
    finally:
        marker.unlink(missing_ok=True)
    assert [(d.file, d.line) for d in diagnostics] == [(display, 1)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # refused because image must be a string, not for its tag (see test_tagged_collection_is_a_located_error)
        pytest.param("containers:\n  web:\n    image: !!python/object/apply:os.system ['touch {marker}']\n", 3, id="as-image"),
        pytest.param("containers:\n  web:\n    image: app:1\n    command: !!python/name:os.system\n", 4, id="python-name"),
        pytest.param("containers:\n  web:\n    image: app:1\n    init: !custom 5\n", 4, id="custom-scalar"),
        pytest.param("version: !custom 5\n", 1, id="custom-version"),
        pytest.param("containers:\n  web:\n    image: !!binary aGVsbG8=\n", 3, id="binary"),
        pytest.param("containers:\n  web:\n    image: app:1\n    command: !!set {{a, b}}\n", 4, id="set"),
    ],
)
def test_tagged_value_is_a_located_error(tmp_path: Path, text: str, line: int) -> None:
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    display = write(tmp_path, text.format(marker=marker))
    try:
        diagnostics = config_error(tmp_path)
        assert not marker.exists(), "a !!python tag ran a command"
    finally:
        marker.unlink(missing_ok=True)
    assert {(d.file, d.line) for d in diagnostics} == {(display, line)}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "containers:\n  web:\n    image: app:1\n    command: !!python/object/apply:os.system ['touch {marker}']\n",
            id="python-apply-as-command",
        ),
        pytest.param("containers:\n  web: !!python/object:os.system {{image: app:1}}\n", id="python-object-mapping"),
        pytest.param("containers:\n  web:\n    image: app:1\n    labels: !custom {{team: ops}}\n", id="custom-mapping"),
        pytest.param("!custom {{version: 1}}\n", id="custom-top-level"),
    ],
)
def test_tagged_collection_is_a_located_error(tmp_path: Path, text: str) -> None:
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    display = write(tmp_path, text.format(marker=marker))
    try:
        with pytest.raises(ConfigError) as caught:
            load_state(tmp_path, environ={})
        assert not marker.exists(), "a !!python tag ran a command"
    finally:
        marker.unlink(missing_ok=True)
    assert {d.file for d in caught.value.diagnostics} == {display}


def test_tagged_collection_runs_nothing(tmp_path: Path) -> None:
    """Whatever the fate of the tag, the command in it is never run."""
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    write(tmp_path, f"containers:\n  web:\n    image: app:1\n    command: !!python/object/apply:os.system ['touch {marker}']\n")
    try:
        with contextlib.suppress(ConfigError):
            load_state(tmp_path, environ={})
        assert not marker.exists(), "a !!python tag ran a command"
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("version: 0x_\n", id="hex-int-of-underscores"),
        pytest.param("version: !!bool 1\n", id="bool-tag-on-non-bool"),
        pytest.param("settings: !!omap 1\n", id="omap-tag-on-scalar"),
        pytest.param("settings: {[a: 1]: 1}\n", id="mapping-inside-key"),
        pytest.param("settings: {!!pairs [a: 1]: 1}\n", id="pairs-as-key"),
        pytest.param("version: #\x85x\x85\x85\n", id="comment-with-next-line-characters"),
    ],
)
def test_ruamel_internal_error_is_a_located_error(tmp_path: Path, text: str) -> None:
    display = write(tmp_path, text)
    diagnostics = config_error(tmp_path)
    assert {d.file for d in diagnostics} == {display}


# --- directories ----------------------------------------------------------------------------------


def test_empty_file_next_to_a_valid_one_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "", name="empty.yaml")
    write(tmp_path, "# only a comment\n", name="comment.yml")
    valid = write(tmp_path, "version: 1\ncontainers:\n  web: {image: app:1}\n", name="web.yaml")
    loaded = load_state(tmp_path, environ={})
    assert valid in loaded.files
    assert list(loaded.state.containers) == ["web"]


def test_directory_with_no_yaml_files_is_a_reconcile_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# not state\n")
    (tmp_path / ".hidden.yaml").write_text("version: 1\n")
    with pytest.raises(ReconcileError, match=r"no \*\.yaml or \*\.yml files") as caught:
        load_state(tmp_path, environ={})
    assert not isinstance(caught.value, ConfigError)
    assert str(tmp_path) in str(caught.value)


def test_missing_directory_is_a_reconcile_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ReconcileError, match="no such directory") as caught:
        load_state(missing, environ={})
    assert not isinstance(caught.value, ConfigError)
    assert str(missing) in str(caught.value)


def test_file_instead_of_directory_is_a_reconcile_error(tmp_path: Path) -> None:
    file = Path(write(tmp_path, "version: 1\n"))
    with pytest.raises(ReconcileError, match="not a directory") as caught:
        load_state(file, environ={})
    assert not isinstance(caught.value, ConfigError)
