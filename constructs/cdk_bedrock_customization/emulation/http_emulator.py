"""``cdk-bedrock-customization emulate-bedrock``: the Bedrock stand-in of the tests and the rehearsal, served over
HTTP to other engines (a local AWS emulator running the library's functions with ``AWS_ENDPOINT_URL_BEDROCK``
pointing here, or any boto3 client with ``endpoint_url``).

How: moto's own server needs Flask, which the ``rehearse`` extra does not bring, and the stand-in answers its
operations in botocore's before-send, not in moto's server. So a standard-library ``ThreadingHTTPServer`` hands
each request, as botocore would have prepared it (method, ``https://bedrock.<Region>.amazonaws.com`` + the path,
headers, body; the Region from its SigV4 credential scope), to ``BedrockEmulator`` (``bedrock_emulator``), which
answers it exactly as the in-process chain does: the stand-in's ``serve`` for the emulated operations, else
moto's request dispatch, with the stand-in's patches on moto's classes active in this process. Validation,
idempotency tokens and quotas are therefore the stand-in's, and so are its gaps (an operation it does not emulate
answers 500, naming moto's NotImplementedError). Requests signed for other services go to moto as well: the
emulated evaluation jobs read their datasets from, and write their results to, this process's moto S3.

Time is real here, the one place it is right (a server for other engines): the rehearsal's ``BedrockWorld``
moves jobs, imports, copies, evaluations, deployments and throughput on over a real clock, each step taking
``--job-seconds`` (a job's validation half of it; a job whose name contains a ``--failing-job`` text fails in
training). With ``--events-endpoint``, the customization jobs' state change events (as the rehearsal
emits them, the notifier's shape) go to that EventBridge endpoint with PutEvents; a failure is logged.

It listens on 127.0.0.1, prints one line, ``emulate-bedrock listening on http://127.0.0.1:PORT``, and stops on
SIGTERM or SIGINT (exit 0). What the world does is logged to stderr.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .bedrock_emulator import BedrockEmulator, Emit, EventSender

HOST = "127.0.0.1"
logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    server: _Server

    def _answer(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):  # botocore sends a length; the rest is unread
            self.send_error(411, "emulate-bedrock reads only bodies sent with a Content-Length")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.emulator.answer(self.command, self.path, dict(self.headers.items()), body)
        headers = {name: value for name, value in answer.headers.items() if name.lower() != "content-length"}
        # A HEAD's length is the one a GET would send (RFC 9110 8.6: HeadObject's ContentLength), not its empty body's.
        given = [value for name, value in answer.headers.items() if name.lower() == "content-length"]
        headers["Content-Length"] = given[0] if self.command == "HEAD" and given else str(len(answer.body))
        self.send_response(answer.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, emulator: BedrockEmulator) -> None:
        self.emulator = emulator
        super().__init__((HOST, port), _Handler)


@contextmanager
def serving(
    port: int = 0,
    job_seconds: float = 30.0,
    emit: Emit | None = None,
    failing_jobs: Iterable[str] = (),
    clock: Any = None,
) -> Iterator[tuple[str, BedrockEmulator]]:
    """The emulator, served on port (0: a free one) until the block ends: its URL and itself. clock: RealClock's
    stand-in, for a test that moves time itself."""
    emulator = BedrockEmulator(job_seconds, emit or (lambda _event: None), failing_jobs=failing_jobs, clock=clock)
    try:
        server = _Server(port, emulator)
    except BaseException:
        emulator.close()
        raise
    thread = threading.Thread(target=server.serve_forever, name="emulate-bedrock", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}", emulator
    finally:
        server.shutdown()
        server.server_close()
        emulator.close()


def run(port: int, job_seconds: float, events_endpoint: str | None, failing_jobs: Iterable[str] = ()) -> int:
    """Serve until SIGTERM or SIGINT: 0; 2 when the port cannot be had."""
    stop = threading.Event()
    sender = EventSender(events_endpoint) if events_endpoint else None
    with ExitStack() as stack:
        for signum in (signal.SIGTERM, signal.SIGINT):
            stack.callback(signal.signal, signum, signal.signal(signum, lambda *_args: stop.set()))
        stack.enter_context(_logging_to_stderr())
        if sender is not None:
            stack.callback(sender.close)  # after the server: what the worlds emitted is delivered
        try:
            url, _emulator = stack.enter_context(serving(port, job_seconds, sender, failing_jobs))
        except OSError as error:
            print(f"emulate-bedrock: cannot listen on {HOST}:{port}: {error}", file=sys.stderr)
            return 2
        print(f"emulate-bedrock listening on {url}", flush=True)
        stop.wait()
    return 0


@contextmanager
def _logging_to_stderr() -> Iterator[None]:
    """What the worlds report, and failures, to stderr; not botocore's chatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("emulate-bedrock: %(message)s"))
    emulation = logging.getLogger(__package__)
    level = emulation.level
    emulation.setLevel(logging.INFO)
    emulation.addHandler(handler)
    try:
        yield
    finally:
        emulation.removeHandler(handler)
        emulation.setLevel(level)
