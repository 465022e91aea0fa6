"""Every ``sweep`` command, each in a process of its own, against the four ordinary mistakes: no
database, a database without the schema, an id that does not exist, an output folder that cannot
be there. Each answer is one line in Chinese and English, a non-zero exit, and no traceback.

The commands run in forked children of one process that has imported the CLI once (a fresh
interpreter per command costs seconds of imports on a busy machine); each child has its own
standard output and error, environment and exit code, as a separate ``sweep`` run would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sweep import migrate

MISSING, NO_SCHEMA, UNKNOWN_ID, BAD_OUT = "missing database", "no schema", "unknown id", "output folder"
ALL = (MISSING, NO_SCHEMA)

# Each command with arguments that name things that do not exist, and the situations it meets.
# {out} is a path under a plain file (no folder can be made there), {csv} an existing small file.
COMMANDS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "audit": (["audit", "--out", "{out}/audit.csv"], (*ALL, BAD_OUT)),
    "report": (["report", "--out", "{out}", "--campaign", "999"], (*ALL, UNKNOWN_ID, BAD_OUT)),
    "simulate": (["simulate", "--campaign", "999", "--runs", "5"], (*ALL, UNKNOWN_ID)),
    "serve": (["serve", "--port", "1"], ALL),
    "status": (["status", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
    "db downgrade": (["db", "downgrade", "base"], (MISSING,)),
    "db current": (["db", "current"], (MISSING,)),
    "user create": (["user", "create", "--username", "u1", "--role", "site_staff", "--plan-site-id", "999", "--password",
                     "long enough password"], (*ALL, UNKNOWN_ID)),
    "user list": (["user", "list"], ALL),
    "user disable": (["user", "disable", "nobody"], (*ALL, UNKNOWN_ID)),
    "user enable": (["user", "enable", "nobody"], (*ALL, UNKNOWN_ID)),
    "user set-role": (["user", "set-role", "nobody", "admin"], (*ALL, UNKNOWN_ID)),
    "user set-scope": (["user", "set-scope", "nobody", "--office-id", "999"], (*ALL, UNKNOWN_ID)),
    "user reset-password": (["user", "reset-password", "nobody", "--password", "long enough password"], (*ALL, UNKNOWN_ID)),
    "user revoke-tokens": (["user", "revoke-tokens", "nobody"], (*ALL, UNKNOWN_ID)),
    "import people": (["import", "people", "{csv}"], ALL),
    "import buildings": (["import", "buildings", "{csv}"], ALL),
    "import grids": (["import", "grids", "{csv}"], ALL),
    "import sites": (["import", "sites", "{csv}"], ALL),
    "import staff": (["import", "staff", "{csv}"], ALL),
    "registry summary": (["registry", "summary"], ALL),
    "registry export": (["registry", "export", "{out}/people.csv"], ALL),
    "plan": (["plan", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
    "plan export": (["plan", "export", "--out", "{out}", "--campaign", "999"], (*ALL, UNKNOWN_ID, BAD_OUT)),
    "lab import-results": (["lab", "import-results", "{csv}", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
    "lab trace": (["lab", "trace", "NO-SUCH-TUBE", "--campaign", "999"], ALL),
    "lab alerts": (["lab", "alerts", "--campaign", "999"], ALL),
    "coverage table": (["coverage", "table", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
    "coverage missing": (["coverage", "missing", "--campaign", "999", "--out", "{out}/missing.xlsx"], ALL),
    "coverage refresh": (["coverage", "refresh", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
    "rounds compare": (["rounds", "compare", "--campaign", "999"], ALL),
    "rounds carry-over": (["rounds", "carry-over", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
    "keygroups create": (["keygroups", "create", "K1", "--name", "组", "--every", "7"], ALL),
    "keygroups set": (["keygroups", "set", "NO-SUCH-GROUP", "--every", "3"], (*ALL, UNKNOWN_ID)),
    "keygroups import": (["keygroups", "import", "members", "{csv}"], ALL),
    "keygroups schedules": (["keygroups", "schedules"], ALL),
    "keygroups compliance": (["keygroups", "compliance"], ALL),
    "inspect templates": (["inspect", "templates"], ALL),
    "inspect findings": (["inspect", "findings", "--campaign", "999"], (*ALL, UNKNOWN_ID)),
}
# Commands that make their own database, or make the schema: nothing here is a mistake for them.
OWN_DATABASE = {"demo", "db upgrade"}

DRIVER = r"""
import json, os, sys
cases = json.load(sys.stdin)
from sweep.cli import app  # imported once; each case runs in a forked child
from sweep.config import get_settings
results = []
for case in cases:
    out_path = case["log"]
    pid = os.fork()
    if pid == 0:
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ["SWEEP_DATABASE_URL"] = case["url"]
        os.environ["COLUMNS"] = "200"
        get_settings.cache_clear()
        code = 0
        try:
            app(case["argv"], prog_name="sweep")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 99
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    results.append({"name": case["name"], "situation": case["situation"], "code": os.waitstatus_to_exitcode(status),
                    "output": open(out_path, encoding="utf-8", errors="replace").read()})
print(json.dumps(results))
"""


def _leaf_commands() -> set[str]:
    import typer

    from sweep.cli import app

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        if hasattr(cmd, "commands"):
            if getattr(cmd, "invoke_without_command", False):
                yield " ".join(path)
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path)

    return set(walk(typer.main.get_command(app), []))


def test_every_command_is_in_the_table():
    assert _leaf_commands() == set(COMMANDS) | OWN_DATABASE


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    root = tmp_path_factory.mktemp("cli")
    urls = {MISSING: f"sqlite:///{root / 'absent' / 'sweep.db'}", NO_SCHEMA: f"sqlite:///{root / 'empty.db'}"}
    (root / "empty.db").write_bytes(b"")
    migrated = root / "migrated.db"
    migrate.upgrade(f"sqlite:///{migrated}")
    urls[UNKNOWN_ID] = urls[BAD_OUT] = f"sqlite:///{migrated}"
    blocker = root / "a-file"
    blocker.write_text("not a folder")
    csv = root / "small.csv"
    csv.write_text("姓名,身份证号\n张三,110101199003074514\n", encoding="utf-8")
    cases: list[dict[str, object]] = []
    for name, (argv, situations) in COMMANDS.items():
        for situation in situations:
            out = str(blocker / "sub") if situation == BAD_OUT else str(root / f"out-{len(cases)}")
            filled = [a.replace("{out}", out).replace("{csv}", str(csv)) for a in argv]
            cases.append({"name": name, "situation": situation, "argv": filled, "url": urls[situation],
                          "log": str(root / f"log-{len(cases)}.txt")})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(cases), capture_output=True, text=True, env=env,
                         timeout=900, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    results: list[dict[str, object]] = json.loads(run.stdout.strip().splitlines()[-1])
    # The database file that was not there is still not there: no command made an empty one.
    assert not (root / "absent").exists()
    return results


def test_no_command_answers_a_mistake_with_a_traceback(answers: list[dict[str, object]]) -> None:
    bad = []
    for a in answers:
        output = str(a["output"]).strip()
        lines = [line for line in output.splitlines() if line.strip()]
        problems = []
        if a["code"] == 0:
            problems.append("exit 0")
        if "Traceback" in output or "╭" in output or "File \"" in output:
            problems.append("traceback")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines")
        if not re.search(r"[\u4e00-\u9fff]", output) or not re.search(r"[A-Za-z]{3,}", output):
            problems.append("not Chinese and English")
        if problems:
            bad.append(f"sweep {a['name']} [{a['situation']}]: {', '.join(problems)} (exit {a['code']}): {output[:300]}")
    assert not bad, f"{len(bad)} of {len(answers)}:\n" + "\n".join(bad)


def test_serve_refuses_a_database_without_the_current_schema(answers: list[dict[str, object]]) -> None:
    for a in answers:
        if a["name"] == "serve":
            assert a["code"] != 0 and "sweep db upgrade" in str(a["output"]), a
