"""CloudFormation's side of custom resource responses: the pre-signed ResponseURLs, served over local HTTPS.

One endpoint serves every stack of a local cloud, so that a request sent by one stack to a ServiceToken of
another (an imported provider) is answered where it waits. A response arrives in one of two ways:
- as an HTTPS PUT, as crhelper sends it (http.client, verifying the server with the ``ssl_verify`` it is
  given): the endpoint's certificate is a throwaway one for 127.0.0.1, issued by a throwaway CA whose
  certificate is in ``ca_file``;
- through the Provider framework host's bridge, which stands in for Node's https (``deliver``).

With a virtual clock, a response wakes the actor that waits for it through the clock: the sender (crhelper, or
the framework host's caller) stays busy until the PUT is answered, so time cannot move between the two.
"""

from __future__ import annotations

import logging
import socket
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import trustme

from .clock import Event, VirtualClock

_LOG = logging.getLogger(__name__)


class ResponseEndpoint:
    """Local ResponseURLs: ``url`` for a request, ``expect`` before sending it, then the response's wait.
    clock: the rehearsal's virtual clock (responses are then waited for in simulated seconds); without one,
    waits are in real seconds."""

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock
        authority = trustme.CA(organization_name="cdk-bedrock-customization rehearsal throwaway CA")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._directory = tempfile.TemporaryDirectory(prefix="deploy-local-tls-")
        self.ca_file = str(Path(self._directory.name) / "ca.pem")
        authority.cert_pem.write_to_path(self.ca_file)
        self._lock = threading.Lock()
        self._pending: dict[str, PendingResponse] = {}
        self._server = _HttpsServer(self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="response-endpoint", daemon=True
        )
        self._thread.start()

    def url(self, request_id: str) -> str:
        """The request's ResponseURL: its id last in the path, and a signature as a pre-signed URL has."""
        return f"https://127.0.0.1:{self._server.server_address[1]}/{request_id}?X-Amz-Signature=local"

    def expect(self, request_id: str) -> PendingResponse:
        """Register a request before it is sent; its responses are kept (a retried request may answer twice)."""
        pending = PendingResponse(self.clock)
        with self._lock:
            self._pending[request_id] = pending
        return pending

    def deliver(self, path: str, body: bytes) -> None:
        """A response PUT to path (the ResponseURL's path and query). KeyError: no request has that URL."""
        request_id = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            pending = self._pending[request_id]
        pending.add(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._directory.cleanup()


class PendingResponse:
    def __init__(self, clock: VirtualClock | None = None) -> None:
        self._clock = clock
        self._arrived: Event | threading.Event = clock.event() if clock is not None else threading.Event()
        self.bodies: list[bytes] = []

    def add(self, body: bytes) -> None:
        self.bodies.append(body)
        self._arrived.set()

    def wait(self, timeout: float) -> bytes | None:
        """The first response's body, or None when none arrived within timeout (simulated seconds on the
        clock, which only an actor may wait on; real seconds without one)."""
        if self._clock is not None:
            assert isinstance(self._arrived, Event)
            arrived = self._clock.wait(self._arrived, timeout)
        else:
            assert isinstance(self._arrived, threading.Event)
            arrived = self._arrived.wait(timeout)
        return self.bodies[0] if arrived else None


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: ResponseEndpoint, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.endpoint = endpoint
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs on the request's own thread, not on the thread that accepts connections.
        with self.context.wrap_socket(cast(socket.socket, request), server_side=True) as connection:
            _Handler(connection, client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("response endpoint: a request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            cast(_HttpsServer, self.server).endpoint.deliver(self.path, body)
        except KeyError:
            self._answer(404)
            return
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("response endpoint: " + format, *args)
