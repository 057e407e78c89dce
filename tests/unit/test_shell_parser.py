"""bashlex with the tables shipped in reconciler/data/bashlex_tables.json parses as bashlex's own build.

Both run in new processes: this session may already have imported bashlex.
"""

import json
import subprocess
import sys
from pathlib import Path

import reconciler

SHIPPED = Path(reconciler.__file__).parent / "data" / "bashlex_tables.json"

COMMANDS = [
    "test -d /tmp",
    "curl -fsS http://localhost:8080/health || exit 1",
    "pg_isready -U $POSTGRES_USER && echo ok; true",
    'sh -c "wget -q -O- http://127.0.0.1/ | grep -q ready"',
    "(cd /app; ./check) > /dev/null 2>&1",
    "echo $(cat /run/app.pid) `date` ${HOME:-/}",
    "if [ -f /ready ]; then exit 0; else exit 1; fi",
    "for i in 1 2 3; do nc -z localhost 80 && break; sleep 1; done",
    "while ! test -S /run/sock; do :; done",
    "f() { redis-cli ping; }; f | grep PONG",
    "! false",
    "a=1 b=2 env | sort >> /tmp/out",
    "echo (",
    "if then fi",
]

_DUMP = """
import json, sys
{load}
out = []
for text in json.loads(sys.argv[1]):
    try:
        out.append([tree.dump() for tree in bashlex.parse(text)])
    except Exception as error:
        out.append(f"{{type(error).__name__}}: {{error}}")
print(json.dumps(out))
"""


def _parsed(load: str) -> list[object]:
    script = _DUMP.format(load=load)
    done = subprocess.run([sys.executable, "-c", script, json.dumps(COMMANDS)], capture_output=True, text=True, check=True)
    result: list[object] = json.loads(done.stdout)
    return result


def test_the_shipped_tables_are_what_ply_builds_for_the_installed_bashlex() -> None:
    built = subprocess.run(
        [sys.executable, "-m", "reconciler.policies.shell_parser"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(built) == json.loads(SHIPPED.read_text()), (
        "bashlex's grammar changed: regenerate with "
        "python -m reconciler.policies.shell_parser > reconciler/data/bashlex_tables.json"
    )


def test_bashlex_on_the_shipped_tables_parses_and_refuses_as_its_own_build() -> None:
    own = _parsed("import bashlex")
    shipped = _parsed("from reconciler.policies.shell_parser import bashlex as load\nbashlex = load()")
    assert shipped == own
    assert isinstance(own[0], list) and isinstance(own[-1], str)  # one parsed, one refused


def test_without_the_table_file_bashlex_builds_its_tables_and_parses_the_same() -> None:
    load = (
        "from reconciler.policies import shell_parser\n"
        "shell_parser._TABLES = 'data/no-such-file.json'\n"
        "bashlex = shell_parser.bashlex()"
    )
    assert _parsed(load) == _parsed("import bashlex")
