"""The CDK Provider framework's own runtime, run locally.

aws-cdk-lib writes the framework (framework.js, outbound.js, cfn-response.js, consts.js, util.js) into the cloud
assembly as the code of a Provider's framework functions. FrameworkHost runs that code, unchanged, in one
long-lived Node.js process (framework_host.js), and answers what it would ask of AWS through a local HTTP
bridge:
- Lambda.invoke of a user function (onEvent, isComplete): the ``invoke_function`` callback;
- SFN.startExecution of the waiter state machine: the ``start_execution`` callback (run a Waiter);
- the response PUT to the pre-signed ResponseURL: the ``deliver_response`` callback (CloudFormation's side).

Waiter plays the waiter state machine (the framework's isComplete task, retried, then onTimeout) from the
state machine's definition, its waits on the rehearsal's virtual clock.

A call blocks its caller on real I/O with Node (and Node's bridge requests run callbacks on bridge threads
meanwhile): the caller stays busy for the clock, so simulated time stands still during a call.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import subprocess
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .clock import VirtualClock
from .local_http import HttpRequest, HttpResponse, LocalHttpServer

__all__ = ["CallResult", "Execution", "FrameworkHost", "FrameworkHostError", "InvokeResult", "Waiter"]

_LOG = logging.getLogger(__name__)
_SCRIPT = Path(__file__).with_name("framework_host.js")
# The module of the Provider framework's functions in their asset: the Node.js code this host runs.
FRAMEWORK_MODULE = "framework"
# Set per call from the call's env; never inherited from this process's environment.
FRAMEWORK_VARIABLES = ("USER_ON_EVENT_FUNCTION_ARN", "USER_IS_COMPLETE_FUNCTION_ARN", "WAITER_STATE_MACHINE_ARN")


class FrameworkHostError(RuntimeError):
    """The Node.js process could not start or has ended, or the host is closed."""


@dataclass(frozen=True)
class InvokeResult:
    """What Lambda.invoke answers: the function's JSON result (any JSON value; the error document when
    function_error is set) and the FunctionError header ("Unhandled" for a handler that raised)."""

    payload: object
    function_error: str | None = None

    @classmethod
    def from_exception(cls, error: BaseException) -> InvokeResult:
        """The answer of Lambda's Python runtime for a handler that raised error."""
        return cls(
            {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": "",
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
            "Unhandled",
        )


@dataclass(frozen=True)
class CallResult:
    """How a framework function call ended. error_type is what Lambda's Node.js runtime reports (error.name:
    "Error" for the framework's Retry too); is_retry tells isComplete's Retry ("not complete yet") apart."""

    ok: bool
    result: object = None
    error_type: str | None = None
    error_message: str | None = None
    trace: tuple[str, ...] = ()
    is_retry: bool = False
    logs: tuple[str, ...] = ()

    def error_payload(self) -> dict[str, object]:
        """The error document Lambda returns for the failed call; Step Functions passes it, as JSON, as Cause."""
        return {"errorType": self.error_type, "errorMessage": self.error_message, "trace": list(self.trace)}


InvokeFunction = Callable[[str, dict[str, Any]], InvokeResult]
StartExecution = Callable[[str, str], None]
DeliverResponse = Callable[[str, bytes], None]


class FrameworkHost:
    """Runs framework functions in Node.js: ``with FrameworkHost(...) as host: host.call(...)``.

    Callbacks are called from bridge threads, possibly several at once:
    - invoke_function(function_arn, payload) runs a user function. A handler's exception must come back as
      an InvokeResult with function_error set (see InvokeResult.from_exception); raising means the Lambda API
      call itself failed (e.g. no such function): the framework then waits for the function to be active and
      invokes it once more, as outbound.js does.
    - start_execution(state_machine_arn, input) starts the waiter; it should return at once (run the Waiter
      on a thread).
    - deliver_response(path, body) receives the response PUT: path is the ResponseURL's path and query,
      body the exact bytes. Raising answers HTTP 500, which the framework retries (5 times, with backoff).
    log receives the framework's log lines (its console output); the default logs them at DEBUG level.
    """

    def __init__(
        self,
        invoke_function: InvokeFunction,
        start_execution: StartExecution,
        deliver_response: DeliverResponse,
        *,
        log: Callable[[str], None] | None = None,
        node: str = "node",
        startup_timeout: float = 30.0,
    ) -> None:
        self.invoke_function = invoke_function
        self.start_execution = start_execution
        self.deliver_response = deliver_response
        self._log = log or _LOG.debug
        self._node = node
        self._startup_timeout = startup_timeout
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._ready = threading.Event()
        self._ended: str | None = None  # why calls can no longer be made
        self._server: LocalHttpServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> FrameworkHost:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise FrameworkHostError("the framework host is not started")
        return self._server.port

    def start(self) -> None:
        """Start the bridge and the Node.js process; wait until Node.js is ready."""
        if self._server is not None:
            raise FrameworkHostError("the framework host is already started")
        try:
            self._server = LocalHttpServer(_Bridge(self).answer, name="framework-host-bridge").start()
            environment = {name: value for name, value in os.environ.items() if name not in FRAMEWORK_VARIABLES}
            try:
                self._process = subprocess.Popen(
                    [self._node, str(_SCRIPT), str(self.port)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=environment,
                )
            except OSError as error:
                raise FrameworkHostError(f"cannot run {self._node!r}: {error}") from error
            self._spawn(target=self._read_stdout, args=(self._process.stdout,), name="framework-host-stdout")
            self._spawn(target=self._read_stderr, args=(self._process.stderr,), name="framework-host-stderr")
            if not self._ready.wait(self._startup_timeout) or self._ended is not None:
                raise FrameworkHostError(f"node did not start: {self._ended or 'timed out'}")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop Node.js (calls still running fail with FrameworkHostError) and the bridge. Idempotent."""
        with self._lock:
            if self._ended == "closed":
                return
            self._ended = "closed"
        process = self._process
        if process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # framework_host.js exits when stdin ends
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._fail_pending(FrameworkHostError("the framework host is closed"))
        if self._server is not None:
            self._server.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if process is not None:
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()

    def _spawn(self, target: Callable[..., object], name: str, args: tuple[object, ...] = ()) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- calls -------------------------------------------------------------------------------------------

    def call(
        self,
        asset_dir: Path | str,
        entry: str,
        env: Mapping[str, str],
        event: Mapping[str, Any],
        *,
        module: str = FRAMEWORK_MODULE,
    ) -> CallResult:
        """Run ``<asset_dir>/<module>.js``'s ``entry`` (onEvent, isComplete or onTimeout) on event, with the
        function's environment variables env; block until it ends. Thread-safe; calls run concurrently."""
        request = {
            "asset": str(Path(asset_dir).resolve()),
            "module": module,
            "entry": entry,
            "env": {str(name): str(value) for name, value in env.items()},
            "event": dict(event),
        }
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._ended is not None or self._process is None:
                raise FrameworkHostError(f"the framework host cannot run calls: {self._ended or 'not started'}")
            call_id = next(self._ids)
            self._pending[call_id] = future
        line = json.dumps({"id": call_id, **request}).encode() + b"\n"
        stdin = self._process.stdin
        try:
            with self._write_lock:
                assert stdin is not None
                stdin.write(line)
                stdin.flush()
        except (OSError, ValueError) as error:  # ValueError: stdin closed by close()
            with self._lock:
                self._pending.pop(call_id, None)
            raise FrameworkHostError(f"cannot send the call to node: {error}") from error
        message = future.result()
        if message.get("ok"):
            return CallResult(True, message.get("result"), logs=tuple(message.get("logs") or ()))
        return CallResult(
            False,
            error_type=message.get("errorType"),
            error_message=message.get("errorMessage"),
            trace=tuple(message.get("trace") or ()),
            is_retry=bool(message.get("retry")),
            logs=tuple(message.get("logs") or ()),
        )

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            try:
                message: object = json.loads(raw)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                self._log(f"framework_host: not a protocol line: {raw!r}")
                continue
            if message.get("ready"):
                self._ready.set()
                continue
            with self._lock:
                future = self._pending.pop(int(message.get("id") or 0), None)
            if future is None:
                self._log(f"framework_host: answer to no call: {message}")
            else:
                future.set_result(message)
        code: int | None = None
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._process.wait(timeout=5)
        with self._lock:
            self._ended = self._ended or f"node exited with code {code}"
        self._fail_pending(FrameworkHostError(f"node exited with code {code}"))
        self._ready.set()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._log(raw.decode("utf-8", "replace").rstrip("\n"))

    def _fail_pending(self, error: FrameworkHostError) -> None:
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            future.set_exception(error)


class _Bridge:
    """What the bridge answers framework_host.js: the AWS SDK calls it stands in for (POST /lambda/...,
    /sfn/...) and the response PUT (/response/<the ResponseURL's path and query>), each answered in JSON; a
    callback's error answers 500 with the error's name and message, as an AWS service exception."""

    def __init__(self, host: FrameworkHost) -> None:
        self.host = host
        self._calls: dict[str, Callable[[Mapping[str, Any]], object]] = {
            "/lambda/invoke": self._invoke,
            "/lambda/wait-until-active": lambda _request: {},  # functions are active as soon as they exist
            "/sfn/start-execution": self._start_execution,
        }

    def answer(self, request: HttpRequest) -> HttpResponse:
        handle = self._handler(request)
        if handle is None:
            return _json(404, {"name": "UnknownOperationException", "message": request.path})
        try:
            return _json(200, handle(request.body))
        except Exception as error:
            _LOG.debug("bridge: %s %s failed", request.method, request.path, exc_info=True)
            return _json(500, {"name": type(error).__name__, "message": str(error)})

    def _handler(self, request: HttpRequest) -> Callable[[bytes], object] | None:
        """What answers the request, from its body; None when nothing does."""
        call = self._calls.get(request.path)
        if request.method == "POST" and call is not None:
            return lambda body: call(json.loads(body))
        if request.method == "PUT" and request.path.startswith("/response/"):
            path = request.path.removeprefix("/response")
            return lambda body: self.host.deliver_response(path, body)
        return None

    def _invoke(self, request: Mapping[str, Any]) -> dict[str, Any]:
        text = request.get("Payload") or ""
        result = self.host.invoke_function(str(request["FunctionName"]), json.loads(text) if text else {})
        try:
            return {"Payload": json.dumps(result.payload), "FunctionError": result.function_error}
        except (TypeError, ValueError) as error:  # as the Python runtime answers an unserializable result
            document = {"errorMessage": f"Unable to marshal response: {error}", "errorType": "Runtime.MarshalError"}
            return {"Payload": json.dumps(document), "FunctionError": "Unhandled"}

    def _start_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(request["stateMachineArn"])
        self.host.start_execution(arn, str(request["input"]))
        name = str(request.get("name") or uuid.uuid4())
        prefix, found, machine = arn.partition(":stateMachine:")
        return {"executionArn": f"{prefix}:execution:{machine}:{name}" if found else f"{arn}:{name}"}


def _json(status: int, document: object) -> HttpResponse:
    """A JSON answer; None is an empty body (the response PUT's answer)."""
    body = b"" if document is None else json.dumps(document).encode()
    return HttpResponse(status, {"content-type": "application/json"}, body)


# --- the waiter state machine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    """How a waiter execution ended: status SUCCEEDED, FAILED or ABORTED; invocations lists the state of each
    task invocation in order; waited_seconds is the simulated time spent between retries."""

    status: str
    output: object = None
    error: str | None = None
    cause: str | None = None
    invocations: tuple[str, ...] = ()
    waited_seconds: float = 0.0


class Waiter:
    """Runs executions of a state machine made of Lambda Task states (the Provider framework's waiter:
    isComplete, retried on any error at IntervalSeconds x BackoffRate^n up to MaxAttempts times, then caught
    into onTimeout) as Step Functions would, every wait a sleep on the virtual clock (run executions on the
    clock's actors: ``clock.spawn(waiter.run, execution_input)``).

    definition is the state machine's definition (the DefinitionString once Fn::Join is resolved, as text or
    parsed). run_function(function_arn, event) runs a task's function. A failed task's error is Lambda's
    errorType (``"Error"`` for the framework's Retry) and its cause Lambda's error document as JSON; a Catch
    replaces the state's input with ``{"Error": error, "Cause": cause}`` (the default ResultPath ``$``), which is
    what framework.js's onTimeout reads: ``JSON.parse(JSON.parse(event.Cause).errorMessage)``.
    Not played: Timeout/Heartbeat, JitterStrategy, ResultPath/InputPath/OutputPath/Parameters.
    """

    def __init__(
        self,
        definition: Mapping[str, Any] | str,
        run_function: Callable[[str, dict[str, Any]], CallResult],
        clock: VirtualClock,
    ) -> None:
        self.definition: dict[str, Any] = json.loads(definition) if isinstance(definition, str) else dict(definition)
        self.run_function = run_function
        self.clock = clock
        self._cancelled = clock.event()
        states = self.definition.get("States", {})
        if self.definition.get("StartAt") not in states:
            raise ValueError("the state machine's StartAt names no state")
        for name, state in states.items():
            unsupported = set(state) & {"InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector"}
            if state.get("Type") != "Task" or "Resource" not in state or unsupported:
                raise ValueError(f"state {name}: only Lambda Task states without paths or parameters are played")
            targets = [state.get("Next")] if not state.get("End") else []
            targets += [catcher.get("Next") for catcher in state.get("Catch", [])]
            if any(target not in states for target in targets):
                raise ValueError(f"state {name}: Next or Catch names no state")

    def cancel(self) -> None:
        """End executions at their next wait or state (status ABORTED)."""
        self._cancelled.set()

    def run(self, execution_input: str) -> Execution:
        """Run one execution to its end, on this thread."""
        states: dict[str, Any] = self.definition["States"]
        name: str = self.definition["StartAt"]
        data: object = json.loads(execution_input)
        invocations: list[str] = []
        waited = 0.0

        def ended(status: str, **details: Any) -> Execution:
            return Execution(status, invocations=tuple(invocations), waited_seconds=waited, **details)

        while True:
            state = states[name]
            retries = [0] * len(state.get("Retry", []))
            while True:
                if self._cancelled.is_set():
                    return ended("ABORTED")
                if not isinstance(data, dict):
                    raise ValueError(f"state {name}: the input is not a JSON object: {data!r}")
                invocations.append(name)
                result = self.run_function(str(state["Resource"]), data)
                if result.ok:
                    break
                error = result.error_type or "States.TaskFailed"
                cause = json.dumps(result.error_payload(), separators=(",", ":"))
                delay = _retry_delay(state.get("Retry", []), retries, error)
                if delay is None:
                    break
                waited += delay
                if self.clock.sleep(delay, until=self._cancelled):
                    return ended("ABORTED")
            if not result.ok:
                catcher = next((c for c in state.get("Catch", []) if _matches(c["ErrorEquals"], error)), None)
                if catcher is None:
                    return ended("FAILED", error=error, cause=cause)
                data, name = {"Error": error, "Cause": cause}, str(catcher["Next"])
                continue
            data = result.result
            if state.get("End"):
                return ended("SUCCEEDED", output=data)
            name = str(state["Next"])


def _matches(error_equals: list[str], error: str) -> bool:
    return "States.ALL" in error_equals or error in error_equals


def _retry_delay(retriers: list[dict[str, Any]], used: list[int], error: str) -> float | None:
    """The wait before the next attempt, in seconds, or None when no retry is left. The first
    retrier whose ErrorEquals matches applies (Step Functions' defaults: 1 s, 3 attempts, backoff 2)."""
    for index, retrier in enumerate(retriers):
        if _matches(retrier["ErrorEquals"], error):
            if used[index] >= int(retrier.get("MaxAttempts", 3)):
                return None
            delay = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** used[index]
            used[index] += 1
            return min(delay, float(retrier["MaxDelaySeconds"])) if "MaxDelaySeconds" in retrier else delay
    return None
