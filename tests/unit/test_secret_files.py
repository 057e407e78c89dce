"""The pure parts of compose secrets (issue 27): where compose puts each form, what the label says
(never a value), an ARN's parameter name, and an unmanaged container's bind at a declared file's
target taken for that file (import's adoption)."""

from __future__ import annotations

import pytest

from reconciler.clients.aws_secrets import ssm_names
from reconciler.kinds.container.secret_files import SECRETS_LABEL, as_declared_files, described, recorded_secrets, secrets_label
from reconciler.model.compose_fields import ConfigMount
from reconciler.model.spec import Container


@pytest.mark.parametrize(
    ("written", "target"),
    [
        ("db", "/run/secrets/db"),
        ({"source": "db"}, "/run/secrets/db"),
        ({"source": "db", "target": "token.txt"}, "/run/secrets/token.txt"),
        ({"source": "db", "target": "nested/db"}, "/run/secrets/nested/db"),
        ({"source": "db", "target": "/etc/app/db"}, "/etc/app/db"),
    ],
)
def test_a_secret_lands_where_compose_puts_it(written: object, target: str) -> None:
    assert Container.model_validate({"image": "app:1", "secrets": [written]}).secrets[0].target == target


def test_a_secret_target_cannot_climb_out_of_run_secrets() -> None:
    with pytest.raises(ValueError, match="target"):
        Container.model_validate({"image": "app:1", "secrets": [{"source": "db", "target": "../../etc/passwd"}]})


def test_the_label_says_where_a_secret_came_from_and_never_its_value() -> None:
    mount = ConfigMount("db", "/run/secrets/db", "1000", "1001", 0o400)
    label = secrets_label({mount.target: described(mount, "environment DB_PASSWORD")})
    assert recorded_secrets(label) == {"/run/secrets/db": "db from environment DB_PASSWORD uid=1000 gid=1001 mode=0400"}
    assert recorded_secrets({SECRETS_LABEL: "not json"}) == {}


def test_an_arn_names_the_parameter_with_or_without_its_slash() -> None:
    assert ssm_names("/prod/db") == ["/prod/db"]
    assert ssm_names("arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db") == ["/prod/db"]
    assert ssm_names("arn:aws:ssm:eu-west-1:123456789012:parameter/db") == ["/db", "db"]


def test_a_bind_at_a_declared_files_target_is_taken_for_it_and_no_other() -> None:
    spec = Container.model_validate({"image": "app:1", "configs": [{"source": "app", "target": "/etc/app.conf"}]})
    view = {"volumes": ["/srv/app.conf:/etc/app.conf:ro", "/srv/data:/data"], "image": "app:1"}
    assert as_declared_files(spec, view)["volumes"] == ["/srv/data:/data"]
    assert as_declared_files(Container.model_validate({"image": "app:1"}), view) is view
