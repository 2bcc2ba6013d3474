"""Lambda for one stack's functions, as custom resource requests, EventBridge and the Provider framework
invoke them:
- a Python function runs in-process, each invocation in its own environment (lambda_environment.py);
- the single-function provider (crhelper) runs as Lambda runs it (SingleFunctionRuntime), and the polling
  rules it makes are handed to EventBridge to play;
- a Node.js function (the Provider framework's) runs in its runtime (FrameworkHost), and so does the
  framework's waiter state machine (Step Functions), on the virtual clock.
A function of another stack of the cloud (an imported provider) is invoked in that stack.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .clock import Event
from .framework_host import CallResult, FrameworkHost, FrameworkHostError, InvokeResult, Waiter
from .lambda_environment import invocation_environment
from .reporting import Printer
from .response_endpoint import ResponseEndpoint
from .single_function import HANDLER as SINGLE_FUNCTION_HANDLER
from .single_function import Function, SingleFunctionRuntime, lambda_runtime_variables
from .stack_resources import Deployed, ResourceFailed, StackResources

FUNCTION = "AWS::Lambda::Function"
# (function ARN, handler, environment, payload) -> the result of an in-process Python invocation.
PythonRunner = Callable[[str, str, Mapping[str, str], Mapping[str, Any]], InvokeResult]
# (function ARN, payload) -> the delays, in simulated seconds each after the attempt before it, of Lambda's retries of
# that asynchronous invocation, whose attempts but the last failed or timed out after doing their work (none: the
# first succeeded). Lambda retries a function error twice, LAMBDA_RETRY_DELAYS apart (a timeout fails at the
# function's timeout), and keeps a throttled event for up to 6 hours.
LateRetries = Callable[[str, Mapping[str, Any]], Sequence[float]]
LAMBDA_RETRY_DELAYS = (60.0, 120.0)


class Throttled(tuple[float, ...]):
    """A LateRetries answer for an invocation that Lambda throttled: its first attempt does nothing (the function does
    not run), and the event is delivered after these delays."""


class LambdaService:
    """The Lambda service of one stack.

    guard: held around in-process Python functions, so that they and BedrockWorld's ticks do not interleave;
    closed: set when the stack closes (a waiter still running, or a retry not yet delivered, then ends with it);
    retry_first_user_invocation(function ARN, payload): whether Lambda runs that invocation twice, at once, as after a
    timeout; late_retries: when Lambda delivers an asynchronous invocation again, later (LateRetries);
    invoke_elsewhere(function ARN, payload): the invocation of a function of another stack (None: no stack has it);
    run_python: runs in-process Python invocations (by default invoke_python);
    polling_rules_changed(function ARN): called, guard held, after each single-function invocation."""

    def __init__(
        self,
        resources: StackResources,
        printer: Printer,
        guard: threading.RLock,
        responses: ResponseEndpoint,
        closed: Event,
        *,
        retry_first_user_invocation: Callable[[str, Mapping[str, Any]], bool],
        invoke_elsewhere: Callable[[str, Mapping[str, Any]], InvokeResult | None],
        polling_rules_changed: Callable[[str], None],
        late_retries: LateRetries = lambda _arn, _payload: (),
        run_python: PythonRunner | None = None,
    ) -> None:
        self.resources = resources
        self.clock = resources.clock
        self.printer = printer
        self.guard = guard
        self.closed = closed
        self.retry_first_user_invocation = retry_first_user_invocation
        self.late_retries = late_retries
        self._invoke_elsewhere = invoke_elsewhere
        self._polling_rules_changed = polling_rules_changed
        self._run_python = run_python or self.invoke_python
        self.single_functions = SingleFunctionRuntime(resources.env.region, responses.ca_file, self.clock.now)
        self._host = FrameworkHost(
            invoke_function=self.invoke, start_execution=self._start_execution, deliver_response=responses.deliver
        )
        self._host.__enter__()

    def close(self) -> None:
        self._host.__exit__(None, None, None)

    def has_function(self, function_arn: str) -> bool:
        return self._find_function(function_arn) is not None

    def _find_function(self, function_arn: str) -> Deployed | None:
        name = function_arn.split(":")[6] if function_arn.count(":") >= 6 else function_arn
        return self.resources.find(FUNCTION, name)

    def _function(self, function_arn: str) -> Deployed:
        found = self._find_function(function_arn)
        if found is None:
            raise ResourceFailed(f"Lambda function {function_arn} does not exist")
        return found

    def invoke(self, function_arn: str, payload: Mapping[str, Any]) -> InvokeResult:
        """Invoke a function of the stack (or, by its ARN, of another stack of the cloud): Python in-process,
        Node through the framework host."""
        if self._find_function(function_arn) is None:
            elsewhere = self._invoke_elsewhere(function_arn, payload)
            if elsewhere is not None:
                return elsewhere
        function = self._function(function_arn)
        handler = function.properties["Handler"]
        if str(function.properties.get("Runtime", "")).startswith("nodejs"):
            return _as_invoke_result(self._run_node_function(function, dict(payload)))
        if handler == SINGLE_FUNCTION_HANDLER:
            return self._invoke_single_function(function_arn, function, payload)
        return self._run_python(function_arn, handler, _variables(function), payload)

    def invoke_async(self, function_arn: str, payload: Mapping[str, Any]) -> None:
        """An asynchronous invocation: its error goes to the function's log only. Lambda's retries of it
        (late_retries) come later on the clock, whatever the stack has done since (see _retry_later)."""
        own = self.has_function(function_arn)
        delays = self.late_retries(function_arn, payload)
        if isinstance(delays, Throttled):
            self.printer.line(f"Lambda throttles {function_arn.rsplit(':', 1)[-1]}: the function does not run")
        else:
            self._attempt(function_arn, payload)
        if delays:
            self.clock.spawn(self._retry_later, function_arn, dict(payload), tuple(delays), own, name="lambda-retry")

    def _attempt(self, function_arn: str, payload: Mapping[str, Any]) -> None:
        result = self.invoke(function_arn, payload)
        if result.function_error:
            self.printer.line(f"Lambda {function_arn.rsplit(':', 1)[-1]} failed: {result.payload}")

    def _retry_later(self, function_arn: str, payload: Mapping[str, Any], delays: tuple[float, ...], own: bool) -> None:
        """Lambda's retries of an asynchronous invocation, each delay after the attempt before. Lambda delivers the
        event as it was, though CloudFormation may have cancelled that request, rolled it back, or completed or
        deleted the stack since: a late request. It drops the event once the function is gone: own, the function
        was this stack's (a stack created again under its name has functions of the same names here, where
        CloudFormation would draw new ones)."""
        name = function_arn.rsplit(":", 1)[-1]
        for delay in delays:
            if self.clock.sleep(delay, until=self.closed):
                return  # the cloud closed first (a deleted stack of the cloud stays open till then)
            request = f"{payload.get('RequestType', 'an event')} {payload.get('LogicalResourceId', '')}".strip()
            self.printer.line(f"Lambda retries {name}: {request} (the stack is {self.resources.stack_status})")
            try:
                if own and not self.has_function(function_arn):
                    raise ResourceFailed(f"Lambda function {function_arn} does not exist")
                self._attempt(function_arn, payload)
            except ResourceFailed:  # no stack has the function any more
                self.printer.line(f"Lambda drops the retry of {name}: the function is gone")
                return

    def invoke_python(
        self, function_arn: str, handler: str, environment: Mapping[str, str], payload: Mapping[str, Any]
    ) -> InvokeResult:
        module_name, entry = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name), entry)
        attempts = 2 if self.retry_first_user_invocation(function_arn, payload) else 1
        with self.guard, invocation_environment(environment):
            try:
                for _ in range(attempts):  # a retried invocation: the first one's result is lost
                    result = function(dict(payload), None)
            except Exception as error:
                return InvokeResult({"errorType": type(error).__name__, "errorMessage": str(error)}, "Unhandled")
        return InvokeResult(result if result is not None else {}, None)

    # --- the single-function provider -------------------------------------------------------------------

    def start_single_function(self, function: Deployed) -> None:
        """Lambda creates the function: it exists in moto's Lambda, with an execution environment ready."""
        described, variables = self._single_function(function)
        with self.guard, invocation_environment(variables):
            self.single_functions.start(described, variables)

    def forget(self, function: Deployed) -> None:
        """Lambda deletes the function (a single function's execution environment and moto's copy go)."""
        with self.guard:
            self.single_functions.forget(function.physical_id)

    def _single_function(self, function: Deployed) -> tuple[Function, dict[str, str]]:
        """What Lambda knows of a single function, and its environment as Lambda's runtime sets it."""
        properties = function.properties
        described = Function(
            name=function.physical_id,
            arn=str(function.attributes["Arn"]),
            runtime=str(properties.get("Runtime", "python3.12")),
            timeout_seconds=float(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
        )
        region = self.resources.env.region
        variables = {**_variables(function), **lambda_runtime_variables(described.name, region, described.memory)}
        return described, variables

    def _invoke_single_function(
        self, function_arn: str, function: Deployed, payload: Mapping[str, Any]
    ) -> InvokeResult:
        """The single-function provider, as Lambda runs it; then the polling rules it made are played. The
        invocation takes no simulated time: its caller is busy throughout (its response PUT included), as an
        invocation takes milliseconds in AWS against the provider's deadline in minutes."""
        described, variables = self._single_function(function)
        attempts = 2 if self.retry_first_user_invocation(function_arn, payload) else 1
        with self.guard, invocation_environment(variables):
            try:
                self.single_functions.invoke(described, variables, payload, attempts)
            except Exception as error:
                return InvokeResult({"errorType": type(error).__name__, "errorMessage": str(error)}, "Unhandled")
            finally:
                self._polling_rules_changed(described.arn)
        return InvokeResult({}, None)

    # --- Node.js: the Provider framework and its waiter (Step Functions) ----------------------------------

    def _run_node_function(self, function: Deployed, event: dict[str, Any]) -> CallResult:
        entry = function.properties["Handler"].rsplit(".", 1)[1]
        key = str(function.properties["Code"]["S3Key"])
        asset_dir = self.resources.asset_folder(f"asset.{key.removesuffix('.zip')}")
        return self._host.call(asset_dir, entry, _variables(function), event)

    def _start_execution(self, state_machine_arn: str, execution_input: str) -> None:
        machine = self.resources.find("AWS::StepFunctions::StateMachine", state_machine_arn)
        if machine is None:
            raise ResourceFailed(f"State machine {state_machine_arn} does not exist")
        definition = json.loads(machine.properties["DefinitionString"])
        waiter = Waiter(definition, self._run_waiter_task, self.clock)

        def run() -> None:
            try:
                waiter.run(execution_input)
            except FrameworkHostError:
                if not self.closed.is_set():
                    raise  # the stack closed under a running execution: it ends with it
            except ResourceFailed:
                if self.resources.find("AWS::StepFunctions::StateMachine", state_machine_arn) is not None:
                    raise  # its state machine deleted (with its stack): Step Functions stops its executions

        # On a bridge thread, for an actor busy in its framework call: the waiter is counted busy from here.
        self.clock.spawn(run, name="waiter")

    def _run_waiter_task(self, function_arn: str, event: dict[str, Any]) -> CallResult:
        return self._run_node_function(self._function(function_arn), event)


def _variables(function: Deployed) -> dict[str, str]:
    """The function's environment variables, as its template sets them."""
    variables = function.properties.get("Environment", {}).get("Variables", {})
    return {str(name): str(value) for name, value in variables.items()}


def _as_invoke_result(result: CallResult) -> InvokeResult:
    if result.ok:
        return InvokeResult(result.result if isinstance(result.result, dict) else {}, None)
    return InvokeResult({"errorType": result.error_type, "errorMessage": result.error_message}, "Unhandled")
