"""The Bedrock stand-in as a service for other engines: requests in, answers out, and resources that move on in
real time (``http_emulator`` serves it over HTTP).

A request is answered as a stand-in's instrumented client would have it answered in-process: the stand-in first
(``bedrock_stand_in.responses.serve``: the emulated operations, with their validation), then moto's own
request dispatch (``BotocoreStubber.process_request``, what ``mock_aws`` calls from botocore's before-send), with
the stand-in's compensations installed on moto's classes for as long as the emulator lives. Requests for other
services go to moto too: the emulated evaluation jobs read and write moto's S3 in this process.

Each account and Region that a Bedrock request names gets a ``BedrockStandIn`` and a ``BedrockWorld`` (the
rehearsal's), which moves its jobs, imports, copies, evaluations, deployments and throughput on over
``RealClock``, every step taking ``job_seconds`` (validation half of it), and emits the customization jobs'
state change events. One lock keeps requests and the worlds' ticks apart.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

import boto3
from bedrock_custom_resource import contract
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from moto.core.botocore_stubber import BotocoreStubber

from ..rehearsal.bedrock_world import MINUTE, BedrockWorld, Timings
from ..rehearsal.clock import VirtualClock
from .bedrock_stand_in import BedrockStandIn, install_moto_compensations
from .bedrock_stand_in.responses import _request_backend, serve
from .patches import Patches

logger = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
# The Region and service of a SigV4 request, from its credential scope.
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
# Headers the HTTP server writes itself (Content-Length too, but for a HEAD: see http_emulator).
_SERVERS_OWN = {"transfer-encoding", "connection", "date", "server"}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class RealClock:
    """What BedrockWorld asks of its clock (now, event, spawn, sleep, wait), on real time."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic

    def now(self) -> float:
        return self._monotonic()

    def event(self) -> threading.Event:
        return threading.Event()

    def spawn(self, target: Callable[..., object], *args: Any, name: str | None = None) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    def sleep(self, seconds: float | None, until: threading.Event | None = None, *, first: bool = False) -> bool:
        if until is None:
            time.sleep(max(seconds or 0.0, 0.0))
            return False
        return until.wait(None if seconds is None else max(seconds, 0.0))

    def wait(self, ready: threading.Event, timeout: float | None = None) -> bool:
        return ready.wait(timeout)


def timings(job_seconds: float, failing_jobs: Iterable[str] = ()) -> Timings:
    """Every step takes job_seconds (a job's validation half of it); jobs whose name contains one of
    failing_jobs fail in training."""
    minutes = job_seconds / MINUTE
    steps = ("job", "stop", "import", "copy", "deployment", "throughput", "update", "evaluation")
    durations: dict[str, Any] = {f"{step}_minutes": minutes for step in steps}
    return Timings(validation_minutes=minutes / 2, failing_jobs=tuple(failing_jobs), **durations)


class _Returns:
    """Stands for a client in BedrockWorld.watch, which wakes the world when a call returns: here, when the
    emulator has answered a request."""

    def __init__(self) -> None:
        self.meta = self.events = self
        self._handlers: list[Callable[..., object]] = []

    def register(self, _event_name: str, handler: Callable[..., object]) -> None:
        self._handlers.append(handler)

    def returned(self) -> None:
        for handler in self._handlers:
            handler()


class _NoPatches:
    """The compensations are installed once for the emulator; the stand-in's own retry shortcut is for tests'
    clients, not for the emulator's events client."""

    def setattr(self, target: Any, name: str, value: Any) -> None:
        return None


class BedrockEmulator:
    """Bedrock of every account and Region that requests name, moving on in real time (see the module)."""

    def __init__(self, job_seconds: float, emit: Emit, *, failing_jobs: Iterable[str] = (), clock: Any = None):
        self.lock = threading.RLock()
        self.timings = timings(job_seconds, failing_jobs)
        self._emit = emit
        self._clock = clock if clock is not None else RealClock()
        self._worlds: dict[tuple[str, str], tuple[BedrockWorld, _Returns]] = {}
        self._patches = Patches()
        self._exit = contextlib.ExitStack()
        self._exit.callback(self._patches.undo)  # last: after the worlds have stopped
        install_moto_compensations(self._patches)
        self._stubber = BotocoreStubber()

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """The answer to one HTTP request (path: as sent, percent-encoded, with its query string)."""
        scope = _SCOPE.search(_header(headers, "authorization"))
        if scope is None:
            return _error(403, "MissingAuthenticationTokenException", "the request is not signed with SigV4")
        region, service = scope.groups()
        try:
            return self._answer(service, _prepared(method, path, headers, body, service, region))
        except Exception as error:  # a server answers every request; the traceback goes to the log
            logger.exception("%s %s failed", method, path)
            return _error(500, "InternalServerException", f"emulate-bedrock: {type(error).__name__}: {error}")

    def _answer(self, service: str, request: AWSPreparedRequest) -> Answer:
        """The stand-in's answer to a Bedrock request it emulates, else moto's (for any service)."""
        returns = None
        try:
            with self.lock:
                if service == "bedrock":
                    returns = self._world_of(request)
                    operation = operation_of(request.method, request.url)
                    response = serve(request, operation) if operation else None
                    if response is not None:
                        return Answer(response.status_code, _plain(response.headers), response.content)
                moto = self._stubber.process_request(request)
        finally:
            if returns is not None:
                returns.returned()
        if moto is None:
            return _error(404, "UnknownOperationException", f"no {service} operation at {request.method} {request.url}")
        status, headers, body = moto
        return Answer(status, _plain(headers), body.encode() if isinstance(body, str) else body)

    def _world_of(self, request: AWSPreparedRequest) -> _Returns:
        """The world of the request's account and Region, started on its first request."""
        backend = _request_backend(request)
        key = (backend.account_id, backend.region_name)
        if key not in self._worlds:
            bedrock = BedrockStandIn(_NoPatches(), region=backend.region_name, account_id=backend.account_id)
            # BedrockWorld uses only what RealClock has of VirtualClock's (see RealClock).
            world = BedrockWorld(bedrock, cast(VirtualClock, self._clock), self.timings, self._emit, logger.info)
            world.lock = self.lock
            returns = _Returns()
            world.watch(returns)
            self._worlds[key] = (self._exit.enter_context(world), returns)
        return self._worlds[key][1]

    def tick(self) -> None:
        """Move every world on now (their own threads do so when due; a test with its own clock calls this)."""
        with self.lock:
            for world, _returns in self._worlds.values():
                world.tick()

    def close(self) -> None:
        """Stop the worlds and undo the compensations."""
        self._exit.close()


# --- requests and answers -----------------------------------------------------------------------------


@functools.cache
def _routes() -> list[tuple[str, re.Pattern[str], int, str]]:
    """(method, path pattern, literal characters, operation) of every operation of the handler's service model,
    the most literal first: a label matches one percent-encoded segment ({label+}: the rest)."""
    model = contract.service_model()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        parts = re.split(r"(\{[^}]+\})", uri)
        pattern = "".join(
            (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
        )
        literal = sum(len(part) for part in parts if not part.startswith("{"))
        routes.append((http["method"], re.compile(pattern), literal, name))
    return sorted(routes, key=lambda route: -route[2])


def operation_of(method: str, url: str) -> str | None:
    """The Bedrock operation a request is for, by its method and URL's path."""
    bare = urlsplit(url).path
    return next((name for verb, pattern, _, name in _routes() if verb == method and pattern.fullmatch(bare)), None)


def _prepared(
    method: str, path: str, headers: Mapping[str, str], body: bytes, service: str, region: str
) -> AWSPreparedRequest:
    """The request as botocore would have prepared it for AWS: moto and the stand-in read the service's host."""
    host = "s3.amazonaws.com" if service == "s3" else f"{service}.{region}.amazonaws.com"
    sent = HTTPHeaders.from_dict({key: value for key, value in headers.items() if key.lower() != "host"})
    sent["Host"] = host
    return AWSPreparedRequest(method, f"https://{host}{path}", sent, body, False)


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _plain(headers: Mapping[str, Any]) -> dict[str, str]:
    """The headers to send on, less those the server writes itself."""
    return {str(key): str(value) for key, value in headers.items() if str(key).lower() not in _SERVERS_OWN}


def _error(status: int, code: str, message: str) -> Answer:
    body = json.dumps({"message": message}).encode()
    return Answer(status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body)


# --- state change events ------------------------------------------------------------------------------


class EventSender:
    """Puts each state change event into the EventBridge endpoint with PutEvents, one at a time and off the
    request path (a world emits while it holds the lock); a failure to deliver is logged, never raised."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulate-bedrock-events")
        self._clients: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        self._executor.submit(self._put, event)

    def _put(self, event: Mapping[str, Any]) -> None:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": list(event["resources"]),
            "Time": datetime.fromisoformat(event["time"]),
        }
        try:
            result = self._client(event["region"]).put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as error:
            logger.warning("could not put the %s event into %s: %s", event["detail-type"], self.endpoint, error)
            return
        if result.get("FailedEntryCount"):
            reason = result["Entries"][0].get("ErrorMessage") or result["Entries"][0].get("ErrorCode")
            logger.warning("%s refused the %s event: %s", self.endpoint, event["detail-type"], reason)

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            session = boto3.session.Session()
            # A local EventBridge takes any credentials; without any, botocore would not sign at all.
            key = None if session.get_credentials() else "local"
            config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
            self._clients[region] = session.client(
                "events",
                region_name=region,
                endpoint_url=self.endpoint,
                config=config,
                aws_access_key_id=key,
                aws_secret_access_key=key,
            )
        return self._clients[region]

    def close(self) -> None:
        """Deliver what was emitted, then stop."""
        self._executor.shutdown(wait=True)
