"""CloudFormation's wait conditions, played locally: each WaitConditionHandle is a local URL (SignalServer),
and a WaitCondition waits on the virtual clock for the signals PUT to its handle (sent by the notifier
function when Bedrock's job state change events, or the backstop's schedule, invoke it), until its Count
arrived, a failure did, its Timeout ran out, or the stack operation failed elsewhere (the wait is cancelled)."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .clock import VirtualClock
from .local_http import HttpRequest, HttpResponse, LocalHttpServer
from .reporting import Printer
from .stack_resources import Deployed, ResourceFailed

PROGRESS_INTERVAL = 900.0  # simulated seconds between the progress bars of a long wait
# A handle's URL is presigned when CloudFormation creates the handle, for 24 hours (X-Amz-Expires=86399), whatever
# its wait condition's Timeout: a signal after that is refused (S3's 403, "Request has expired").
HANDLE_URL_LIFETIME = 86399.0


def _well_formed(signal: Any) -> bool:
    """A signal as CloudFormation's SignalResource takes it (botocore's model): a UniqueId of 1 to 64 characters and a
    Status of SUCCESS or FAILURE. A wait condition's signals each need their own UniqueId: one sent again replaces
    the earlier (SignalServer keeps the latest)."""
    if not isinstance(signal, dict):
        return False
    unique_id = signal.get("UniqueId")
    return isinstance(unique_id, str) and 1 <= len(unique_id) <= 64 and signal.get("Status") in ("SUCCESS", "FAILURE")


class SignalServer:
    """Local wait condition handle URLs, and the signals PUT to them. A signal wakes its wait through the
    clock while the signaller (an actor) waits for the PUT's answer, so time cannot move in between."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._signals: dict[str, dict[str, dict[str, Any]]] = {}  # each handle's path: its signals by UniqueId
        self._created: dict[str, float] = {}  # each handle's path: when its URL was presigned
        self._lock = threading.Lock()
        self._cancelled = False
        self._server = LocalHttpServer(self._receive, name="wait-condition-handles").start()

    def _receive(self, request: HttpRequest) -> HttpResponse:
        if request.method != "PUT":
            return HttpResponse(405)
        path = request.path.split("?", 1)[0]
        with self._lock:
            if self._clock.now() - self._created.get(path, self._clock.now()) > HANDLE_URL_LIFETIME:
                return HttpResponse(403)
            try:
                signal = json.loads(request.body)
            except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
                return HttpResponse(400)
            if not _well_formed(signal):
                return HttpResponse(400)
            self._signals.setdefault(path, {})[signal["UniqueId"]] = signal
        self._clock.notify()
        return HttpResponse(200)

    def new_handle(self, logical_id: str) -> str:
        path = f"/wait/{logical_id}/{uuid.uuid4().hex}"
        with self._lock:
            self._created[path] = self._clock.now()
        return self._server.url(path)

    def wait_for(self, handle_url: str, count: int, timeout: float) -> list[dict[str, Any]] | None:
        """The signals to handle_url once count arrived, or a failure did; fewer when timeout (simulated
        seconds) runs out; None when the waits were cancelled."""
        path = "/" + handle_url.split("/", 3)[3]

        def settled() -> bool:
            with self._lock:
                signals = list(self._signals.get(path, {}).values())
                return (
                    self._cancelled
                    or len(signals) >= count
                    or any(signal.get("Status") == "FAILURE" for signal in signals)
                )

        self._clock.wait(settled, timeout)
        with self._lock:
            return None if self._cancelled else list(self._signals.get(path, {}).values())

    def cancel_waits(self, cancelled: bool = True) -> None:
        """Stop every wait in progress (a stack operation failed), or allow waits again."""
        with self._lock:
            self._cancelled = cancelled
        self._clock.notify()

    def close(self) -> None:
        self._server.stop()


class WaitConditions:
    """One stack's handles and wait conditions. record(deployed): records the wait condition as it starts
    waiting, so that the notifier, listing the stack's resources, sees it CREATE_IN_PROGRESS; started(deployed):
    then CloudFormation's Resource Status Change event goes to EventBridge."""

    def __init__(
        self,
        clock: VirtualClock,
        printer: Printer,
        record: Callable[[Deployed], None],
        started: Callable[[Deployed], None],
    ) -> None:
        self.clock = clock
        self.printer = printer
        self._record = record
        self._started = started
        self._signals = SignalServer(clock)

    def new_handle(self, logical_id: str) -> str:
        return self._signals.new_handle(logical_id)

    def cancel_waits(self, cancelled: bool = True) -> None:
        self._signals.cancel_waits(cancelled)

    def close(self) -> None:
        self._signals.close()

    def wait(self, logical_id: str, properties: Mapping[str, Any]) -> Deployed:
        """Create a wait condition: wait for its signals. ResourceFailed: a failure signal, a timeout, or the
        wait was cancelled."""
        handle_url = str(properties["Handle"])
        count = int(properties.get("Count", 1))
        timeout = float(properties["Timeout"])
        deployed = Deployed(
            logical_id,
            "AWS::CloudFormation::WaitCondition",
            f"{handle_url}#condition",
            dict(properties),
            {"__status": "CREATE_IN_PROGRESS"},
        )
        self._record(deployed)  # the notifier sees it waiting
        self._started(deployed)
        with self._progress(logical_id, self.clock.now(), timeout):
            signals = self._signals.wait_for(handle_url, count, timeout)
        failure = _failure(signals, count)
        if failure:
            deployed.attributes["__status"] = "CREATE_FAILED"
            raise ResourceFailed(f"{logical_id}: {failure}")
        assert signals is not None
        deployed.attributes = {
            "__status": "CREATE_COMPLETE",
            "Data": json.dumps({s["UniqueId"]: s.get("Data", "") for s in signals}),
        }
        return deployed

    @contextlib.contextmanager
    def _progress(self, logical_id: str, started: float, timeout: float) -> Iterator[None]:
        """A progress bar for a long wait, every simulated 15 minutes."""
        done = self.clock.event()

        def show() -> None:
            while not self.clock.sleep(PROGRESS_INTERVAL, until=done):
                elapsed = self.clock.now() - started
                filled = min(int(20 * elapsed / timeout), 20)
                self.printer.line(
                    f"  {logical_id} waiting for its job [{'#' * filled}{'.' * (20 - filled)}] "
                    f"{_duration(elapsed)} of up to {_duration(timeout)}"
                )

        self.clock.spawn(show, name=f"progress-{logical_id}")
        try:
            yield
        finally:
            done.set()


def _failure(signals: list[dict[str, Any]] | None, count: int) -> str:
    """Why a wait condition that received signals (None: its wait was cancelled) failed; "" when it did not."""
    if signals is None:
        return "Resource creation cancelled"
    failures = [s for s in signals if s.get("Status") == "FAILURE"]
    if failures:
        failure = failures[0]
        return (
            f"WaitCondition received failed message: '{failure.get('Reason')}' for uniqueId: {failure.get('UniqueId')}"
        )
    if len(signals) < count:
        return f"WaitCondition timed out. Received {len(signals)} conditions when expecting {count}"
    return ""


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
