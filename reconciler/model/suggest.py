"""'Did you mean …?' for a misspelt key, value or name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'healthcheck'?)`` when a choice is close to ``word``, else ``""``."""
    if not isinstance(word, str):
        return ""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {option.lower(): option for option in options}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close and close[0] != word else ""
