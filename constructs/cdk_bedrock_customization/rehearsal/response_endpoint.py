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

import ssl
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import trustme

from .clock import Event, VirtualClock
from .local_http import HttpRequest, HttpResponse, LocalHttpServer


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
        self._server = LocalHttpServer(self._answer, name="response-endpoint", tls=context).start()

    def url(self, request_id: str) -> str:
        """The request's ResponseURL: its id last in the path, and a signature as a pre-signed URL has."""
        return self._server.url(f"/{request_id}?X-Amz-Signature=local")

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
        self._server.stop()
        self._directory.cleanup()

    def _answer(self, request: HttpRequest) -> HttpResponse:
        """A PUT to a ResponseURL; 404 for a URL that no request has."""
        if request.method != "PUT":
            return HttpResponse(405)
        try:
            self.deliver(request.path, request.body)
        except KeyError:
            return HttpResponse(404)
        return HttpResponse(200)


class PendingResponse:
    def __init__(self, clock: VirtualClock | None = None) -> None:
        self._clock = clock
        self._arrived: Event | threading.Event = clock.event() if clock is not None else threading.Event()
        self.bodies: list[bytes] = []

    def add(self, body: bytes) -> None:
        self.bodies.append(body)
        self._arrived.set()

    def wait(self, timeout: float, unless: Callable[[], bool] | None = None) -> bytes | None:
        """The first response's body, or None when none arrived within timeout (simulated seconds on the
        clock, which only an actor may wait on; real seconds without one), or before unless() held (on the clock)."""
        if self._clock is not None:
            assert isinstance(self._arrived, Event)
            arrived_event, stop = self._arrived, unless or (lambda: False)
            self._clock.wait(lambda: arrived_event.is_set() or stop(), timeout)
            arrived = arrived_event.is_set()
        else:
            assert isinstance(self._arrived, threading.Event)
            arrived = self._arrived.wait(timeout)
        return self.bodies[0] if arrived else None
