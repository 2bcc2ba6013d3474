"""CloudFormation's reads as the handler, the notifier and the status command make them: DescribeStacks,
DescribeStackEvents (the stack's events and its resources'), ListStackResources (both page by page),
DescribeStackResource and GetTemplate, answered from a local cloud's stacks and shaped as botocore parses
CloudFormation's answers.

A stack is named by its name or its unique stack id; a deleted stack only by its id, as the API reference says of
StackName ("Deleted stacks: You must specify the unique stack ID"). DescribeStacks answers a deleted stack's id
with that stack, DELETE_COMPLETE (CloudFormation keeps it for 90 days, longer than any rehearsal), also once a stack
of the same name was created again; by its name, a deleted stack does not exist."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from .engine import LocalStack

DELETED = "DELETE_COMPLETE"
# Items in a page of DescribeStackEvents or ListStackResources: what CloudFormation answers in practice (the API
# reference gives no figure).
PAGE_SIZE = 100
# A botocore before-call handler's answer: the HTTP response and the parsed result.
Answer = tuple[AWSResponse, dict[str, Any]]


_SESSION_LOCK = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """The rehearsal's own session: boto3's default one would be made (and keep the rehearsal's credentials) for the
    whole process."""
    return boto3.session.Session()


def local_cloudformation_client(region: str, stacks: Callable[[], Iterable[LocalStack]]) -> Any:
    """A CloudFormation client whose reads are answered from stacks(): the cloud's stacks, the deleted ones that a
    stack of their name replaced included."""
    with _SESSION_LOCK:  # a botocore session is not thread-safe
        client = _session().client("cloudformation", region_name=region)

    def stack_named(name: str) -> LocalStack | None:
        for stack in stacks():
            gone = stack.resources.stack_status == DELETED
            if name == stack.env.stack_id or (name == stack.env.stack_name and not gone):
                return stack
        return None

    # params is the serialized request: the query protocol's parameters are its body.
    def list_stack_resources(params: Mapping[str, Any], **_kwargs: Any) -> Answer:
        name = params["body"]["StackName"]
        stack = stack_named(name)
        if stack is None:
            return _refused(f"Stack with id {name} does not exist")
        summaries = stack.list_stack_resources()
        return _answer(_page("StackResourceSummaries", summaries, "LogicalResourceId", params["body"].get("NextToken")))

    def describe_stack_resource(params: Mapping[str, Any], **_kwargs: Any) -> Answer:
        name, logical_id = params["body"]["StackName"], params["body"]["LogicalResourceId"]
        stack = stack_named(name)
        if stack is None:
            return _refused(f"Stack '{name}' does not exist")
        detail = stack.describe_stack_resource(logical_id)
        if detail is None:
            return _refused(f"Resource {logical_id} does not exist for stack {stack.env.stack_name}")
        return _answer({"StackResourceDetail": detail})

    def describe_stacks(params: Mapping[str, Any], **_kwargs: Any) -> Answer:
        name = params["body"]["StackName"]
        stack = stack_named(name)
        if stack is None or not stack.resources.stack_status:
            return _refused(f"Stack with id {name} does not exist")
        described = {"StackId": stack.env.stack_id, "StackName": stack.env.stack_name}
        return _answer({"Stacks": [{**described, "StackStatus": stack.resources.stack_status}]})

    def describe_stack_events(params: Mapping[str, Any], **_kwargs: Any) -> Answer:
        name = params["body"]["StackName"]
        stack = stack_named(name)
        if stack is None or not stack.resources.stack_status:
            return _refused(f"Stack [{name}] does not exist")
        return _answer(_page("StackEvents", _stack_events(stack), "EventId", params["body"].get("NextToken")))

    def get_template(params: Mapping[str, Any], **_kwargs: Any) -> Answer:
        name = params["body"]["StackName"]
        stack = stack_named(name)
        if stack is None or not stack.resources.stack_status:
            return _refused(f"Stack with id {name} does not exist")
        # As CloudFormation answers it, the text deployed, which botocore decodes when it is JSON (after-call); no
        # transform is played.
        body = stack.resources.template_reported.text
        return _answer({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]})

    client.meta.events.register("before-call.cloudformation.DescribeStacks", describe_stacks)
    client.meta.events.register("before-call.cloudformation.GetTemplate", get_template)
    client.meta.events.register("before-call.cloudformation.DescribeStackEvents", describe_stack_events)
    client.meta.events.register("before-call.cloudformation.ListStackResources", list_stack_resources)
    client.meta.events.register("before-call.cloudformation.DescribeStackResource", describe_stack_resource)
    return client


def _stack_events(stack: LocalStack) -> list[dict[str, Any]]:
    """The stack's events and its resources', newest first."""
    env = stack.env
    events = []
    for number, event in enumerate(stack.resources.stack_events):
        own = event.logical_id is None
        events.append(
            {
                "StackId": env.stack_id,
                "StackName": env.stack_name,
                "EventId": f"{env.stack_id}-{number}",
                "LogicalResourceId": env.stack_name if own else event.logical_id,
                "PhysicalResourceId": env.stack_id if own else event.physical_id,
                "ResourceType": event.resource_type,
                "Timestamp": event.moment,
                "ResourceStatus": event.status,
            }
        )
    return events[::-1]


def _page(member: str, items: list[dict[str, Any]], id_member: str, token: str | None) -> dict[str, Any]:
    """The answer's member: a page of items from the one token names. The token is the id (id_member) of the page's
    first item, so an event that happens between the reads of two pages (newer, so before the first page) neither
    repeats an event nor skips one."""
    start = 0
    if token is not None:
        start = next((number for number, item in enumerate(items) if item[id_member] == token), len(items))
    page: dict[str, Any] = {member: items[start : start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(items):
        page["NextToken"] = items[start + PAGE_SIZE][id_member]
    return page


def _answer(result: dict[str, Any], status: int = 200) -> Answer:
    return AWSResponse("https://cloudformation.local/", status, HTTPHeaders(), None), result


def _refused(message: str) -> Answer:
    return _answer({"Error": {"Type": "Sender", "Code": "ValidationError", "Message": message}}, 400)
