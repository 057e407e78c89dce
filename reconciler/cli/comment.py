"""--comment FILE: the pull-request comment a command writes whatever the outcome, failures too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from reconciler.cli.failures import failure
from reconciler.errors import ConfigError


class Comment:
    """--comment FILE: the body a command sets on success, else one said by how it failed."""

    def __init__(self, wanted: bool) -> None:
        self.wanted = wanted
        self.body: str | None = None


@contextmanager
def commenting(path: Path | None, stage: str) -> Iterator[Comment]:
    note = Comment(wanted=path is not None)
    try:
        yield note
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as error:
        if note.wanted and note.body is None:
            note.body = _failure_comment(stage, error)
        raise
    finally:
        if path is not None and note.body is not None:
            path.write_text(note.body, encoding="utf-8")


def _failure_comment(stage: str, error: BaseException) -> str:
    from reconciler.render import comment as pr_comment

    if isinstance(error, ConfigError):
        return pr_comment.validation_failed(error.diagnostics, str(error))
    return pr_comment.failed(stage, failure(error).said)
