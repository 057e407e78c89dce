"""reconcile schema: the JSON Schema of the desired-state format, for editors."""

from __future__ import annotations

import json
import sys

from reconciler.cli.app import app


@app.command()
def schema() -> None:
    """Print the JSON Schema (2020-12) of the desired-state format, for editors."""
    from reconciler.model.spec import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
