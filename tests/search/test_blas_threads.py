"""The query path's BLAS threads (``qa.search.late.one_blas_thread``): one unless the environment
says otherwise. Run in fresh processes, since the setting is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import json; from qa.search.late import one_blas_thread; from threadpoolctl import threadpool_info;"
    "one_blas_thread(); print(json.dumps(sorted({i['num_threads'] for i in threadpool_info()"
    " if i['user_api'] == 'blas'})))"
)


@pytest.mark.parametrize(("variables", "expected"), [({}, [1]), ({"OPENBLAS_NUM_THREADS": "2"}, [2])])
def test_one_blas_thread_unless_the_environment_sets_it(
    variables: dict[str, str], expected: list[int]
) -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    if (os.cpu_count() or 1) < 2 and not variables:
        pytest.skip("one CPU: BLAS starts with one thread anyway")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**environment, **variables},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == expected
