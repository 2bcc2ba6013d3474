"""The single-function provider: one Lambda function, itself the ServiceToken, on crhelper's CfnResource.

A thin adapter. create, update and delete run the same code as the Provider framework's on_event, and
poll_create, poll_update and poll_delete the same code as its is_complete (bedrock_custom_resource.index).
What crhelper 2.0.12 leaves open is closed here:
- polling has a deadline, the provider's total timeout (at most 1 hour), from the request's first invocation (an
  event delivered again keeps it);
- the polling rule and the Lambda permission get one short name per request (a hash, behind a fixed
  prefix that the function's IAM policy is scoped to), so any logical id fits EventBridge's 64 characters
  and a retried invocation reuses them rather than leaving one behind;
- they are removed by that name, whatever is already gone, and also when setting them up fails; a removal that
  fails is logged and does not fail the answer;
- a change of the function's policy refused while another is in progress is made again, not taken for an
  existing statement;
- a request that is complete at once is answered at once, with no rule, as the framework does;
- a Create or Update too long for its polling rule's target is refused before anything starts (synth checks the
  CDK's templates; a plain template is checked here);
- a failed Create answers with CREATE_FAILED as its physical id, so that the rollback's Delete is skipped;
- the lifecycle code's failure reasons are shortened from the end to crhelper's 256 characters (crhelper
  would keep the end).
The response PUT, which crhelper retries without end, is bounded by the function's timeout (set by the
construct), and deletes do not sleep (sleep_on_delete=0): the function's log group outlives every
request but the stack's own deletion, which deletes the log group anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import crhelper
from bedrock_custom_resource import index
from bedrock_custom_resource.environment import INTERVAL_VARIABLE, RULE_PREFIX_VARIABLE, TOTAL_TIMEOUT_VARIABLE
from bedrock_custom_resource.responses import bounded_reason
from botocore.exceptions import BotoCoreError, ClientError

from .polling_input import DEADLINE, MAX_TARGET_INPUT_CHARACTERS, polling_input_length

# The physical id of a Create that failed: its rollback Delete has nothing to delete.
CREATE_FAILED = "cdk-bedrock-customization::CREATE_FAILED"
# crhelper cuts a longer Reason to its last 240 characters.
MAX_REASON_CHARACTERS = 256
RULE_NAME_MAX_LENGTH = 64  # EventBridge's limit
_CRHELPER_KEYS = ("CrHelperData", "CrHelperPoll", "CrHelperRule", "CrHelperPermission")
_POLL_MARK = "CrHelperPoll"

logger = logging.getLogger(__name__)

# crhelper's stub declares only its public methods; this adapter overrides some of its private ones.
_CfnResource: Any = crhelper.CfnResource

# Seconds since the epoch, and a pause; the rehearsal replaces them with its simulated clock's.
now: Callable[[], float] = time.time
sleep: Callable[[float], None] = time.sleep
# Tries of a change of the function's policy that Lambda refuses while another is in progress, a second more apart
# each time (parallel requests of one stack set up polling on the same function at once).
POLICY_CHANGE_ATTEMPTS = 5


def polling_rule_name(event: Mapping[str, Any]) -> str:
    """The one name of a request's polling rule and Lambda permission: the same for every retry of it."""
    prefix = os.environ[RULE_PREFIX_VARIABLE]
    request = "\n".join(str(event[key]) for key in ("StackId", "LogicalResourceId", "RequestId"))
    return prefix + hashlib.sha256(request.encode()).hexdigest()[: RULE_NAME_MAX_LENGTH - len(prefix)]


class _OneNamePerRequest(_CfnResource):  # type: ignore[misc]
    """crhelper's polling rule and Lambda permission, under one short name per request (polling_rule_name): any
    logical id fits EventBridge's 64 characters, a retried invocation reuses them rather than leaving one behind,
    and they are removed by that name, whatever is already gone."""

    def _put_rule(self) -> str:
        response = self._events_client.put_rule(
            Name=polling_rule_name(self._event),
            ScheduleExpression=f"rate({self._polling_interval} minute{'s' if self._polling_interval != 1 else ''})",
            State="ENABLED",
            Description=f"Polls {self._event['LogicalResourceId']} of {self._event['StackId']}"[:512],
        )
        return str(response["RuleArn"])

    def _add_permission(self, rule_arn: str) -> str:
        statement_id = polling_rule_name(self._event)
        functions = self._lambda_client

        def add() -> None:
            try:
                functions.add_permission(
                    FunctionName=self._context.function_name,
                    StatementId=statement_id,
                    Action="lambda:InvokeFunction",
                    Principal="events.amazonaws.com",
                    SourceArn=rule_arn,
                )
            except functions.exceptions.ResourceConflictException:  # it exists, or another change is in progress
                if not self._has_statement(statement_id):
                    raise
                logger.info("Permission %s exists: this request was invoked before", statement_id)

        self._retried_on_conflict(add)
        return statement_id

    def _has_statement(self, statement_id: str) -> bool:
        functions = self._lambda_client
        try:
            policy = functions.get_policy(FunctionName=self._context.function_name)["Policy"]
        except functions.exceptions.ResourceNotFoundException:  # no policy yet
            return False
        return any(statement.get("Sid") == statement_id for statement in json.loads(policy).get("Statement", []))

    def _remove_polling(self) -> None:
        """Remove the polling rule's target, the permission and the rule, whatever is already gone. Best effort: a
        failure is logged and the answer goes on (a completed job must not fail its deployment for it). The first
        failure leaves the rest: a target left fires the next poll, which answers again and removes them."""
        self._event.pop("CrHelperData", None)
        self.Data.pop("PhysicalResourceId", None)
        self.Data.pop(DEADLINE, None)  # every answer goes through here
        name = polling_rule_name(self._event)
        events, functions = self._events_client, self._lambda_client
        function_name = self._context.function_name
        try:
            with contextlib.suppress(events.exceptions.ResourceNotFoundException):
                events.remove_targets(Rule=name, Ids=["1"])
            with contextlib.suppress(functions.exceptions.ResourceNotFoundException):
                self._retried_on_conflict(
                    lambda: functions.remove_permission(FunctionName=function_name, StatementId=name)
                )
            with contextlib.suppress(events.exceptions.ResourceNotFoundException):
                events.delete_rule(Name=name)
        except Exception as error:
            logger.error("Polling %s could not be removed, and what is left of it stays: %s", name, error)

    def _retried_on_conflict(self, change: Callable[[], object]) -> None:
        """A change of the function's policy, made again while Lambda refuses it for another change in progress
        (ResourceConflictException), which botocore does not retry."""
        for attempt in range(1, POLICY_CHANGE_ATTEMPTS + 1):
            try:
                change()
                return
            except self._lambda_client.exceptions.ResourceConflictException:
                if attempt == POLICY_CHANGE_ATTEMPTS:
                    raise
                sleep(attempt)


class _PollingThatFits(_OneNamePerRequest):
    """crhelper's polling setup, with a target input that fits EventBridge's limit, and undone when it fails half
    way."""

    def _setup_polling(self) -> None:
        # The rule target's input is limited to 8192 characters; polls do not need the old properties.
        self._event.pop("OldResourceProperties", None)
        try:
            super()._setup_polling()
        except Exception:
            self._remove_polling()
            raise


class _NoAnswerAtTimeout(_PollingThatFits):
    """crhelper's timer, half a second before the function's timeout, answers FAILED with an empty physical id,
    which CloudFormation refuses (it makes one up), and leaves the polling rule: one slow call would fail the
    deployment. Nothing is answered: a poll is made again by its rule, a first invocation by Lambda's retries of
    CloudFormation's asynchronous call (a create finds what it made by its names)."""

    def _timeout(self) -> None:
        logger.error("The function is about to time out; the request is left to its next poll or Lambda's retry")


class SingleFunctionProvider(_NoAnswerAtTimeout):
    """crhelper's CfnResource with the lifecycle code registered, and its gaps closed (see the module)."""

    def __init__(self, ssl_verify: bool | str | None = None) -> None:
        super().__init__(
            log_level="INFO",  # crhelper logs the whole event, ResponseURL included, at DEBUG
            polling_interval=int(os.environ[INTERVAL_VARIABLE]),
            sleep_on_delete=0,
            ssl_verify=ssl_verify,
        )
        self.total_timeout = float(os.environ[TOTAL_TIMEOUT_VARIABLE])
        for register in (self.create, self.update, self.delete):
            register(self._start)
        for register in (self.poll_create, self.poll_update, self.poll_delete):
            register(self._poll)

    # --- the adapter ----------------------------------------------------------------------------------

    def _start(self, event: dict[str, Any], _context: Any) -> str:
        """on_event, then is_complete once: the physical id.

        A request complete at once is marked in its event as crhelper marks a poll (CrHelperPoll): crhelper then
        sets up no polling, removes what an earlier, lost attempt at this request may have set up, and answers
        now, as the framework does. The mark is in the request's own event: nothing is kept on this warm
        instance for the next request.
        """
        request = _lifecycle_event(event)
        if request["RequestType"] == "Delete" and request["PhysicalResourceId"] == CREATE_FAILED:
            event[_POLL_MARK] = True
            return CREATE_FAILED
        try:
            if request["RequestType"] != "Delete":  # a Delete's properties passed this as its Create or Update
                _refuse_what_polling_cannot_hold(event)
            started = index.on_event(request)
        except Exception as error:
            return self._failed(error, CREATE_FAILED if request["RequestType"] == "Create" else None)
        physical_id = str(started["PhysicalResourceId"])
        self.Data.update(started.get("Data") or {})
        if self._check({**request, **started}):
            event[_POLL_MARK] = True
        else:
            self.Data[DEADLINE] = deadline = self._deadline()
            if index.DELETING_UNTIL_MARK in self.Data:  # counted from the first invocation too, as the deadline is
                first = deadline - self.total_timeout
                until = min(float(self.Data[index.DELETING_UNTIL_MARK]), index.cleanup_until(first))
                self.Data[index.DELETING_UNTIL_MARK] = str(until)
        return physical_id

    def _deadline(self) -> float:
        """The request's deadline: its first invocation's, kept in its polling rule's target (Lambda may deliver an
        event again), else the total timeout from now."""
        events = self._events_client
        try:
            targets = events.list_targets_by_rule(Rule=polling_rule_name(self._event))["Targets"]
        except events.exceptions.ResourceNotFoundException:  # the first invocation
            targets = []
        except (BotoCoreError, ClientError) as error:  # the job has started: this read must not fail the request
            logger.warning("The polling rule's targets could not be read (%s): the deadline counts from now", error)
            targets = []
        for target in targets:
            earlier = json.loads(target.get("Input") or "{}").get("CrHelperData", {}).get(DEADLINE)
            if earlier is not None:
                return float(earlier)
        return now() + self.total_timeout

    def _poll(self, event: Mapping[str, Any], _context: Any) -> str | None:
        """is_complete: the physical id once complete, None to be polled again."""
        physical_id = str(self.Data["PhysicalResourceId"])
        on_event_data = {key: value for key, value in self.Data.items() if key not in ("PhysicalResourceId", DEADLINE)}
        request = {**_lifecycle_event(event), "PhysicalResourceId": physical_id, "Data": on_event_data}
        if self._check(request):
            return physical_id
        if now() > float(self.Data[DEADLINE]):  # checked after the status: a late poll of a finished job succeeds
            minutes = round(self.total_timeout / 60)
            # The ids last: a reason is cut at the end, and a logical id may have 255 characters.
            message = (
                f"{event['RequestType']} did not complete within the provider's total timeout of {minutes} "
                f"minutes: {event['LogicalResourceId']} ({physical_id})"
            )
            return self._failed(TimeoutError(message), physical_id)
        return None

    def _check(self, request: Mapping[str, Any]) -> bool:
        """One is_complete; True once complete, with its Data laid over on_event's. A failure is recorded."""
        try:
            result = index.is_complete(request)
        except Exception as error:
            self._failed(error, None)
            return True
        if result["IsComplete"]:
            self.Data.update(result.get("Data") or {})
        return bool(result["IsComplete"])

    def _failed(self, error: Exception, physical_id: str | None) -> str:
        """Record the failure for crhelper's response; physical_id is the id it carries (None: the request's)."""
        logger.error("%s", error, exc_info=error)
        self.Status = crhelper.FAILED
        self.Reason = bounded_reason(str(error), MAX_REASON_CHARACTERS)
        return str(physical_id or self._event.get("PhysicalResourceId") or self.PhysicalResourceId)


def _refuse_what_polling_cannot_hold(event: Mapping[str, Any]) -> None:
    """Refuse, before anything is made, a Create or Update whose polling target Input would be over EventBridge's
    limit: setting up polling would fail once the job had started, and so would the rollback's Delete. A template of
    the CDK was checked at synth; a plain one is checked here. Not an Update to properties no longer than its old ones
    (a resource made before this check; an update rollback back to them), which would else be stuck. The ways out
    first, within the 200 characters of the reason that the cut keeps (MAX_REASON_CHARACTERS), then the largest
    properties, whose names may be long."""
    length = polling_input_length(event)
    if length <= MAX_TARGET_INPUT_CHARACTERS:
        return
    if "OldResourceProperties" in event:
        before = polling_input_length({**event, "ResourceProperties": event["OldResourceProperties"]})
        if length <= before:
            return
    properties = event.get("ResourceProperties") or {}
    sizes = sorted(((len(json.dumps(value)), name) for name, value in properties.items()), reverse=True)
    largest = ", ".join(f"{name} has {size:,}" for size, name in sizes[:2])
    raise ValueError(
        "ResourceProperties: too long for the single-function provider to poll. Nothing was created or changed: "
        "shorten them (fewer or shorter tags) or use the Provider framework's service token. Polling would take "
        f"about {length:,} characters, over EventBridge's {MAX_TARGET_INPUT_CHARACTERS:,} ({largest} as JSON)."
    )


def _lifecycle_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as the Provider framework gives it to on_event: no ResponseURL, nothing of crhelper's."""
    return {key: value for key, value in event.items() if key != "ResponseURL" and key not in _CRHELPER_KEYS}


_provider: SingleFunctionProvider | None = None


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda entry point."""
    global _provider
    if _provider is None:  # built on first use: its clients need the function's Region and credentials
        _provider = SingleFunctionProvider()
    _provider(event, context)
