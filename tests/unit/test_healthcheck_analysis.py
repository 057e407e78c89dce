"""The healthcheck analysis against image filesystems written out as data (no Docker, no I/O)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.model.sensitive import Sensitive
from reconciler.policies.healthcheck import BINARY_MISSING, SEVERITY, UNPARSABLE, Problem, healthcheck_problems
from reconciler.policies.image_view import ImageView

DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
EXE, DATA = 0o755, 0o644


@dataclass
class DictImage:
    """An image filesystem as a dict: path → mode (a file) or str (a symlink's target, absolute or
    relative). Directories are the parents of what is listed."""

    image: str
    files: dict[str, int | str]
    path: tuple[str, ...] = DEFAULT_PATH
    workdir: str = "/"
    shell: tuple[str, ...] = ("/bin/sh", "-c")
    image_id: str = "sha256:" + "0" * 64
    directories: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.directories = {"/"}
        for name in self.files:
            while name != "/":
                name = posixpath.dirname(name)
                self.directories.add(name)

    def resolve(self, path: str) -> str | None:
        pending = [part for part in path.split("/") if part]
        resolved, hops = "/", 0
        while pending:
            part = pending.pop(0)
            if part in (".", ".."):
                resolved = resolved if part == "." else posixpath.dirname(resolved)
                continue
            candidate = posixpath.join(resolved, part)
            entry = self.files.get(candidate)
            if isinstance(entry, str):
                hops += 1
                if hops > 40:
                    return None
                pending = [p for p in entry.split("/") if p] + pending
                resolved = "/" if entry.startswith("/") else resolved
                continue
            if entry is None and candidate not in self.directories:
                return None
            resolved = candidate
        return resolved

    def is_executable(self, path: str) -> bool:
        resolved = self.resolve(path)
        mode = self.files.get(resolved) if resolved else None
        return isinstance(mode, int) and bool(mode & 0o111)

    def which(self, program: str) -> str | None:
        if "/" in program:
            path = posixpath.normpath(posixpath.join(self.workdir, program))
            return path if self.is_executable(path) else None
        return next((f"{d}/{program}" for d in self.path if self.is_executable(f"{d}/{program}")), None)

    def names_in_path(self) -> frozenset[str]:
        names = set()
        for directory in self.path:
            real = self.resolve(directory)
            for name in self.files:
                if real and posixpath.dirname(name) == real and self.is_executable(name):
                    names.add(posixpath.basename(name))
        return frozenset(names)


def busybox_links(*applets: str, where: str = "/bin") -> dict[str, int | str]:
    return {f"{where}/{applet}": "/bin/busybox" for applet in applets}


# nginx:alpine as the ops report met it: busybox, but no wget link
FRONTEND = DictImage(
    "reconciler-demo/frontend:1",
    {"/bin/busybox": EXE, **busybox_links("sh", "ps", "grep", "cat"), "/usr/bin/nc": "/bin/busybox", "/usr/sbin/nginx": EXE},
)
# oliver006/redis_exporter: FROM scratch, one static binary, no shell
EXPORTER = DictImage("oliver006/redis_exporter:v1.62.0", {"/redis_exporter": EXE})
BUSYBOX_SH = DictImage(
    "reconciler-demo/busybox:1",
    {"/bin/busybox": EXE, **busybox_links("sh", "cat", "timeout"), "/usr/bin/nc": "../../bin/busybox"},
)
# Debian: merged /usr (/bin → usr/bin), /bin/sh → dash, bash installed, curl installed
DEBIAN = DictImage(
    "debian:12",
    {
        "/bin": "usr/bin",
        "/usr/bin/dash": EXE,
        "/usr/bin/sh": "dash",
        "/usr/bin/bash": EXE,
        "/usr/bin/cat": EXE,
        "/usr/bin/timeout": EXE,
        "/usr/bin/curl": EXE,
        "/usr/bin/grep": EXE,
        "/usr/bin/env": EXE,
        "/usr/bin/nice": EXE,
        "/usr/bin/nohup": EXE,
        "/usr/bin/xargs": EXE,
    },
)
BASH_SH = DictImage("reconciler-demo/bash:1", {**DEBIAN.files, "/usr/bin/sh": "bash"})
NO_CURL = DictImage("reconciler-demo/no-curl:1", {k: v for k, v in DEBIAN.files.items() if k != "/usr/bin/curl"})
APP = DictImage(
    "reconciler-demo/app:1",
    {
        "/bin/sh": "dash",
        "/bin/dash": EXE,
        "/app/bin/check": EXE,
        "/usr/local/bin/check": EXE,
        "/usr/local/bin/readme": DATA,
        "/usr/bin/wget": DATA,
        "/usr/bin/probe": "../lib/probe/run",
        "/usr/lib/probe/run": EXE,
        "/usr/bin/dangling": "/nowhere/run",
        "/usr/bin/loop-a": "loop-b",
        "/usr/bin/loop-b": "loop-a",
    },
    workdir="/app",
)


def problems(test: tuple[str | Sensitive, ...], image: ImageView) -> list[Problem]:
    found = healthcheck_problems(test, image)
    for problem in found:
        assert problem.code in SEVERITY
        assert "\n" not in problem.message and "\n" not in problem.remedy
        assert image.image in problem.message or problem.code == UNPARSABLE
    return found


def shell(command: str | Sensitive, image: ImageView) -> list[Problem]:
    return problems(("CMD-SHELL", command), image)


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


# --- the ops report's three cases -----------------------------------------------------------------


def test_wget_in_a_frontend_image_that_has_busybox_but_no_wget():
    problem = only(problems(("CMD", "wget", "--quiet", "--tries=1", "--spider", "http://localhost/"), FRONTEND))
    assert problem.code == BINARY_MISSING and SEVERITY[problem.code] == "error"
    assert "`wget`" in problem.message and "reconciler-demo/frontend:1" in problem.message
    assert "busybox wget -q --spider http://localhost/" in problem.message
    assert "nc -z localhost 80" in problem.message
    assert problem.remedy == 'test: ["CMD", "busybox", "wget", "-q", "--spider", "http://localhost/"]'


def test_tcp_check_in_an_exporter_image_without_a_shell():
    test = ("CMD-SHELL", "timeout 5 cat < /dev/null > /dev/tcp/localhost/9121 || exit 1")
    problem = only(problems(test, EXPORTER))
    assert problem.message == (
        "oliver006/redis_exporter:v1.62.0 has no shell (/bin/sh is missing): only the CMD form can work there; "
        "its PATH holds no programs"
    )
    assert problem.remedy.startswith('test: ["CMD", …]') and '["NONE"]' in problem.remedy


def test_tcp_check_under_busybox_sh_needs_bash():
    problem = only(shell("timeout 5 cat < /dev/null > /dev/tcp/localhost/9121 || exit 1", BUSYBOX_SH))
    assert problem.message == (
        "`> /dev/tcp/localhost/9121` needs bash, but /bin/sh in reconciler-demo/busybox:1 is busybox; "
        "it has nc and busybox: use `nc -z localhost 9121` or `busybox nc -z localhost 9121`"
    )
    assert problem.remedy == 'test: ["CMD", "nc", "-z", "localhost", "9121"]'


def test_tcp_check_under_bash_is_fine():
    assert shell("timeout 5 cat < /dev/null > /dev/tcp/localhost/9121 || exit 1", BASH_SH) == []
    bash_configured = DictImage("bash-shell", DEBIAN.files, shell=("/bin/bash", "-o", "pipefail", "-c"))
    assert shell("exec 3<>/dev/tcp/localhost/9121", bash_configured) == []


def test_tcp_check_under_dash_and_under_an_inner_sh():
    assert "needs bash, but /bin/sh in debian:12 is dash" in only(shell("cat < /dev/tcp/localhost/9121", DEBIAN)).message
    bash_shell = DictImage("bash-shell", DEBIAN.files, shell=("/bin/bash", "-c"))
    assert shell("exec 3<>/dev/tcp/db/5432", bash_shell) == []
    assert "needs bash, but sh in bash-shell is dash" in only(shell("sh -c 'exec 3<>/dev/tcp/db/5432'", bash_shell)).message
    assert shell("bash -c '</dev/tcp/localhost/9121'", DEBIAN) == []
    message = only(shell("{ cat; } </dev/tcp/db/5432", DEBIAN)).message
    assert "`< /dev/tcp/db/5432` needs bash" in message and "it has bash: use `bash -c '</dev/tcp/db/5432'`" in message


def test_a_shell_missing_names_what_the_image_has():
    distroless = DictImage("gcr.io/distroless/nodejs:20", {"/nodejs/bin/node": EXE}, path=("/nodejs/bin",))
    problem = only(shell("curl -fs http://localhost:3000/health || exit 1", distroless))
    assert "has no shell (/bin/sh is missing)" in problem.message and "its PATH has node" in problem.message
    exporter_with_nc = DictImage("exporter-nc", {"/redis_exporter": EXE, "/bin/nc": EXE})
    problem = only(shell("timeout 5 cat < /dev/null > /dev/tcp/localhost/9121", exporter_with_nc))
    assert problem.remedy == 'test: ["CMD", "nc", "-z", "localhost", "9121"]'
    not_executable = DictImage("broken-sh", {"/bin/sh": DATA, "/bin/ls": EXE})
    assert "(/bin/sh is not executable)" in only(shell("exit 0", not_executable)).message


def test_earlier_attempts_in_the_exporter_image():
    for program in ("wget", "curl"):
        problem = only(problems(("CMD", program, "http://localhost:9121/metrics"), EXPORTER))
        assert f"runs `{program}`, but oliver006/redis_exporter:v1.62.0 does not have it in its PATH" in problem.message
        assert "it has none of curl, wget, nc or busybox" in problem.message


# --- the CMD form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "program",
    ["/usr/local/bin/check", "check", "./bin/check", "bin/check", "../app/bin/check", "probe", "/usr/bin/probe", "/bin/dash"],
)
def test_cmd_programs_that_exist(program):
    assert problems(("CMD", program, "--ready"), APP) == []


@pytest.mark.parametrize(
    ("program", "says"),
    [
        ("/usr/local/bin/missing", "runs `/usr/local/bin/missing`, but reconciler-demo/app:1 does not have it"),
        ("missing", "does not have it in its PATH"),
        ("./check", "runs `./check`"),  # relative to the workdir /app, where there is no check
        ("dangling", "runs `dangling`"),
        ("loop-a", "runs `loop-a`"),
        ("exit", "runs `exit`"),  # no shell in the CMD form: builtins are programs there
        ("/usr/local/bin/readme", "is in reconciler-demo/app:1 (/usr/local/bin/readme) but not executable"),
        ("readme", "(/usr/local/bin/readme) but not executable"),
        ("/usr/local/bin", "(/usr/local/bin) but not executable"),
    ],
)
def test_cmd_programs_that_cannot_run(program, says):
    problem = only(problems(("CMD", program), APP))
    assert problem.code == BINARY_MISSING and says in problem.message


def test_non_executable_wget_in_path():
    problem = only(problems(("CMD", "wget", "-q", "--spider", "http://localhost:8080/"), APP))
    assert problem.message == "the healthcheck runs `wget`, which is in reconciler-demo/app:1 (/usr/bin/wget) but not executable"
    assert problem.remedy == "RUN chmod +x /usr/bin/wget in the image"


def test_cmd_with_a_shell_inside():
    assert problems(("CMD", "sh", "-c", "curl -fs http://localhost/"), DEBIAN) == []
    assert "`curl`" in only(problems(("CMD", "sh", "-c", "curl -fs http://localhost/"), NO_CURL)).message
    problem = only(problems(("CMD", "bash", "-c", "curl -fs http://localhost/"), FRONTEND))
    assert "runs `bash`" in problem.message  # and what bash would run is moot


def test_none_and_short_tests_find_nothing():
    assert problems(("NONE",), EXPORTER) == []
    assert problems(("CMD",), EXPORTER) == []


# --- CMD-SHELL: what the parser finds -------------------------------------------------------------


def test_the_process_check_needs_ps_and_grep():
    command = "ps aux | grep nginx | grep -v grep || exit 1"
    assert shell(command, FRONTEND) == []
    nginx_debian = DictImage("nginx:1.27", {**DEBIAN.files, "/usr/sbin/nginx": EXE})
    assert "`ps`" in only(shell(command, nginx_debian)).message
    no_grep = DictImage("no-grep", {"/bin/sh": "dash", "/bin/dash": EXE})
    assert sorted(p.message.split("`")[1] for p in shell(command, no_grep)) == ["grep", "ps"]  # grep once


@pytest.mark.parametrize(
    "command",
    [
        "curl -fs http://localhost/",
        "env X=1 curl -fs http://localhost/",
        "env -i -u HOME PATH=/usr/bin curl -fs http://localhost/",
        "X=1 Y=2 curl -fs http://localhost/",
        "exec curl -fs http://localhost/",
        "command curl -fs http://localhost/",
        "timeout 5 curl -fs http://localhost/",
        "timeout -s KILL -k 2 5s curl -fs http://localhost/",
        "timeout --signal=TERM 5 curl -fs http://localhost/",
        "nice -n 10 curl -fs http://localhost/",
        "nohup curl -fs http://localhost/",
        "echo http://localhost/ | xargs -n 1 curl -fs",
        "sh -c 'curl -fs http://localhost/'",
        "bash -ec 'curl -fs http://localhost/'",
        "sh -c \"sh -c 'curl -fs http://localhost/'\"",
        "eval 'curl -fs http://localhost/'",
        "( ( curl -fs http://localhost/ ) )",
        "{ curl -fs http://localhost/; }",
        "if curl -fs http://localhost/; then exit 0; else exit 1; fi",
        "while ! curl -fs http://localhost/; do :; done",
        "for url in http://localhost/; do curl -fs $url; done",
        "until curl -fs http://localhost/; do :; done",
        'test "$(curl -fs http://localhost/)" = ok',
        "[ `curl -fs http://localhost/` = ok ]",
        "X=$(curl -fs http://localhost/) true",
        "check() { curl -fs http://localhost/; }; check",
        "curl -fs http://localhost/ > /dev/null 2>&1 && echo ok",
        "true && false || curl -fs http://localhost/ ; exit $?",
    ],
)
def test_every_place_a_command_can_hide(command):
    assert shell(command, DEBIAN) == []
    problem = only(shell(command, NO_CURL))
    assert problem.message.startswith("the healthcheck runs `curl`, but reconciler-demo/no-curl:1 does not have it in its PATH")


def test_the_wrappers_are_checked_too():
    image = DictImage("bare", {"/bin/sh": "dash", "/bin/dash": EXE, "/usr/bin/curl": EXE})
    for wrapper in ("timeout 5", "env", "nice", "nohup", "xargs"):
        assert f"`{wrapper.split()[0]}`" in only(shell(f"{wrapper} curl http://x/", image)).message
    assert shell("exec curl http://x/", image) == [] and shell("command curl http://x/", image) == []


def test_busybox_applets_and_wrappers():
    assert shell("busybox wget -q --spider http://localhost/", FRONTEND) == []
    assert shell("busybox sh -c 'cat /etc/hostname'", FRONTEND) == []
    assert "`wget`" in only(shell("busybox sh -c 'wget -q --spider http://localhost/'", FRONTEND)).message
    assert "busybox sh in reconciler-demo/frontend:1 is busybox" in only(shell("busybox sh -c '</dev/tcp/h/1'", FRONTEND)).message
    assert "`wget`" in only(shell("busybox timeout 5 wget -q http://localhost/", FRONTEND)).message


def test_what_is_not_followed():
    assert shell("command -v curl || exit 1", NO_CURL) == []  # only asks
    assert shell("$CHECK --ready", NO_CURL) == []  # known only at run time
    assert shell('"$(which curl)" -fs http://x/', NO_CURL)[0].message.startswith("the healthcheck runs `which`")
    assert shell("~/bin/check", NO_CURL) == []
    assert shell("echo http://x/ | xargs", NO_CURL) == []  # xargs without a command: echo, not checked


def test_a_script_file_for_a_shell():
    image = DictImage("scripted", {**DEBIAN.files, "/healthcheck.sh": DATA})
    assert problems(("CMD", "sh", "/healthcheck.sh"), image) == []
    assert (
        "the healthcheck runs the script `/missing.sh` with bash, but scripted has no such file"
        in only(problems(("CMD", "bash", "/missing.sh"), image)).message
    )


@pytest.mark.parametrize(
    "command",
    [
        "exit 0",
        "[ -f /tmp/ready ]",
        "test -f /tmp/ready && echo ok",
        ": ; true",
        "printf ok",
        "kill -0 1",
        "cd /tmp && read x < /tmp/x",
    ],
)
def test_builtins_need_nothing_but_the_shell(command):
    bare = DictImage("bare-busybox", {"/bin/busybox": EXE, "/bin/sh": "busybox"})
    assert shell(command, bare) == []


def test_missing_tools_suggest_what_the_image_has():
    nginx_debian = DictImage("nginx:1.27", {**NO_CURL.files, "/usr/sbin/nginx": EXE})
    problem = only(shell("curl -fs http://localhost/", nginx_debian))
    assert problem.message.endswith("it has none of curl, wget, nc or busybox")
    assert problem.remedy == 'add curl to the image, or check with a program it has (or test: ["NONE"])'
    no_ps = DictImage("alpine-no-ps", {"/bin/busybox": EXE, **busybox_links("sh", "grep")})
    problem = only(shell("ps aux | grep -q nginx", no_ps))
    assert problem.message.endswith("it has busybox, which may provide it: `busybox ps`")
    assert problem.remedy == "write `busybox ps` instead of `ps`, or add it to the image"
    assert only(shell("python3 -c 'import sys'", no_ps)).remedy == "add python3 to the image, or use a program it has"
    problem = only(shell("curl -fs http://localhost:8080/ready", FRONTEND))
    assert (
        "it has busybox and nc: use `busybox wget -q --spider http://localhost:8080/ready` or `nc -z localhost 8080`"
        in problem.message
    )
    problem = only(shell("wget -q --spider http://localhost/", DEBIAN))
    assert "it has curl: use `curl -fsS -o /dev/null http://localhost/`" in problem.message


def test_a_typo_suggests_the_close_name():
    problem = only(shell("curll -fs http://localhost/", DEBIAN))
    assert problem.message.endswith("; it has `curl`") and problem.remedy == "use `curl`"


# --- parse errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["curl 'http://localhost/", "[[ -f /tmp/ready ]]", "exit $(( 1 - 1 ))", "case x in x) exit 0;; esac"]
)
def test_commands_bashlex_cannot_parse_are_a_warning(command):
    problem = only(shell(command, DEBIAN))
    assert problem.code == UNPARSABLE and SEVERITY[problem.code] == "warning"
    assert problem.message.startswith("the healthcheck command could not be parsed (")
    assert problem.message.endswith("so the programs it runs were not checked")


@pytest.mark.parametrize("command", ["", "   ", "# nothing\n", "\n\n"])
def test_an_empty_command_runs_nothing(command):
    assert shell(command, DEBIAN) == []


# --- secrets --------------------------------------------------------------------------------------

SECRET_WORDS = ("s3cr3t", "internal-host", "8443", "my-probe", "Bearer", "/opt/vault")


def assert_secret_kept(found: list[Problem]) -> None:
    assert found
    for problem in found:
        for word in SECRET_WORDS:
            assert word not in problem.message and word not in problem.remedy, (word, problem)


@pytest.mark.parametrize(
    ("test", "image"),
    [
        (("CMD-SHELL", Sensitive("curl -fs -H 'Authorization: Bearer s3cr3t' https://internal-host:8443/health")), NO_CURL),
        (("CMD-SHELL", Sensitive("my-probe --token s3cr3t --url https://internal-host:8443/")), DEBIAN),
        (("CMD-SHELL", Sensitive("cat < /dev/tcp/internal-host/8443 && echo s3cr3t")), BUSYBOX_SH),
        (("CMD-SHELL", Sensitive("curl 's3cr3t")), DEBIAN),
        (("CMD-SHELL", Sensitive("sh -c 'my-probe s3cr3t' || /opt/vault/s3cr3t")), DEBIAN),
        (("CMD-SHELL", Sensitive("/opt/vault/bin/s3cr3t-wget http://internal-host:8443/")), FRONTEND),
        (("CMD", Sensitive("/opt/vault/my-probe"), Sensitive("s3cr3t")), APP),
        (
            ("CMD", "wget", "--header", Sensitive("Authorization: Bearer s3cr3t"), Sensitive("https://internal-host:8443/")),
            FRONTEND,
        ),
        (("CMD", "sh", "-c", Sensitive("my-probe s3cr3t")), DEBIAN),
        (("CMD", "sh", Sensitive("/opt/vault/s3cr3t.sh")), DEBIAN),
        (("CMD-SHELL", Sensitive("timeout 5 wget -q https://internal-host:8443/?token=s3cr3t")), EXPORTER),
    ],
)
def test_no_message_quotes_a_secret(test, image):
    assert_secret_kept(problems(test, image))


def test_a_well_known_program_from_a_secret_is_still_named():
    problem = only(shell(Sensitive("curl -fs -H 'X-Token: s3cr3t' http://internal-host:8443/"), NO_CURL))
    assert "`curl`" in problem.message
    problem = only(problems(("CMD", "wget", "--header", Sensitive("X-Token: s3cr3t"), "http://localhost/"), FRONTEND))
    assert "busybox wget -q --spider http://localhost/" in problem.message  # the URL was not sensitive


# --- never raises ---------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    ["curl", "wget", "sh", "-c", "bash", "busybox", "timeout", "5", "env", "X=1", "exec", "command", "-v", "eval", "xargs",
     "nice", "nohup", "|", "||", "&&", ";", "&", "(", ")", "{", "}", "$(", "`", "'", '"', "\\", "<", ">", ">&", "<>", "3",
     "/dev/tcp/h/1", "$X", "${X}", "~", "*", "if", "then", "else", "fi", "for", "in", "do", "done", "while", "case", "esac",
     "[[", "]]", "$((", "))", "<<", "EOF", "\n", "#", "!", "f()", "--", "-s", "-t", "exit", "[", "]", "/bin/x", "./x", "=", " "]
)  # fmt: skip


SECRET_MARKER = "zq9secretk"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    command=st.one_of(
        st.text(max_size=80), st.lists(FRAGMENTS, max_size=20).map(" ".join), st.lists(FRAGMENTS, max_size=20).map("".join)
    ),
    image=st.sampled_from([FRONTEND, EXPORTER, BUSYBOX_SH, DEBIAN, BASH_SH, APP]),
    secret=st.booleans(),
)
def test_random_commands_never_raise(command, image, secret):
    """...and never quote a secret: a secret carries a marker that no message may show (checking for
    the command itself would trip on a short one like '(bas' that our own remedy text contains)."""
    value = Sensitive(f"{command} #{SECRET_MARKER}") if secret else command
    for test in (("CMD-SHELL", value), ("CMD", value, value), ("CMD", "sh", "-c", value)):
        for problem in healthcheck_problems(test, image):
            assert problem.code in SEVERITY and "\n" not in problem.message and "\n" not in problem.remedy
            if secret:
                assert SECRET_MARKER not in problem.message and SECRET_MARKER not in problem.remedy
