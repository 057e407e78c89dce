"""reconcile unpack-pr (hidden, for CI): a pull request's artifact unpacked as data only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import app
from reconciler.cli.comment import commenting
from reconciler.cli.options import CommentFile


@app.command("unpack-pr", hidden=True)
def unpack_pr(
    archive: Annotated[Path, typer.Argument(help="The pull request's artifact (zip), as GitHub serves it.")],
    destination: Annotated[Path, typer.Argument(help="Where to unpack its tree (must not exist).")],
    comment_file: CommentFile = None,
) -> None:
    """CI: unpack the untrusted artifact of the pull request's unprivileged job, as data only. Prints
    `number=N` and `head_sha=SHA` (for $GITHUB_OUTPUT) as soon as they are read, so that a refused
    tree can still be reported on the pull request once the workflow has checked them."""
    from reconciler.pr_state import read_claims, unpack_tree

    claims = read_claims(archive)
    sys.stdout.write(f"number={claims.number}\nhead_sha={claims.head_sha}\n")
    sys.stdout.flush()
    with commenting(comment_file, "plan"):
        unpack_tree(claims, destination)
