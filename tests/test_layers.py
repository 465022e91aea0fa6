"""The areas import one way, down the design's order; a forbidden import fails here.

The order (docs/decisions.md, "Layers"), top to bottom. Each module may import its own area, any
area of a lower layer, and nothing above. Imports inside functions count as much as those at the
top of a file: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

import sweep

ROOT = Path(sweep.__file__).parent

LAYERS: list[set[str]] = [
    {"cli"},  # the Typer app: parses, calls, prints
    {"demo"},  # the synthetic district and its played day, served through the app
    {"api"},  # the FastAPI app factory: mounts every area's router
    {"report"},  # read models of the dashboard and the round's report
    {"web.pages"},  # the pages that are not one area's
    {"inspect", "keygroups", "coverage"},
    {"lab"},  # coverage and key groups read results
    {"field"},
    {"plan"},
    {"registry"},
    {"auth.adapters"},  # the accounts' own routes and commands use the shared plumbing below
    {"deps", "clikit"},  # the web's and the CLI's shared plumbing: the signed-in user, the session
    {"auth"},
    {"optimize", "simulate"},  # pure: no database, no web, no other area
    {"db", "config", "errors", "params", "roles", "ttlcache", "migrate", "web", "schema", "partitions"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
# Pure cores: besides their own area they may import only these.
PURE = {"optimize": {"errors", "roles", "params", "config"}, "simulate": {"errors", "roles", "params", "config"}}
# The one catalogue of every table: it imports every area's models (never a service), so that
# Alembic compares the whole schema and a lower layer (the scope rule, the plan's guard against
# re-planning a started round) reads a table of a higher one by its name. Any layer may use it.
CATALOGUE = "sweep.schema"


def unit(module: str) -> str | None:
    """The area (or shared module) a dotted name of the package belongs to."""
    parts = module.split(".")
    if parts[0] != "sweep" or len(parts) < 2:
        return None
    if parts[1] == "web" and len(parts) > 2 and parts[2] in ("pages", "docs"):
        return "web.pages"
    if parts[1] == "auth" and len(parts) > 2 and parts[2] in ("routes", "cli"):
        return "auth.adapters"
    return parts[1]


@cache
def imports() -> list[tuple[str, str, int]]:
    """Every import of the package, parsed once for all the tests here."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if ".migrations." in module or module == CATALOGUE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(module, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((module, node.module, node.lineno))
                found += [(module, f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def test_every_area_and_shared_module_has_a_layer():
    units = {unit(f"sweep.{'.'.join(p.relative_to(ROOT).with_suffix('').parts)}") for p in ROOT.rglob("*.py")}
    units -= {None, "__init__", "__main__", "migrations"}
    assert units <= set(RANK), f"modules with no layer in the test: {sorted(units - set(RANK))}"


def test_no_area_imports_upwards():
    upward = set()
    for module, target, line in imports():
        src, dst = unit(module), unit(target)
        if src is None or dst is None or dst == src or (src, dst) == ("auth.adapters", "auth"):
            continue
        if dst not in RANK or src not in RANK:
            continue  # a name imported from a package's __init__ (sweep.field import models) is checked as the module
        # Peers import each other only in the bottom layer of shared plumbing.
        if RANK[dst] < RANK[src] or (RANK[dst] == RANK[src] and RANK[src] != len(LAYERS) - 1):
            upward.add(f"{module}:{line} imports {target} ({dst} is not below {src})")
    assert not upward, "\n".join(sorted(upward))


@pytest.mark.parametrize("core", sorted(PURE))
def test_the_pure_cores_import_no_database_web_or_other_area(core):
    allowed = PURE[core] | {core}
    third_party = {"sqlalchemy", "fastapi", "starlette", "jinja2", "typer", "rich", "psycopg", "uvicorn"}
    bad = set()
    for module, target, line in imports():
        if unit(module) != core:
            continue
        if target.split(".")[0] in third_party:
            bad.add(f"{module}:{line} imports {target}")
        dst = unit(target)
        if dst is not None and dst not in allowed:
            bad.add(f"{module}:{line} imports {target}")
    assert not bad, "\n".join(sorted(bad))
