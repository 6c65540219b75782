"""The README's Python example, run as written: its ```python block, in a folder holding `corpus/`
with the article and `index/` built, by this interpreter in a fresh process."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from qa.core.config import Settings
from tests.conftest import ARTICLE, ROOT


def test_the_readme_python_example_prints_the_cited_answer(
    article_settings: Settings, tmp_path: Path
) -> None:
    [example] = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    (tmp_path / "corpus").mkdir()
    shutil.copy(ARTICLE, tmp_path / "corpus" / ARTICLE.name)
    shutil.copytree(article_settings.index_dir, tmp_path / "index")  # built from the same article
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "UNIDO" in result.stdout and f"({ARTICLE.name}, characters " in result.stdout
