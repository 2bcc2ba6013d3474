"""``cdk-bedrock-customization emulate-bedrock`` run as a harness runs it (a process whose printed URL line is read,
stopped by its process id), a local EventBridge endpoint that records what it is sent, and a bounded wait."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

URL_LINE = re.compile(r"emulate-bedrock listening on (http://127\.0\.0\.1:[0-9]+)\n")
# Bounds a wait; never a duration anything is expected to take.
DEADLINE = 60.0
T = TypeVar("T")


def until(read: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    """read()'s first truthy value, read again and again until the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = read()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"still waiting for {what} after {deadline} s (last read: {value!r})")
        time.sleep(0.05)


def client(service: str, url: str, region: str = "us-east-1", **config: Any) -> Any:
    """A boto3 client of the emulator at url, with throwaway credentials."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config),
    )


def environment() -> dict[str, str]:
    """This process's environment without AWS settings that would point the emulator's clients elsewhere, and
    without Python paths that would let a venv's command import another's code."""
    dropped = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


@dataclass
class EmulatorProcess:
    process: subprocess.Popen[str]
    url: str
    stderr_path: Path

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send signum and wait for the exit: its code."""
        self.process.send_signal(signum)
        return self.process.wait(timeout=DEADLINE)

    def stderr(self) -> str:
        return self.stderr_path.read_text()


@contextmanager
def emulator_process(command: Sequence[str | Path], *options: str) -> Iterator[EmulatorProcess]:
    """The command (``... emulate-bedrock``) with options, once it has printed its URL; killed by its id at the end
    if it still runs."""
    with tempfile.TemporaryDirectory() as directory:
        stderr_path = Path(directory) / "stderr"
        with stderr_path.open("w") as stderr:  # a file: a pipe nobody reads would fill and stall the server
            process = subprocess.Popen(
                [*map(str, command), *options], stdout=subprocess.PIPE, stderr=stderr, text=True, env=environment()
            )
        try:
            first_line = _first_line(process)
            found = URL_LINE.fullmatch(first_line)
            if found is None:
                raise AssertionError(f"printed {first_line!r}, not its URL; stderr:\n{stderr_path.read_text()}")
            yield EmulatorProcess(process, found.group(1), stderr_path)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=DEADLINE)
            assert process.stdout is not None
            process.stdout.close()


def _first_line(process: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=DEADLINE)
    except queue.Empty:
        raise AssertionError(f"no line printed within {DEADLINE} s") from None


class EventBridgeRecorder:
    """A local EventBridge endpoint: records every PutEvents entry and accepts it, or refuses each one (refuse)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.entries: list[dict[str, Any]] = []
        self.targets: list[str] = []  # each request's X-Amz-Target
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                recorder.targets.append(self.headers["X-Amz-Target"])
                recorder.entries += body["Entries"]
                if refuse:
                    results = [{"ErrorCode": "InternalException", "ErrorMessage": "refused by the test"}]
                else:
                    results = [{"EventId": str(index)} for index, _ in enumerate(body["Entries"])]
                answer = json.dumps({"FailedEntryCount": len(results) if refuse else 0, "Entries": results}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> EventBridgeRecorder:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def details(self) -> list[dict[str, Any]]:
        """Each recorded entry's Detail, parsed."""
        return [json.loads(entry["Detail"]) for entry in self.entries]
