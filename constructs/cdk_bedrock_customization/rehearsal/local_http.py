"""The one local HTTP server of the rehearsal and its tests' stand-ins.

Every local endpoint (the ResponseURLs, the wait condition handles, the Provider framework host's bridge, the
tests' presigned URLs) is a function from a request to a response: LocalHttpServer serves such a function on
127.0.0.1, on a port the system picks, over TLS when given a context. Each request runs on its own daemon
thread, so that a request still inside its function (an endpoint holding a PUT) never keeps the process up.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

_LOG = logging.getLogger(__name__)
# How often serve_forever checks for a stop: a stop waits at most this long.
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # path and query string, as sent
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


@dataclass(frozen=True)
class HttpResponse:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)  # Content-Length is added
    body: bytes = b""


Answer = Callable[[HttpRequest], HttpResponse]


class LocalHttpServer:
    """Serves answer(request) on 127.0.0.1: ``with LocalHttpServer(answer) as server: server.url("/path")``, or
    start() and stop(). tls: the server's context (certificate included) for HTTPS. An exception raised by
    answer closes the connection unanswered, and is logged at DEBUG level with any other failed request
    (e.g. a TLS handshake that a client refused) under name."""

    def __init__(self, answer: Answer, *, name: str, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.name = name
        self.tls = tls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None  # kept once stopped: the port it served on

    def __enter__(self) -> LocalHttpServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalHttpServer:
        """Listen on a free port and serve on a daemon thread; returns the server."""
        if self._server is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._server = _Server(self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": _POLL_SECONDS}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name}: not started")
        return self._port

    def url(self, path: str) -> str:
        """The URL of path (with its query) on this server."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        """Stop listening (requests still in answer finish on their own threads). Idempotent."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request may be inside a long answer when the server stops
    request_queue_size = 128  # many requests at once: a full listen backlog would stall connects for 1 s

    def __init__(self, owner: LocalHttpServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.owner.tls is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs on the request's own thread, not on the thread that accepts connections.
        with self.owner.tls.wrap_socket(cast(socket.socket, request), server_side=True) as connection:
            _Handler(connection, client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("%s: a request from %s failed", self.owner.name, client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        owner = cast(_Server, self.server).owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = owner.answer(HttpRequest(self.command, self.path, headers, body))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s: " + format, cast(_Server, self.server).owner.name, *args)
