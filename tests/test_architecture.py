"""The house rules of the package, checked: one-way imports (import-linter's layers contract in
pyproject.toml), one importer each for sentence-transformers and faiss, rooms of at most 450 lines."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qa"
MAX_LINES = 450


def _imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_imports_flow_one_way_down_the_layers() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "import-linter is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_model_library_and_faiss_each_have_one_importer() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    for library, owner in (("sentence_transformers", "encoders/sbert.py"), ("faiss", "index/generations.py")):
        importers = [path.relative_to(PACKAGE).as_posix() for path in modules if library in _imports(path)]
        assert importers == [owner], (library, importers)


def test_no_module_is_over_the_limit() -> None:
    long = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def test_at_least_five_sub_packages() -> None:
    packages = [path.parent.name for path in PACKAGE.glob("*/__init__.py")]
    assert len(packages) >= 5, packages
