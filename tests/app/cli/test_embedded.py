"""app.cli.embedded: the dev Payload's output is read until it is ready, then for as long
as it runs, and a Payload that stops talking or exits is a clear error, not a spin."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest

from app.cli.embedded import _wait_until_ready


def started(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)


def test_the_url_is_read_and_later_output_keeps_being_read():
    # 2 MB after "ready": more than a pipe holds, so nobody reading it would stall it.
    process = started(
        "import sys\n"
        "print('compiling', flush=True)\n"
        "print('payload ready on http://127.0.0.1:4321 (pid 1)', flush=True)\n"
        "for n in range(20000): print('chatty line', n, 'x' * 80)\n"
    )
    output = io.StringIO()
    assert _wait_until_ready(process, output) == "http://127.0.0.1:4321"
    assert process.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while "chatty line 19999" not in output.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert output.getvalue().startswith("[payload] compiling\n")
    assert "[payload] chatty line 19999" in output.getvalue()


def test_a_payload_that_exits_before_it_is_ready_says_its_exit_code():
    process = started("print('Error: Cannot find module dist/index.js', flush=True); exit(3)")
    output = io.StringIO()
    with pytest.raises(RuntimeError, match="exited with code 3"):
        _wait_until_ready(process, output)
    assert "Cannot find module" in output.getvalue()
