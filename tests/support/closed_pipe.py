"""Running Python code whose standard output's reader has gone (`| head`) before it writes."""

from __future__ import annotations

import os
import subprocess
import sys

CLI_MAIN = "import sys; from cdk_bedrock_customization import cli; sys.exit(cli.main())"


def with_reader_gone(code: str, *arguments: str) -> tuple[int, str]:
    """The exit code and stderr of ``python -c code arguments`` when the reader of its stdout has gone before it
    writes: every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *arguments],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr
