"""Entry points of the CDK Provider framework: on_event and is_complete.

Both dispatch on the event's ResourceType. The event's ResponseURL is never logged.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from . import aws, contract, lifecycle, model_jobs
from .aws import cloudformation_client, error_code
from .environment import CLEANUP_WAIT_VARIABLE
from .responses import HandlerFailed, bounded_reason, encodable, error_message

# Each declared resource type's handler module.
HANDLERS: dict[str, ModuleType] = {
    resource_type: importlib.import_module(f".{declared.handler}", __package__)
    for resource_type, declared in contract.CONTRACTS.items()
}

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def on_event(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    return _run("on_event", event, context)


def is_complete(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    return _run("is_complete", event, context)


def _run(entry: str, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    _log_request(entry, event)
    # Read once per request: a second read that failed (taken as not rolling back) would create what the first let by.
    makes_nothing = lifecycle.MAKES_NOTHING.set(
        functools.cache(functools.partial(_makes_nothing, event.get("StackId", "")))
    )
    under_way = lifecycle.OPERATION_UNDER_WAY.set(functools.partial(operation_under_way, event.get("StackId", "")))
    removed = lifecycle.REMOVED_BY_THE_UPDATE.set(functools.partial(removed_by_the_update, event.get("StackId", "")))
    time_left = lifecycle.TIME_LEFT.set(functools.partial(_time_left, context))
    clients = aws.REQUEST_CLIENTS.set({})
    try:
        handler = _handler(event)
        late = _late(handler, entry, event)
        if late is not None:
            return late
        if entry == "is_complete" and _deleting_what_a_cancelled_update_made(handler, event):
            return {"IsComplete": False}
        named = _naming_what_was_made(handler, event, entry)
        of_nothing = _of_nothing(entry, event)
        left = None if of_nothing is not None else _left_by_rollback(handler, named, entry)
        result: dict[str, Any]
        if of_nothing is not None:
            result = of_nothing
        elif left is not None:
            logger.info("Left %s as it is: %s", named["PhysicalResourceId"], left)
            result = _left_as_it_is(entry, event)
        else:
            result = getattr(handler, entry)(named)
        if entry == "on_event":  # also when the stack's resource is gone: what the cancelled update made is not
            deleting = _removing_what_a_cancelled_update_made(handler, event, result["PhysicalResourceId"])
            if deleting is not None:
                result = _polls_deleting(result, deleting)
            _removing_what_this_cancelled_request_made(handler, event, result["PhysicalResourceId"])
            if left is None:
                _removing_what_an_unfinished_update_made(handler, named)
    except Exception as error:
        nothing = _delete_of_an_id_bedrock_refuses(entry, event, error)
        if nothing is not None:
            return nothing
        if _poll_again(entry, event, error):
            return {"IsComplete": False}
        message = error_message(error)
        reason = bounded_reason(message if message is not None else f"{type(error).__name__}, unreadable")
        if reason == message:
            raise
        # What the framework cannot send as it is (too long, a lone surrogate, unreadable) is replaced by reason.
        logger.error("%s failed: %s", entry, encodable(message) if message is not None else reason)
        raise HandlerFailed(reason) from error
    finally:
        lifecycle.MAKES_NOTHING.reset(makes_nothing)
        lifecycle.OPERATION_UNDER_WAY.reset(under_way)
        lifecycle.REMOVED_BY_THE_UPDATE.reset(removed)
        lifecycle.TIME_LEFT.reset(time_left)
        aws.REQUEST_CLIENTS.reset(clients)
    if entry == "on_event" and event["RequestType"] == "Delete":
        result = {**result, "PhysicalResourceId": event["PhysicalResourceId"]}  # a Delete keeps its id
        if named is not event:  # what was found in place of the made-up id is told to the polls
            result["Data"] = {**(result.get("Data") or {}), MADE_MARK: named["Data"][MADE_MARK]}
    return result


def _time_left(context: Any) -> float | None:
    """The seconds left to this Lambda invocation (its context), None without one: the single function passes none,
    its timeout being shorter than one call may take, by design (_provider_kinds.SINGLE_FUNCTION_TIMEOUT)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return None if remaining is None else remaining() / 1000


# In the answer of a Delete whose physical id CloudFormation made up, which its polls are given: the ARN of what the
# create made, so that they neither look for it again nor read the stack's events.
MADE_MARK = "cdk-bedrock-customization:made"
# In the answer of a rollback's Update, which its polls are given: the ARN of what the update it undoes made that
# Bedrock would not delete yet (one still being created), and until when (seconds since the epoch) they ask again.
# Both stay among the resource's attributes, which nothing reads.
DELETING_MARK = "cdk-bedrock-customization:deleting"
DELETING_UNTIL_MARK = "cdk-bedrock-customization:deletingUntil"
# What DELETING_UNTIL_MARK counts from (a rehearsal replaces it with its simulated clock).
now: Callable[[], float] = time.time


def _polls_deleting(result: dict[str, Any], made: str) -> dict[str, Any]:
    """on_event's result, telling its polls to delete made (DELETING_MARK) for as long as the provider lets them wait
    (CLEANUP_WAIT_VARIABLE: its total timeout less two query intervals, so that the rollback is answered before the
    provider would fail it, and the stack's rollback with it)."""
    started = now()
    until = cleanup_until(started)
    if until <= started:
        _left_billed(made, "the provider's total timeout leaves no time to wait for it")
        return result
    marks = {DELETING_MARK: made, DELETING_UNTIL_MARK: str(until)}
    return {**result, "Data": {**(result.get("Data") or {}), **marks}}


def cleanup_until(started: float) -> float:
    """When the polls of a request first invoked at started stop asking Bedrock to delete what a cancelled update
    made (CLEANUP_WAIT_VARIABLE)."""
    return started + max(float(os.environ.get(CLEANUP_WAIT_VARIABLE) or 0), 0)


def _deleting_what_a_cancelled_update_made(handler: ModuleType, event: Mapping[str, Any]) -> bool:
    """For a poll of a rollback's Update told to delete what the update it undoes made (_polls_deleting): ask Bedrock
    to delete it; True while that poll must be answered "not complete". Best effort: a failure is logged, and the
    rollback goes on."""
    carried = event.get("Data")
    if event.get("RequestType") != "Update" or not isinstance(carried, Mapping):
        return False
    made, until = carried.get(DELETING_MARK), carried.get(DELETING_UNTIL_MARK)
    if not isinstance(made, str) or not isinstance(until, str):
        return False
    refused: Exception | None = None
    try:
        if handler.delete_now(made):
            return False
    except Exception as error:
        refused = error
    busy = refused is not None and error_code(refused) == "ConflictException"  # still being created or changed
    waiting = now() < float(until)
    if refused is not None and not busy and not (waiting and _transient(refused)):
        logger.error("What a cancelled update made (%s) could not be deleted: %s", made, refused)
        return False
    if waiting:  # a transient error is asked again, as a poll's own read that failed so
        if refused is not None:
            logger.warning(
                "What a cancelled update made (%s) could not be deleted yet (%s): asked again", made, refused
            )
        return True
    if busy:
        _left_billed(made, "Bedrock did not let this rollback delete it within the provider's total timeout")
    else:
        logger.warning("Bedrock is deleting %s, made by a cancelled update: this rollback does not wait for it", made)
    return False


def _left_billed(made: str, why: str) -> None:
    logger.error(
        "%s is still being created or changed, which Bedrock does not delete, and %s: it stays, and is billed as it "
        "would be. A deploy of the same configuration that completes adopts it; otherwise delete it by hand once it "
        "is ready",
        made,
        why,
    )


def _delete_of_an_id_bedrock_refuses(entry: str, event: Mapping[str, Any], error: Exception) -> dict[str, Any] | None:
    """The answer to a Delete that failed because Bedrock refuses its physical id (ValidationException), when a Get of
    it is refused too (the id is its only input): an id of this type's ARN shape (the handlers' patterns are loose,
    so that anything that may be a resource is deleted) that names nothing Bedrock can hold. None: not that case."""
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    if event.get("RequestType") != "Delete" or code != "ValidationException":
        return None
    handler = _handler(event)
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    physical_id = event.get("PhysicalResourceId", "")
    if kind is None or not kind.arn_pattern.fullmatch(physical_id):
        return None
    client = handler.bedrock_client()
    try:
        kind.get(client, physical_id)
    except client.exceptions.ValidationException:
        logger.info("Bedrock refuses %s as an identifier: it names nothing to delete", physical_id)
        return {"PhysicalResourceId": physical_id} if entry == "on_event" else {"IsComplete": True}
    except Exception as unread:  # the Delete's own failure is answered, not this one
        logger.info("Could not tell whether Bedrock refuses %s as an identifier: %s", physical_id, unread)
    return None


# Errors of a read that say nothing of the resource read: another read may not get them.
TRANSIENT_READ_ERRORS = frozenset(
    {"InternalServerException", "ServiceUnavailableException", "ThrottlingException", "ResourceNotFoundException"}
)


def _poll_again(entry: str, event: Mapping[str, Any], error: Exception) -> bool:
    """Whether a poll of a Create or Update that failed is answered "not complete", to be polled again: its read
    failed transiently, or its resource cannot be read (Bedrock may not show yet what it has just made). A failed poll
    fails the request, whose rollback deletes its physical id, and a Delete that reads nothing takes the resource for
    gone: a job or throughput Bedrock made would go on, outside the stack. So a poll fails only once the resource
    reads; the provider's total timeout still bounds the polls. A Delete's poll that failed transiently is polled
    again too: failing it would fail a stack's delete, or its rollback, for a read the next poll makes."""
    if entry == "is_complete" and event.get("RequestType") == "Delete":
        again = _transient(error) and error_code(error) != "ResourceNotFoundException"  # gone: the Delete's to answer
        if again:
            logger.warning("Polling the delete of %s failed (%s): polled again", event.get("PhysicalResourceId"), error)
        return again
    if entry != "is_complete" or event.get("RequestType") not in ("Create", "Update"):
        return False
    try:
        handler = _handler(event)
    except Exception:  # the request's own failure is answered
        return False
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    physical_id = event.get("PhysicalResourceId", "")
    if kind is None or not kind.arn_pattern.fullmatch(physical_id):
        return False
    if _transient(error):
        logger.warning("Polling %s failed (%s): polled again", physical_id, error)
        return True
    try:
        unread = kind.get(handler.bedrock_client(), physical_id) is None
    except Exception as read_error:
        unread = _transient(read_error)
    if unread:
        logger.warning("%s cannot be read (%s): polled again, as Bedrock may not show it yet", physical_id, error)
    return unread


def _transient(error: Exception) -> bool:
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in TRANSIENT_READ_ERRORS


def _naming_what_was_made(handler: ModuleType, event: Mapping[str, Any], entry: str) -> Mapping[str, Any]:
    """The event; for a Delete whose physical id CloudFormation made up (lifecycle.made_by), with the ARN of what
    the create made instead, so that it is stopped or deleted as the policy that sent the Delete asks, and with that
    ARN in its Data (MADE_MARK). Its polls take the ARN from there."""
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    physical_id = event.get("PhysicalResourceId", "")
    if event.get("RequestType") != "Delete" or kind is None or kind.arn_pattern.fullmatch(physical_id):
        return event
    if physical_id.startswith(lifecycle.NOTHING_MADE):  # a rollback's answer that made nothing: nothing to delete
        return event
    carried = event.get("Data")
    if entry == "is_complete" and isinstance(carried, Mapping) and isinstance(carried.get(MADE_MARK), str):
        return {**event, "PhysicalResourceId": carried[MADE_MARK]}
    started = functools.partial(operation_started, event["StackId"])
    made = lifecycle.made_by(kind, handler.bedrock_client(), event, started)  # the module's client, as its code uses
    if made is None:
        return event
    logger.info("%s was made before CloudFormation stopped waiting for it: deleting it", made)
    return {**event, "PhysicalResourceId": made, "Data": {MADE_MARK: made}}


def _left_by_rollback(handler: ModuleType, event: Mapping[str, Any], entry: str) -> str | None:
    """Why a request of a rollback leaves the resource as it is (None: it does not). A Delete of a resource that the
    operation it undoes adopted (lifecycle.kept_by_rollback); an Update back to a resource that is gone (deleted
    outside the stack): the stack returns to where it was, and a rollback makes nothing (no job, no purchase)."""
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    physical_id = event.get("PhysicalResourceId", "")
    if kind is None:
        return None
    status = functools.partial(stack_status, event["StackId"])
    if event.get("RequestType") == "Delete":
        kept = lifecycle.kept_by_rollback(kind, handler.bedrock_client(), physical_id, event["StackId"], status)
        return "it existed before the operation that this rollback undoes" if kept else None
    if event.get("RequestType") != "Update" or not kind.arn_pattern.fullmatch(physical_id):
        return None
    lifecycle.Desired.of(event)  # invalid properties fail before any call, as the update itself does
    if kind.get(handler.bedrock_client(), physical_id) is not None or status() not in lifecycle.ROLLBACK_STATUSES:
        return None
    return "it is gone, as it was before the update that this rollback undoes"


def _left_as_it_is(entry: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a request that a rollback leaves as it is. An Update's resource is gone: each response's Data
    replaces a custom resource's attributes, so one without would fail every Fn::GetAtt of it, in this rollback or
    later; its attributes name nothing instead, as those of a rollback that makes nothing do (lifecycle.nothing_made),
    so that what reads them makes nothing in turn."""
    if entry == "is_complete":
        return {"IsComplete": True}
    answer: dict[str, Any] = {"PhysicalResourceId": event["PhysicalResourceId"]}
    if event.get("RequestType") == "Update":
        answer["Data"] = lifecycle.nothing_made(event["ResourceType"], event["LogicalResourceId"])["Data"]
    return answer


# In a late Update's answer, which its polls are given: they end at once, reading nothing.
LATE_MARK = "cdk-bedrock-customization:late"


def _late(handler: ModuleType, entry: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The answer to a late request (None: it is not one): a Create or Update of a resource this library makes, sent
    when the stack is in a status in which CloudFormation sends none (lifecycle.LATE_STATUSES; for an Update, also
    the rollback statuses that only delete: lifecycle.LATE_UPDATE_STATUSES), or an Update of a resource that the
    rollback under way has already updated back (rolled_back_already): Lambda's retry, minutes later, of an
    invocation that failed or timed out, after CloudFormation cancelled the request. Its answer is ignored, and it
    changes nothing: a Create makes nothing, an Update leaves the resource as the stack holds it."""
    request = event.get("RequestType")
    if request not in ("Create", "Update") or not hasattr(handler, "KIND"):
        return None
    if entry != "on_event":  # a late Create's polls are of its id of nothing (_of_nothing), a late Update's marked
        data = event.get("Data")
        return {"IsComplete": True} if isinstance(data, Mapping) and data.get(LATE_MARK) == "true" else None
    stack_id = event.get("StackId", "")
    try:
        status = stack_status(stack_id)
        late = status in (lifecycle.LATE_STATUSES if request == "Create" else lifecycle.LATE_UPDATE_STATUSES) or (
            request == "Update"
            and status == ROLLING_BACK_UPDATES
            and rolled_back_already(stack_id, event.get("LogicalResourceId", ""))
        )
    except Exception as error:  # as before this check: a request must not fail for a read it does not need
        logger.warning("The stack's status or events could not be read (%s): taken as not late", error)
        return None
    if not late:
        return None
    logger.warning("A late %s (the stack is %s): it changes nothing", request, status)
    if request == "Create":
        return dict(lifecycle.nothing_made(event["ResourceType"], event["LogicalResourceId"]))
    return {"PhysicalResourceId": event["PhysicalResourceId"], "Data": {LATE_MARK: "true"}}


def _of_nothing(entry: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The answer to a request about nothing (None: it is not one). The isComplete of an id of nothing
    (lifecycle.NOTHING_MADE) completes. A rollback's Create or Update whose properties name an id of nothing (what
    it reads was not made again) makes nothing in turn; outside a rollback they are refused, since nothing can be
    made, or let through an evaluation gate, from nothing."""
    if entry == "is_complete":
        return {"IsComplete": True} if event.get("PhysicalResourceId", "").startswith(lifecycle.NOTHING_MADE) else None
    properties = event.get("ResourceProperties")
    if event.get("RequestType") == "Delete" or not isinstance(properties, Mapping):
        return None  # properties that are no mapping are refused as the handler refuses them
    named = next(
        (
            (name, text)
            for name, value in properties.items()
            for text in _texts(value)
            if text.startswith(lifecycle.NOTHING_MADE)
        ),
        None,
    )
    if named is None:
        return None
    name, text = named
    logical_id = text.removeprefix(lifecycle.NOTHING_MADE)
    if not lifecycle.MAKES_NOTHING.get()():
        # The way out before the value, which holds a logical id of up to 255 characters (what a single-function
        # provider keeps of a reason is its first 200).
        raise ValueError(
            f"{name} names nothing. Nothing was created: change what it names (any property; for a job a wait "
            "condition waits for, not just its tags) so that an update makes it again. A rollback of this stack made "
            f"nothing for {logical_id}, since what it returned to was gone (or it read such a resource); {name}: "
            f"{text!r}."
        )
    logger.warning("%s names nothing (%s): this rollback makes nothing for it either", name, text)
    return dict(lifecycle.nothing_made(event["ResourceType"], event["LogicalResourceId"]))


def _texts(value: Any) -> Iterator[str]:
    """Every string in a property's value, however deeply nested (without recursion: properties are the sender's)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _makes_nothing(stack_id: str) -> bool:
    """Whether the stack is rolling back, or is in a status in which CloudFormation sends no Create or Update (a late
    request), for a request that would create. A status that cannot be read is taken as neither, as before this
    check: a create must not fail for a read it does not need."""
    try:
        return stack_status(stack_id) in lifecycle.MAKES_NOTHING_STATUSES
    except Exception as error:
        logger.warning("The stack's status could not be read (%s): taken as not rolling back", error)
        return False


def stack_status(stack_id: str) -> str:
    """The stack's StackStatus, which tells a rollback's Delete from another (DescribeStacks on the stack). A nested
    stack being deleted is deleted by its parent's operation (its rollback among them): then the parent's status."""
    (stack,) = cloudformation_client().describe_stacks(StackName=stack_id)["Stacks"]
    if stack["StackStatus"] == "DELETE_IN_PROGRESS" and stack.get("ParentId"):
        return stack_status(stack["ParentId"])
    return str(stack["StackStatus"])


# The stack-level statuses that begin an operation which creates; and those that end one without a rollback (rollback
# disabled), from which the next operation goes on: a resource that has no stable state then is deleted by it.
OPERATION_STARTS = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "IMPORT_IN_PROGRESS"})
LEFT_UNSTABLE = frozenset({"CREATE_FAILED", "UPDATE_FAILED"})


def operation_started(stack_id: str) -> datetime:
    """When the stack operation that a request ends or undoes began: the stack's latest CREATE, UPDATE or IMPORT
    _IN_PROGRESS event, or, when the event before it is CREATE_FAILED or UPDATE_FAILED (rollback disabled), the
    start of that failed operation, and so on back (DescribeStackEvents answers the newest first)."""
    stack_events = (event for event in _events_newest_first(stack_id) if event.get("PhysicalResourceId") == stack_id)
    started: datetime | None = None
    for stack_event in stack_events:
        if stack_event["ResourceStatus"] not in OPERATION_STARTS:
            continue
        started = stack_event["Timestamp"]
        before = next(stack_events, None)
        if before is None or before["ResourceStatus"] not in LEFT_UNSTABLE:
            return started
    if started is None:
        raise LookupError(f"{stack_id} has no event of {sorted(OPERATION_STARTS)}")
    return started


def operation_under_way(stack_id: str) -> lifecycle.OperationUnderWay:
    """The stack operation under way: its start (the stack's latest CREATE, UPDATE or IMPORT _IN_PROGRESS event; a
    deploy after one that failed with rollback disabled is an operation of its own) and the logical ids of the
    resources it has events of since."""
    touched: set[str] = set()
    for stack_event in _events_newest_first(stack_id):
        if stack_event.get("PhysicalResourceId") == stack_id and stack_event["ResourceStatus"] in OPERATION_STARTS:
            return lifecycle.OperationUnderWay(stack_event["Timestamp"], frozenset(touched))
        touched.add(str(stack_event.get("LogicalResourceId")))
    raise LookupError(f"{stack_id} has no event of {sorted(OPERATION_STARTS)}")


# The stack status of an update's roll-forward, in which GetTemplate answers the template it updates to.
UPDATING = "UPDATE_IN_PROGRESS"


# A logical id is alphanumeric: the template's words of that alphabet hold every logical id it keeps.
TEMPLATE_WORD = re.compile(r"[A-Za-z0-9]+")
# A YAML double-quoted key may spell a logical id's characters as escapes (\x41, \u0041, \U00000041): the words of
# the text with those unescaped count too (only more words: more kept, never fewer).
TEMPLATE_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")


def removed_by_the_update(stack_id: str) -> dict[str, str]:
    """The stack's resources (logical id -> physical id) that the update under way removes: those it holds that the
    template it updates to no longer has, which CloudFormation deletes (or keeps) in the update's cleanup. During an
    update's roll-forward GetTemplate answers the template it updates to (aws-cdk's docs/CLOUDFORMATION.md); outside
    one, nothing is removed before the cleanup. Read as words, JSON or YAML alike (GetTemplate answers YAML as its
    text): a logical id the template still names anywhere, a resource's key or a mention, is taken as kept. Its
    Processed stage: the logical ids that transforms make (Fn::ForEach, SAM) are named there."""
    if stack_status(stack_id) != UPDATING:
        return {}
    client = cloudformation_client()
    body = client.get_template(StackName=stack_id, TemplateStage="Processed")["TemplateBody"]
    text = body if isinstance(body, str) else json.dumps(body)  # botocore decodes JSON
    unescaped = TEMPLATE_ESCAPE.sub(lambda escape: chr(int(next(filter(None, escape.groups())), 16)), text)
    named = set(TEMPLATE_WORD.findall(text)) | set(TEMPLATE_WORD.findall(unescaped))
    return {
        summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "")
        for page in client.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        for summary in page["StackResourceSummaries"]
        if summary["LogicalResourceId"] not in named
    }


# The stack status in which a rollback updates resources back to their earlier properties.
ROLLING_BACK_UPDATES = "UPDATE_ROLLBACK_IN_PROGRESS"


def rolled_back_already(stack_id: str, logical_id: str) -> bool:
    """Whether the rollback under way has updated this resource back already: newest first, the stack's events
    are the resource's UPDATE_COMPLETE, its UPDATE_IN_PROGRESS and the stack's UPDATE_ROLLBACK_IN_PROGRESS, with
    no other event of the resource or the stack between (other resources' events are skipped). CloudFormation sends
    such a resource no other Update in this rollback, so an Update sent now is the cancelled forward one, retried:
    applying it would leave the resource as the failed deploy wanted while the stack holds the earlier properties.
    Anything else is not taken as late: an Update in progress (the rollback's own request), one that failed (which
    continuing the rollback sends again), or events that do not show the rollback's start yet."""
    expected = [("resource", "UPDATE_COMPLETE"), ("resource", "UPDATE_IN_PROGRESS"), ("stack", ROLLING_BACK_UPDATES)]
    for stack_event in _events_newest_first(stack_id):
        if stack_event.get("PhysicalResourceId") == stack_id:  # the stack's own
            whose = "stack"
        elif stack_event.get("LogicalResourceId") == logical_id:
            whose = "resource"
        else:
            continue
        if (whose, stack_event["ResourceStatus"]) != expected.pop(0):
            return False
        if not expected:
            return True
    return False


def _events_newest_first(stack_id: str) -> Iterator[Mapping[str, Any]]:
    """The stack's events (its own and its resources', a nested stack's resource among them, but not the nested
    stack's own resources'), newest first, page by page as they are read."""
    pages = cloudformation_client().get_paginator("describe_stack_events").paginate(StackName=stack_id)
    return (event for page in pages for event in page["StackEvents"])


def _removing_what_a_cancelled_update_made(handler: ModuleType, event: Mapping[str, Any], answered: str) -> str | None:
    """For an Update back from properties whose resource is not the one it is sent (CloudFormation's rollback of an
    update it cancelled, or stopped waiting for, before the handler answered): delete what that update made from
    them (lifecycle.made_by), as the Delete of a cancelled create does, when that update's UpdateReplacePolicy
    (contract.REPLACE_POLICY of OldResourceProperties) is Delete, or its DeletionPolicy RetainExceptOnCreate
    (contract.DELETION_POLICY), which removes what a failed operation made. CloudFormation never learned its id, so
    sends no Delete for it. Only in a rollback, and never what this request answered (a forward update to a resource
    that is gone makes one of the same configuration). Returns what Bedrock would not delete yet, for the rollback's
    polls to delete (_polls_deleting). Best effort: a failure is logged, and the rollback goes on."""
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    old = event.get("OldResourceProperties")
    if event.get("RequestType") != "Update" or kind is None or not isinstance(old, Mapping):
        return None
    # The template that made it decides, as for what a completed replacement made (an update that also changed
    # RETAIN to DESTROY leaves nothing behind when it fails).
    if not _removed_on_rollback(event["ResourceType"], old):
        return None
    key = event["ResourceProperties"].get(contract.WAIT_CONDITION_KEY)
    if key and key == old.get(contract.WAIT_CONDITION_KEY):
        # That update made nothing: it was refused, or in place (lifecycle._refuse_a_replacement_not_waited_for).
        return None
    if not lifecycle.time_for_a_call():  # as after a create (_removing_what_this_cancelled_request_made)
        logger.warning("No time is left to read the stack's status: what a cancelled update made is not looked for")
        return None
    try:  # first: outside a rollback there is nothing to look for
        status = stack_status(event["StackId"])
    except Exception as error:
        logger.warning("The stack's status could not be read (%s): taken as not rolling back", error)
        return None
    if status not in lifecycle.ROLLBACK_STATUSES:
        return None
    made = None
    try:
        from_old = {**event, "ResourceProperties": old}
        known = (event["PhysicalResourceId"], answered)
        started = functools.partial(operation_started, event["StackId"])
        made = lifecycle.made_by(kind, handler.bedrock_client(), from_old, started, known)
        if made is None:
            return None
        if lifecycle.kept_by_rollback(kind, handler.bedrock_client(), made, event["StackId"], lambda: status):
            logger.info("%s was adopted by an update that CloudFormation cancelled: it existed before, so stays", made)
            return None
        logger.info("%s was made by an update that CloudFormation cancelled: deleting it", made)
        return None if _delete_made(handler, event, made) else made
    except Exception as error:  # the rollback must not fail for it
        logger.error("What a cancelled update made (%s) could not be deleted: %s", made or "unknown", error)
    return None


def _removing_what_this_cancelled_request_made(handler: ModuleType, event: Mapping[str, Any], answered: str) -> None:
    """For a Create or Update that made a resource: when the stack rolls back by now, or its operation is over,
    CloudFormation cancelled this request while it made it (a slow call: botocore retries a throttled one for up to
    two minutes), and the Delete of the id it made up (or the Update back) may have run before the resource existed,
    finding nothing. Delete what this request made, as that request would have, when its policies remove what a
    failed operation made (_removed_on_rollback). Only what this very request made (its origin tag): never what it
    adopted, or a resource a rollback returns to. Best effort: a failure is logged."""
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    properties = event.get("ResourceProperties")
    if (
        kind is None
        or event.get("RequestType") not in ("Create", "Update")
        or answered == event.get("PhysicalResourceId")
        or not kind.arn_pattern.fullmatch(answered)
        or not isinstance(properties, Mapping)
        or not _removed_on_rollback(event["ResourceType"], properties)
    ):
        return
    if not lifecycle.time_for_a_call():  # cut off in this read, the answer would be lost, and what it made with it
        logger.warning("No time is left to read the stack's status: what this request made is kept")
        return
    try:
        status = stack_status(event["StackId"])
    except Exception as error:  # as before this check: what the request made is kept
        logger.warning("The stack's status could not be read (%s): taken as not rolling back", error)
        return
    if status not in lifecycle.MAKES_NOTHING_STATUSES:
        return
    try:
        client = handler.bedrock_client()
        live = kind.get(client, answered)
        if live is None or kind.own_tags(client, live).get(lifecycle.ORIGIN_TAG) != lifecycle.Desired.of(event).origin:
            return
        logger.info(
            "%s was made as CloudFormation cancelled this request (the stack is %s): deleting it", answered, status
        )
        if not _delete_made(handler, event, answered):
            _left_billed(answered, "nothing waits for it here")
    except Exception as error:
        logger.error("What this cancelled request made (%s) could not be deleted: %s", answered, error)


def _removing_what_an_unfinished_update_made(handler: ModuleType, event: Mapping[str, Any]) -> None:
    """For a Delete whose properties are not those of the resource it is sent: an update of it was cancelled and its
    rollback failed (UPDATE_ROLLBACK_FAILED), so CloudFormation holds the resource under that update's properties,
    and never learned what the update made from them. Delete that too (lifecycle.made_by: made by this stack's
    logical id from these properties; not one it adopted), or a stack deleted then would leave it running."""
    kind: lifecycle.ResourceKind | None = getattr(handler, "KIND", None)
    physical_id = event.get("PhysicalResourceId", "")
    if event.get("RequestType") != "Delete" or kind is None or not kind.arn_pattern.fullmatch(physical_id):
        return
    made = None
    try:
        client = handler.bedrock_client()
        started = functools.partial(operation_started, event["StackId"])
        made = lifecycle.made_by(kind, client, event, started, (physical_id,))
        if made is None:
            return
        live = kind.get(client, made)
        if live is None or kind.adopted(client, live, event["StackId"]):
            return
        logger.info("%s was made by an update of %s whose rollback did not finish: deleting it", made, physical_id)
        if not _delete_made(handler, event, made):
            _left_billed(made, "nothing waits for it here")
    except Exception as error:  # the Delete must not fail for it
        logger.error("What an unfinished update made (%s) could not be deleted: %s", made or "unknown", error)


def _removed_on_rollback(resource_type: str, properties: Mapping[str, Any]) -> bool:
    """Whether the policies these properties tell (or the type's defaults) remove what a failed operation made:
    UpdateReplacePolicy Delete (contract.REPLACE_POLICY), or DeletionPolicy RetainExceptOnCreate
    (contract.DELETION_POLICY)."""
    policies = contract.properties_with_defaults(resource_type, properties)
    return (
        policies.get(contract.REPLACE_POLICY) == "Delete"
        or policies.get(contract.DELETION_POLICY) == contract.RETAIN_EXCEPT_ON_CREATE
    )


def _delete_made(handler: ModuleType, event: Mapping[str, Any], made: str) -> bool:
    """Delete (a job: stop) what a cancelled request made, as its Delete does. False when Bedrock would not delete it
    yet (ConflictException: a throughput, say, still being created), for the caller to wait or log."""
    job = getattr(handler, "JOB", None)
    delete_now = getattr(handler, "delete_now", None)
    if delete_now is not None:
        try:
            delete_now(made)
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise
            logger.info("Bedrock cannot delete %s yet: %s", made, error_message(error))
            return False
    elif not isinstance(job, model_jobs.ModelJob):
        handler.on_event({**event, "RequestType": "Delete", "PhysicalResourceId": made})
    elif not job.advance_delete(made):
        logger.error(
            "%s cannot be stopped, and nothing waits for it: if it completes, the model it makes stays. The same "
            "construct's next deploy of this configuration adopts it; otherwise delete that model by hand once the "
            "job has ended",
            made,
        )
    return True


def _handler(event: Mapping[str, Any]) -> ModuleType:
    resource_type = event.get("ResourceType")
    if resource_type not in HANDLERS:
        raise ValueError(f"ResourceType {resource_type!r} is not handled here; expected one of {sorted(HANDLERS)}")
    return HANDLERS[resource_type]


def _log_request(entry: str, event: Mapping[str, Any]) -> None:
    logger.info(
        "%s %s %s %s",
        entry,
        event.get("RequestType"),
        event.get("LogicalResourceId"),
        event.get("PhysicalResourceId", "(new)"),
    )
