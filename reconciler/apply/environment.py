"""What `apply PLANFILE` may read from its environment. The plan was reviewed with the values it had;
apply reads no variable the plan did not read (StateInfo.variables), except a secret the plan named
(an action's `secrets`) and showed as known at apply (StateInfo.known_at_apply) when apply's
environment names it an application secret (RECONCILE_SECRETS, --secret): which names those are is
decided where apply runs (the production environment), never by the pull request's YAML."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from reconciler.errors import ReconcileError
from reconciler.model.interpolate import NAME, CiVariable, refuse_ci_variable
from reconciler.plan.schema import Plan

NAMED_BY = "RECONCILE_SECRETS"


def application_secrets(options: Iterable[str], environ: Mapping[str, str]) -> frozenset[str]:
    """The names given by --secret and by $RECONCILE_SECRETS (separated by commas or spaces)."""
    names = [*options, *re.split(r"[\s,]+", environ.get(NAMED_BY, ""))]
    found = set()
    for name in filter(None, names):
        if not NAME.fullmatch(name):
            raise ReconcileError(f"{NAMED_BY} / --secret: {name!r} is not a variable name")
        try:
            refuse_ci_variable(name)
        except CiVariable as error:
            raise ReconcileError(f"{NAMED_BY} / --secret: {error}") from None
        found.add(name)
    return frozenset(found)


def as_planned(environ: Mapping[str, str], saved: Plan) -> dict[str, str]:
    """The environment as the plan had it: only the variables it read (no application secret, no
    value it did not have). For the digest check before anything is contacted, and for the fresh
    plan a stale plan's comment shows."""
    return {name: environ[name] for name in saved.state.variables if name in environ}


def for_apply(environ: Mapping[str, str], saved: Plan, allowed: frozenset[str]) -> tuple[dict[str, str], frozenset[str]]:
    """The environment apply interpolates from, and the variables withheld from it (no value at
    plan, not an application secret) so that their absence can be explained."""
    named = {name for action in saved.actions for name in action.secrets}
    gaining = frozenset(saved.state.known_at_apply) & allowed & named
    readable = {*saved.state.variables, *gaining}
    return {name: environ[name] for name in readable if name in environ}, frozenset(saved.state.known_at_apply) - gaining
