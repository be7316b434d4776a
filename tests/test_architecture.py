"""One dependency direction, kept by walking every import (ast, function-level ones included).

    core     audit.*, except audit.cli        imports only the core
    checks   checks.*                         the core, and within checks: a family imports
                                              itself and checks.shared; shared only itself
    reports  reports.*                        the core's result types and helpers only
    app      audit.cli.*, audit.__main__      anything, but the checks only through their
                                              public API: `checks` or `checks.<family>`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("audit", "checks", "reports")
#: what the renderers may use of the core: result and diff types, the per-record table, the
#: JSON form, I/O
REPORTS_MAY_USE = ("audit.result", "audit.records", "audit.result_io", "audit.diff", "audit.io",
                   "audit.errors", "audit.renderers")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> Iterator[str]:
    """Every module `path` imports from our packages, at any depth of the code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from checks import shared` imports the module checks.shared; a name that is
            # not a module (a function, a class) belongs to node.module
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names
                                     if is_module(f"{node.module}.{alias.name}")]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            names = [a.value for a in node.args if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)]
        for name in names:
            if name.split(".")[0] in PACKAGES:
                yield name


def layer(module: str) -> str:
    if module == "audit.__main__" or module == "audit.cli" or module.startswith("audit.cli."):
        return "app"
    return module.split(".")[0].replace("audit", "core")


def family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "checks" and len(parts) > 1 and not parts[1].startswith(
        "_") else None


def violation(source: str, target: str) -> str | None:
    """Why the import `source` -> `target` goes against the direction, or None."""
    src, dst = layer(source), layer(target)
    if dst == "core" and src != "reports":
        return None
    if src == "core":
        return f"the core imports {dst}"
    if src == "reports":
        if dst == "reports":
            return None
        if dst == "core" and any(target == m or target.startswith(m + ".")
                                 for m in REPORTS_MAY_USE):
            return None
        return "reports use only the core's result types and helpers"
    if src == "checks":
        if dst != "checks":
            return f"checks import {dst}"
        own, other = family(source), family(target)
        if own is None or other is None or other in (own, "shared"):
            return None if not (own == "shared" and other not in (None, "shared")) else \
                "checks.shared imports a family"
        return f"family {own} imports family {other} (share it through checks.shared)"
    if src == "app" and dst == "checks" and target.count(".") > 1 and target.split(".")[
            1] != "shared":
        return "the application uses the checks' public API (checks.<family>), not a module"
    if src == "app" and dst == "checks" and target.startswith("checks.shared"):
        return "the application uses the checks' public API, not checks.shared"
    return None


def edges() -> Iterator[tuple[str, str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = module_name(path)
            for target in imports_of(path):
                yield source, target, path


def test_every_import_follows_the_direction() -> None:
    bad = [f"{path.relative_to(ROOT)}: {source} -> {target}: {why}"
           for source, target, path in edges()
           if (why := violation(source, target)) is not None]
    assert not bad, "imports against the dependency direction:\n" + "\n".join(bad)


def test_the_walk_sees_the_application_and_the_families() -> None:
    seen = {(layer(s), layer(t)) for s, t, _ in edges()}
    assert {("app", "core"), ("app", "checks"), ("app", "reports"), ("checks", "core"),
            ("reports", "core")} <= seen


@pytest.mark.parametrize(("source", "target"), [
    ("audit.runner", "checks"),
    ("audit.context", "checks.shared.features"),
    ("audit.result", "reports.html_report"),
    ("reports.html_report", "audit.runner"),
    ("reports.summary", "checks.labels"),
    ("checks.labels.label_issues", "checks.bias.groups"),
    ("checks.shared.probe", "checks.labels.label_issues"),
    ("checks.bias.groups", "reports.summary"),
    ("audit.cli.dedupe", "checks.duplication._neardup"),
    ("audit.cli.dedupe", "checks.duplication.duplicates"),
])
def test_the_rule_rejects_edges_against_the_direction(source: str, target: str) -> None:
    assert violation(source, target) is not None


@pytest.mark.parametrize(("source", "target"), [
    ("audit.runner", "audit.context"),
    ("checks.labels.label_issues", "checks.shared.probe"),
    ("checks.bias.counterfactual", "checks.bias._stats"),
    ("checks", "checks.bias"),
    ("reports.html_report", "audit.result"),
    ("audit.cli.dedupe", "checks.duplication"),
    ("audit.cli.main", "reports.outputs"),
])
def test_the_rule_accepts_edges_with_the_direction(source: str, target: str) -> None:
    assert violation(source, target) is None
