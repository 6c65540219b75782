"""``make serve`` as a user stops it: SIGTERM to the server, or Ctrl-C to the whole terminal group.

Both stop the server gracefully with status 0, so make reports no error ("*** [serve]
Terminated" was what a stop looked like). On Ctrl-C make itself also gets SIGINT and, as make
always does, ends by that signal; it prints no error line."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import psutil
import pytest

from qa.core.config import Settings
from tests.conftest import ROOT, free_port


def _make_serve(settings: Settings) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_PORT": str(port),
    }
    make = subprocess.Popen(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert make.poll() is None, make.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return make, port
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    make.kill()
    pytest.fail("make serve did not become ready")


def test_sigterm_to_the_server_stops_make_serve_with_status_0(article_settings: Settings) -> None:
    make, _ = _make_serve(article_settings)
    [server] = psutil.Process(make.pid).children()
    server.send_signal(signal.SIGTERM)
    _, stderr = make.communicate(timeout=60)
    assert make.returncode == 0, stderr
    assert "make: ***" not in stderr and "Traceback" not in stderr


def test_ctrl_c_stops_make_serve_without_an_error_line(article_settings: Settings) -> None:
    make, _ = _make_serve(article_settings)
    [server] = psutil.Process(make.pid).children()
    os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C sends: every process of the foreground group
    server.wait(timeout=60)  # psutil reports no status for a process that is not its child
    _, stderr = make.communicate(timeout=60)
    assert "Application shutdown complete" in stderr  # the server stopped gracefully ...
    assert "make: ***" not in stderr and "Traceback" not in stderr  # ... and make saw no failure
