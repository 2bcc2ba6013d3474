"""Lifecycle rules that every resource type shares.

A resource's identity follows its configuration. Generated names and the clientRequestToken come from the
stack's name, the logical id and the fingerprint of the properties that force a replacement, never from
the request, so a Create finds what an earlier request of the same configuration made (a retry, a replay,
a redeploy after RETAIN, the rollback of a replacement) and adopts it. An Update is decided against the
live resource: CloudFormation's rollback sends the refused properties as OldResourceProperties
(DESIGN.md, fact 10), so they are only a hint, for resources made before fingerprints.
The fingerprint is kept on the resource itself, as the tag FINGERPRINT_TAG.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from . import contract
from .aws import ONE_CALL_AT_MOST_SECONDS, error_code, error_message, listed
from .cr_types import CustomResourceEvent, OnEventResponse
from .environment import PASSABLE_ROLES_VARIABLE

logger = logging.getLogger(__name__)


# How many of the account's running jobs a quota error names.
LISTED_RUNNING_JOBS = 5
# The construct's setting that a quota error points to, and its default: Bedrock's quota of concurrent
# customization jobs per account and Region (not adjustable when set). The construct uses both.
CONCURRENCY_PARAMETER = "max_concurrent_jobs"
CONCURRENCY_SETTING = f"CustomizationProvider.of(stack, {CONCURRENCY_PARAMETER}=N)"
DEFAULT_MAX_CONCURRENT_JOBS = 2
# The handler's own tags (contract.RESERVED_TAGS), named here too for the modules that read them.
FINGERPRINT_TAG = contract.FINGERPRINT_TAG
STACK_TAG = contract.STACK_TAG
LOGICAL_ID_TAG = contract.LOGICAL_ID_TAG
ORIGIN_TAG = contract.ORIGIN_TAG
WHAT_IT_MAKES_TAG = contract.WHAT_IT_MAKES_TAG
RESERVED_TAGS = contract.RESERVED_TAGS
# Tags the handler never removes: AWS's own, and its own records.
KEPT_TAG_PREFIXES = ("aws:", *RESERVED_TAGS)
# How many names of a sequence a create tries before it gives up (each unusable one is a failed resource).
MAX_NAME_ATTEMPTS = 20


# Whether the request being handled must make nothing where it would create; index sets it for each request. Read
# only when a Create or an Update would create: a rollback makes nothing (no job, no purchase), and neither does a
# late request, which arrives once the operation that sent it is over (Lambda's retry, minutes later, of an
# invocation that failed or timed out, whose request CloudFormation cancelled and rolled back meanwhile).
MAKES_NOTHING: ContextVar[Callable[[], bool]] = ContextVar("makes_nothing", default=lambda: False)

# The seconds left to the invocation handling the request, where its function's timeout would cut it off and fail a
# create whose job it had started (index sets it from the framework's Lambda context; None: no such limit).
TIME_LEFT: ContextVar[Callable[[], float | None]] = ContextVar("time_left", default=lambda: None)


@dataclass(frozen=True)
class OperationUnderWay:
    """The stack operation a request belongs to: when it began, and the logical ids it has touched since."""

    started: datetime
    touched: frozenset[str]


# The stack operation under way (index sets it for each request); raises when it cannot be read.
OPERATION_UNDER_WAY: ContextVar[Callable[[], OperationUnderWay]] = ContextVar("operation_under_way")

# The stack's resources (logical id -> physical id) that the update under way removes: none outside an update's
# roll-forward (index sets it for each request); raises when they cannot be read.
REMOVED_BY_THE_UPDATE: ContextVar[Callable[[], Mapping[str, str]]] = ContextVar(
    "removed_by_the_update", default=lambda: {}
)

# How the physical id of "nothing", which a rollback answers when what it returns to is gone, starts.
NOTHING_MADE = "nothing-made:"


class ModelInUse(RuntimeError):
    pass


class QuotaFull(RuntimeError):
    """Bedrock refused a create because an account quota is full; nothing was created."""


class NameTaken(ValueError):
    """The name of a create is held by a resource that cannot be adopted; nothing was created."""


class MovedOrRenamed(ValueError):
    """A Create would make again what a resource that the update under way removes holds; nothing was created."""


class ChangeInProgress(RuntimeError):
    """The live resource is still being changed to serve another model (nothing was changed), or still being created
    by the stack before this one of its name, which this stack takes (only its tags were changed)."""

    def __init__(self, noun: str, name: str, serving: str, asked: str, being: str = "changed") -> None:
        # A rollback that arrives while the update it undoes is still running in Bedrock (a later resource failed,
        # or this one's wait timed out) meets this too: said plainly rather than waiting for the hour to pass.
        if being == "created":
            what_now = "Only its tags were changed, to name this stack. Deploy again once it is created."
        else:
            what_now = (
                "Nothing was changed. Retry once it has ended (for a rollback: aws cloudformation "
                "continue-update-rollback)."
            )
        super().__init__(
            f"{noun.capitalize()} {name} is still being {being} to serve {serving}, and Bedrock makes one change "
            f"at a time: {asked} must wait until that ends. {what_now}"
        )


@dataclass(frozen=True)
class Quota:
    """The account quota that can make Bedrock refuse a create, for the error that explains it."""

    refused: str  # what Bedrock refused, e.g. "start model customization job"
    quota: str  # e.g. "concurrent model customization jobs"
    name_running_jobs: bool = False
    # Whether a stack can start fewer at once (CONCURRENCY_SETTING); else it starts one at a time already.
    stack_setting: bool = True


@dataclass(frozen=True)
class Desired:
    """The configuration an event asks for: its validated create request (no generated names, token or
    fingerprint tag yet), and where its names come from."""

    resource_type: str
    request: dict[str, Any]
    fingerprint: str
    stack_id: str
    logical_id: str
    origin: str = ""  # the ORIGIN_TAG of what this request creates: "request:" and its RequestId
    properties: Mapping[str, Any] = field(default_factory=dict)  # as the event gave them

    @classmethod
    def of(cls, event: Mapping[str, Any], properties: Mapping[str, Any] | None = None) -> Desired:
        """The event's ResourceProperties (or these properties) once known to be valid; raises otherwise,
        before anything is called."""
        resource_type = event["ResourceType"]
        properties = event["ResourceProperties"] if properties is None else properties
        request = contract.create_request(resource_type, properties, new=False)
        _refuse_unpassable_role(request.get("roleArn"))
        return cls(
            resource_type,
            request,
            contract.configuration_fingerprint(resource_type, request, properties),
            event["StackId"],
            event["LogicalResourceId"],
            f"request:{event.get('RequestId', '')}",
            properties,
        )

    def fingerprint_had_it_run_with(self, members: Mapping[str, Any]) -> str:
        """The fingerprint of this configuration with these members (what a resource used while running, by dotted
        path) instead; a member None: without it."""
        request = self.request
        for path, member in members.items():
            request = _with_member(request, path, member)
        return contract.configuration_fingerprint(self.resource_type, request, self.properties)

    @property
    def stack_name(self) -> str:
        return contract.stack_name(self.stack_id)

    @property
    def contract(self) -> contract.ResourceContract:
        return contract.CONTRACTS[self.resource_type]

    def attempt(self, number: int) -> dict[str, Any]:
        """The create request under the number-th name of the sequence (given names are kept), with the
        fingerprint tag on the resource's own tags and the token of that name."""
        request = dict(self.request)
        name = contract.generated_name(
            self.stack_name, self.logical_id, self.fingerprint, number, lowercase=self.contract.lowercase_names
        )
        names = {member: request.setdefault(member, name) for member in self.contract.generated_names}
        own_tags = self.contract.tag_members[0]
        request[own_tags] = [*self.tags(own_tags), {"key": ORIGIN_TAG, "value": self.origin}]
        request["clientRequestToken"] = contract.client_request_token(self.fingerprint, names, self.origin)
        return request

    def refuse_tags_a_new_resource_cannot_keep(self) -> None:
        """Raises when its own tags leave no room for every tag of the handler's (ORIGIN_TAG and WHAT_IT_MAKES_TAG
        too): one more is valid only for a resource made before WHAT_IT_MAKES_TAG, which Desired.of accepts."""
        own_tags = self.contract.tag_members[0]
        tags = self.request.get(own_tags) or []
        if problems := contract.tag_list_problems(self.resource_type, own_tags, tags):
            raise contract.InvalidProperties(self.resource_type, problems)

    @property
    def what_it_makes(self) -> str | None:
        """The fingerprint of this configuration without what it uses only while running (WHAT_IT_MAKES_TAG); None
        for a type that uses nothing only while running."""
        paths = self.contract.used_while_running
        return self.fingerprint_had_it_run_with(dict.fromkeys(paths)) if paths else None

    def tags(self, member: str) -> list[dict[str, str]]:
        """The tags that member asks for; the resource's own tags (the first member) carry the fingerprint, the
        stack's id and the logical id, and what it makes for a type that uses members only while running."""
        tags = list(self.request.get(member) or [])
        if member == self.contract.tag_members[0]:
            tags.append({"key": FINGERPRINT_TAG, "value": self.fingerprint})
            tags.append({"key": STACK_TAG, "value": self.stack_id})
            tags.append({"key": LOGICAL_ID_TAG, "value": self.logical_id})
            what_it_makes = self.what_it_makes
            # Bedrock keeps 50: no room on one that a version before that tag made with one more of your own.
            with_the_rest = len(tags) + len((ORIGIN_TAG, WHAT_IT_MAKES_TAG))
            if what_it_makes is not None and with_the_rest <= contract.MAX_TAGS_PER_RESOURCE:
                tags.append({"key": WHAT_IT_MAKES_TAG, "value": what_it_makes})
        return tags

    def holder(self, tags: Mapping[str, str]) -> str | None:
        """Which other CloudFormation resource a resource with these own tags belongs to: another logical id, or a
        stack of another name (a live one, or one deleted that kept it); None when it is this one's, or when it
        was made before those tags. A stack of this name with another id is this one deleted and deployed again."""
        stack_name = contract.stack_name(tags.get(STACK_TAG, self.stack_id))
        logical_id = tags.get(LOGICAL_ID_TAG, self.logical_id)
        if stack_name == self.stack_name and logical_id == self.logical_id:
            return None
        owner = f"{logical_id} of stack {stack_name}" if LOGICAL_ID_TAG in tags else f"stack {stack_name}"
        return f"belongs to {owner}"

    def other_logical_id_of_this_stack(self, tags: Mapping[str, str]) -> str | None:
        """The logical id that a resource with these own tags belongs to when it is another of this stack's."""
        logical_id = tags.get(LOGICAL_ID_TAG)
        of_this_stack = contract.stack_name(tags.get(STACK_TAG, self.stack_id)) == self.stack_name
        return logical_id if of_this_stack and logical_id not in (None, self.logical_id) else None


def _refuse_unpassable_role(role_arn: str | None) -> None:
    """A provider stack's handler may pass only the roles it was given; say so before IAM denies it."""
    passable = os.environ.get(PASSABLE_ROLES_VARIABLE)
    prefix = (passable or "").removesuffix("*")
    # A name prefix (a pattern not ending in /*) is of roles with the path /: IAM's * would also match a path.
    of_another_path = not prefix.endswith("/") and "/" in (role_arn or "")[len(prefix) :]
    if passable and role_arn and (not role_arn.startswith(prefix) or of_another_path):
        # The pattern first: the single-function provider's reason keeps the first 200 characters.
        raise ValueError(
            f"roleArn: this provider passes to Bedrock only roles matching {passable} (the provider stack's role "
            f"path or name prefix), not {role_arn!r}"
        )


def getter(operation: str, identifier_member: str) -> Callable[[Any, str], dict[str, Any] | None]:
    """A ResourceKind.get: the client's Get operation by name or ARN, None when there is no such resource."""

    def get(client: Any, identifier: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = getattr(client, operation)(**{identifier_member: identifier})
        except client.exceptions.ResourceNotFoundException:
            return None
        return found

    return get


def _nothing(*_args: Any) -> None:
    return None


@dataclass(frozen=True)
class ResourceKind:
    """What the shared lifecycle needs to know of one resource type."""

    resource_type: str
    noun: str  # for messages: "model customization job"
    create_operation: str  # the client method
    arn_member: str  # the ARN in the create and the Get responses
    arn_pattern: re.Pattern[str]  # what a physical id of this type looks like
    name_member: str  # the name an earlier resource of the same configuration is found by
    get: Callable[[Any, str], dict[str, Any] | None]  # by name or ARN; None when there is none
    # Why a resource of the same configuration cannot be adopted (None: it can; a create then tries the next name).
    unusable: Callable[[Any, Mapping[str, Any]], str | None]
    # Request member -> the Get response's member that reports it, to name what differs.
    reported: Mapping[str, str] = field(default_factory=dict)
    quota: Quota | None = None
    # Applies the desired in-place members (and tags other than the resource's own) to the live resource.
    update_in_place: Callable[[Any, Mapping[str, Any], Desired], None] = _nothing
    # Raises when the live resource must not be replaced by a new one (adopting one is always allowed).
    before_replacing: Callable[[Mapping[str, Any], Desired], None] = _nothing
    # Raises when an update that finds its resource (this ARN, made from the old properties) gone must not make a new
    # one (adopting one is allowed).
    before_recreating: Callable[[str, Mapping[str, Any], Desired], None] = _nothing
    # Raises when the create request would take a name that something else holds (besides name_member's).
    before_creating: Callable[[Any, Mapping[str, Any], Desired], None] = _nothing
    # Raises when a Create request (a logical id new to its stack, not an update's replacement) must not make one.
    before_creating_for_a_new_logical_id: Callable[[Any, Desired], None] = _nothing
    # Whether a Create with a generated name refuses to make again what a resource the update under way removes holds
    # (_refuse_making_again_what_the_update_removes): a job would train, import, copy or evaluate again.
    made_again_at_a_cost: bool = False
    # For such a kind: the members (dotted paths) of a live resource that locate content the desired configuration
    # identifies otherwise (uploaded weights by their digest): a removed one that differs only in them, and in what it
    # used while running, made the same thing.
    located_by: Callable[[Mapping[str, Any], Desired], Mapping[str, Any]] = lambda _live, _desired: {}
    # For a type whose name changes in place: the live resources, under any name, that may have the desired
    # configuration (a create adopts one that has it, rather than make another).
    candidates: Callable[[Any, Desired], Iterable[Mapping[str, Any]]] = lambda _client, _desired: ()
    # For a resource that cannot be tagged (a copy job): the member of its record that keeps the tags its request
    # gave its own tags member, which are read there; update_in_place then sets them on what it makes.
    tags_on_record: str | None = None
    # ... and the model it makes, which carries its origin (ORIGIN_TAG) once it exists: the record cannot change.
    made: MadeModel | None = None
    created_member: str = "creationTime"  # when it was created, in the Get response
    # Whether the live one has made what it makes: then a change of what it uses only while running
    # (contract.ResourceContract.used_while_running) is made in place, since a new job would train again.
    has_made_it: Callable[[Mapping[str, Any]], bool] = lambda _live: False

    @property
    def used_while_running(self) -> frozenset[str]:
        return contract.CONTRACTS[self.resource_type].used_while_running

    def own_tags(self, client: Any, live: Mapping[str, Any]) -> dict[str, str]:
        """The live resource's own tags, which record its configuration (FINGERPRINT_TAG). For one that cannot be
        tagged, its model's once the model exists (a change in place retags the model: the record keeps the tags it
        was made with), else its record's."""
        if self.tags_on_record is None:
            return current_tags(client, live[self.arn_member])
        model_arn = self._made_model(client, live)
        if model_arn is not None:
            return current_tags(client, model_arn)
        return {tag["key"]: tag["value"] for tag in live.get(self.tags_on_record) or []}

    def retag(
        self, client: Any, live: Mapping[str, Any], desired: list[dict[str, str]], current: Mapping[str, str]
    ) -> None:
        """Make the live resource's own tags the desired ones. A resource that cannot be tagged keeps its record;
        its model, once it exists, takes the desired origin."""
        if self.tags_on_record is None:
            retag(client, live[self.arn_member], desired, current)
            return
        model_arn = self._made_model(client, live)
        origin = [tag for tag in desired if tag["key"] == ORIGIN_TAG]
        if model_arn is not None and origin and current_tags(client, model_arn).get(ORIGIN_TAG) != origin[0]["value"]:
            client.tag_resource(resourceARN=model_arn, tags=origin)

    def adopted(self, client: Any, live: Mapping[str, Any], stack_id: str) -> bool:
        """Whether the live resource existed before the request of stack_id that holds it: its origin (ORIGIN_TAG)
        says so, or its stack tag names another stack. For one that cannot be tagged, its model's tags once the model
        exists, else its record's (own_tags): a copy adopted while copying has no model to mark, and its record keeps
        the tags of the stack that made it (a stack of this name deleted, which kept it)."""
        tags = self.own_tags(client, live)
        return tags.get(ORIGIN_TAG) == contract.ADOPTED or tags.get(STACK_TAG, stack_id) != stack_id

    def _made_model(self, client: Any, live: Mapping[str, Any]) -> str | None:
        return None if self.made is None else self.made.existing(client, live)


def on_event(
    event: CustomResourceEvent,
    *,
    create: Callable[[CustomResourceEvent], OnEventResponse],
    update: Callable[[CustomResourceEvent], OnEventResponse],
    delete: Callable[[str], object],
) -> OnEventResponse:
    """Dispatch an onEvent request. A Delete keeps the physical id it was given."""
    if event["RequestType"] == "Create":
        return create(event)
    if event["RequestType"] == "Update":
        return update(event)
    delete(event["PhysicalResourceId"])
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def create(kind: ResourceKind, client: Any, event: CustomResourceEvent) -> OnEventResponse:
    """A Create: the resource of this configuration, adopted when it exists already."""
    return create_or_adopt(kind, client, Desired.of(event), makes_nothing=MAKES_NOTHING.get(), new_logical_id=True)


def update(kind: ResourceKind, client: Any, event: CustomResourceEvent) -> OnEventResponse:
    """An Update, decided against the live resource: in place (the same physical id) when it already has
    the desired configuration, else the resource of that configuration, adopted or created."""
    desired = Desired.of(event)  # invalid desired properties fail here, before any call
    physical_id = event["PhysicalResourceId"]
    live = kind.get(client, physical_id) if kind.arn_pattern.fullmatch(physical_id) else None
    if live is not None:  # else never created (a failed create's id), or gone
        tags = kind.own_tags(client, live)
        if _has_configuration(desired, tags, event) or _same_but_for_how_it_is_named_or_ran(
            kind, live, tags, event, desired
        ):
            kind.update_in_place(client, live, desired)
            kind.retag(client, live, desired.tags(desired.contract.tag_members[0]), tags)
            return {"PhysicalResourceId": physical_id}
    _refuse_a_replacement_not_waited_for(kind, event, physical_id)
    gone = None
    if live is None and kind.arn_pattern.fullmatch(physical_id):
        gone = (physical_id, event.get("OldResourceProperties") or {})
    return create_or_adopt(kind, client, desired, replacing=live, gone=gone, makes_nothing=MAKES_NOTHING.get())


def _refuse_a_replacement_not_waited_for(kind: ResourceKind, event: CustomResourceEvent, physical_id: str) -> None:
    """A job that a wait condition waits for, replaced under the same wait condition key: CloudFormation keeps that
    wait condition, which waits only when it is created, so the deployment would go on while the new job runs. A
    rollback (or a late request) starts no job, and must not fail: it returns to a job of its configuration, or to
    nothing (create_or_adopt)."""
    key = event["ResourceProperties"].get(contract.WAIT_CONDITION_KEY) or ""
    if not key or key != (event.get("OldResourceProperties") or {}).get(contract.WAIT_CONDITION_KEY):
        return
    if MAKES_NOTHING.get()():
        return
    raise ValueError(
        f"{contract.WAIT_CONDITION_KEY}: {key!r} is unchanged, but {kind.noun} {physical_id} would be replaced by "
        "a new one (its properties changed, or it is gone), which its wait condition would not wait for (a wait "
        "condition waits only when it is created). A change the template does not show comes from a reference in it: a "
        "CfnParameter, an SSM parameter, a dynamic reference, or a resource you gave (a role, a bucket, a key) that "
        "was replaced. Nothing was created. Change such a value together with something the template shows (the "
        "construct's id, say), or poll this job (Completion.polling())."
    )


def _same_but_for_how_it_is_named_or_ran(
    kind: ResourceKind, live: Mapping[str, Any], tags: Mapping[str, str], event: Mapping[str, Any], desired: Desired
) -> bool:
    """Whether the live resource, made from the old properties, is what the desired ones ask for though they differ:
    only in how they name a resource of the stack's account and Region (a model by its id or its ARN, a key by its id
    or its ARN), or, once it has made what it makes, in what it used while running (a new service role: a stack's
    roles shared, or renamed). A new one would train, or import, again for nothing."""
    resource_type = event["ResourceType"]
    old_properties = event.get("OldResourceProperties") or {}
    try:
        old_request = contract.create_request(resource_type, old_properties, new=False)
    except Exception:  # refused properties were never applied
        return False
    made_from = contract.configuration_fingerprint(resource_type, old_request, old_properties)
    if tags.get(FINGERPRINT_TAG, made_from) != made_from:  # without one, made before fingerprints: the old properties
        return False
    ran_with = kind.used_while_running if kind.has_made_it(live) else frozenset()

    def identity(request: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
        identifying = contract.identifying(resource_type, request, properties)
        for path in ran_with:
            identifying = _with_member(identifying, path, None)
        return identifying

    _, _, _, region, account, *_ = event["StackId"].split(":") + [""] * 6
    wanted = identity(desired.request, event["ResourceProperties"])
    return _names_alike(identity(old_request, old_properties), wanted, region, account)


def _names_alike(old: Any, new: Any, region: str, account: str) -> bool:
    """Whether old and new are alike, a string and an ARN of the stack's account and Region (or of none) whose
    resource is named by it counting as the same: amazon.nova-micro-v1:0 and
    arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0, or a KMS key's id and its ARN."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(_names_alike(old[key], new[key], region, account) for key in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_names_alike(a, b, region, account) for a, b in zip(old, new, strict=True))
    if isinstance(old, str) and isinstance(new, str) and old != new:
        return _names(old, new, region, account) or _names(new, old, region, account)
    return bool(old == new)


# The ARNs whose resource is "<type>/<id>" named by the id alone in the stack's account and Region (the API
# reference's identifier patterns); a KMS alias is named as "alias/<name>", its ARN's resource. Not a custom
# model's ARN: its last part is a generated id, and a bare name there is a model's name.
_NAMED_BY_ID = frozenset({("bedrock", "foundation-model"), ("bedrock", "inference-profile"), ("kms", "key")})


def _names(arn: str, name: str, region: str, account: str) -> bool:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[3] not in ("", region) or parts[4] not in ("", account):
        return False
    service, resource = parts[2], parts[5]
    resource_type, _, identifier = resource.partition("/")
    if (service, resource_type) == ("kms", "alias"):
        return resource == name
    return (service, resource_type) in _NAMED_BY_ID and identifier == name


def _has_configuration(desired: Desired, tags: Mapping[str, str], event: Mapping[str, Any]) -> bool:
    if FINGERPRINT_TAG in tags:
        return tags[FINGERPRINT_TAG] == desired.fingerprint
    # Made before fingerprints: the old properties are the only record of its configuration.
    try:
        old = Desired.of(event, event.get("OldResourceProperties") or {})
    except Exception:  # refused properties were never applied: it still has the desired configuration
        return True
    return old.fingerprint == desired.fingerprint


def create_or_adopt(
    kind: ResourceKind,
    client: Any,
    desired: Desired,
    replacing: Mapping[str, Any] | None = None,
    makes_nothing: Callable[[], bool] = lambda: False,
    gone: tuple[str, Mapping[str, Any]] | None = None,
    new_logical_id: bool = False,
) -> OnEventResponse:
    """The resource of the desired configuration: adopted when its name holds one that can be used, else
    created under the first free name of its sequence. replacing: the live resource an update replaces, which
    may refuse only a create (a rollback adopts the resource it replaced, and buys nothing); gone: the ARN and old
    properties of the resource an update found gone, which may refuse only a create too; new_logical_id: a Create
    request's, whose create its kind may refuse.

    In a rollback (makes_nothing), the resource it returns to is gone or cannot be used (deleted outside the stack; a
    job's model deleted): nothing is made, and the answer is an id of nothing (NOTHING_MADE), so that CloudFormation's
    clean-up removes what the update made, as its policy says, and the stack holds nothing, as before the update. So
    it is for a late request (MAKES_NOTHING): CloudFormation no longer waits for its answer."""
    # The resource an update replaces is not taken for differing only in what it runs with: running with what the
    # update changes, it is the one to replace (changed in place once it has made what it makes: update). Any other
    # resource of this logical id is, as on a create.
    replaced = None if replacing is None else replacing[kind.arn_member]
    for number in range(1, MAX_NAME_ATTEMPTS + 1):
        request = desired.attempt(number)
        name = request[kind.name_member]
        live = kind.get(client, name)
        if live is None:
            kept = _kept_under_another_name(kind, client, desired, replaced)
            if kept is not None:
                return _adopt(kind, client, desired, kept, kind.own_tags(client, kept))
            if makes_nothing():
                logger.warning(
                    "The %s of this configuration is gone or cannot be used, and a rollback (or a late request) makes "
                    "nothing: the stack holds none for %s until an update makes one",
                    kind.noun,
                    desired.logical_id,
                )
                return nothing_made(desired.contract.resource_type, desired.logical_id)
            desired.refuse_tags_a_new_resource_cannot_keep()
            if replacing is not None:
                kind.before_replacing(replacing, desired)
            elif gone is not None:
                kind.before_recreating(*gone, desired)
            if new_logical_id:
                _refuse_making_again_what_the_update_removes(kind, client, desired)
                kind.before_creating_for_a_new_logical_id(client, desired)
            kind.before_creating(client, request, desired)
            return {"PhysicalResourceId": _create(kind, client, request, name, desired.fingerprint, replacing)}
        arn = live[kind.arn_member]
        tags = kind.own_tags(client, live)
        alike = (
            tags.get(FINGERPRINT_TAG) == desired.fingerprint
            or _made_from_it(kind, desired, tags)
            # A name you gave holding this logical id's resource made with another role, network or grader.
            or (arn != replaced and _ran_otherwise(kind, live, tags, desired))
        )
        if not alike:
            raise NameTaken(_name_taken_message(kind, desired, name, live, tags, replaced or ""))
        # Another resource's: adopting it would let that resource's Delete delete what this one holds.
        holder = desired.holder(tags)
        why_not = holder or kind.unusable(client, live)
        if why_not is None:
            return _adopt(kind, client, desired, live, tags)
        if kind.name_member in desired.request:
            raise NameTaken(_given_name_held_message(kind, desired, name, arn, tags, why_not, holder is not None))
        logger.info("%s %s (%s) has this configuration but %s; trying the next name", kind.noun, name, arn, why_not)
    # The way out before the logical id, which may have 255 characters (what a single-function provider keeps).
    raise NameTaken(
        f"Give a name, or delete the {kind.noun}s that hold the first {MAX_NAME_ATTEMPTS} names for this logical id: "
        f"they have this configuration but cannot be used (failed or stopped). The logical id: {desired.logical_id}."
    )


def _refuse_making_again_what_the_update_removes(kind: ResourceKind, client: Any, desired: Desired) -> None:
    """A construct moved or renamed (or a models file's key changed) has a new logical id: to CloudFormation, a
    resource added and one removed, which it creates, then deletes or keeps in the update's cleanup. With generated
    names the new one would make again (train, import, copy, evaluate: hours, and a bill) what the old one holds.
    Refused when a resource that the update under way removes holds a usable one of this configuration (but for what
    it used while running: the new construct's role is new too). A name given is of another configuration (a name is
    in the fingerprint): one made on purpose. Unread, the create goes on, as it did before this check: a create must
    not fail for a read that cannot tell."""
    if not kind.made_again_at_a_cost:
        return
    try:
        removed = REMOVED_BY_THE_UPDATE.get()()
    except Exception as error:
        logger.warning(
            "What this update removes could not be read (%s): a %s moved or renamed is made again", error, kind.noun
        )
        return
    for logical_id, physical_id in removed.items():
        live = kind.get(client, physical_id) if kind.arn_pattern.fullmatch(physical_id) else None
        if live is None:
            continue
        try:
            tags = kind.own_tags(client, live)
        except client.exceptions.ResourceNotFoundException:
            continue  # deleted since it was read
        alike = tags.get(FINGERPRINT_TAG) == desired.fingerprint or (
            desired.what_it_makes is not None and tags.get(WHAT_IT_MAKES_TAG) == desired.what_it_makes
        )
        if not alike and (located := kind.located_by(live, desired)) and desired.what_it_makes is not None:
            made_with = dict.fromkeys(kind.used_while_running) | dict(located)
            alike = tags.get(WHAT_IT_MAKES_TAG) == desired.fingerprint_had_it_run_with(made_with)
        if not alike or kind.unusable(client, live) is not None:
            continue
        # The ways out before the logical ids, which may have 255 characters each (a single-function provider keeps
        # the first 200 characters of a reason).
        raise MovedOrRenamed(
            "Nothing was created. If moved or renamed, keep the old logical id (override_logical_id, or a models "
            f"file's old key); to make it again on purpose, name it ({kind.name_member}). The old logical id: "
            f"{logical_id}. This update removes it, and its {kind.noun} {physical_id} has this configuration: "
            f"{desired.logical_id}, a new logical id, would make it again while the update's cleanup deletes or "
            "keeps the old one."
        )


def _made_from_it(kind: ResourceKind, desired: Desired, tags: Mapping[str, str]) -> bool:
    """Whether a resource of this logical id under one of the desired configuration's generated names was made from
    it, though its fingerprint says otherwise: an update since changed it in place to one alike (a new role once it
    completed, a model or key named otherwise: _same_but_for_how_it_is_named_or_ran), so it is alike this one too.
    A generated name holds the configuration's fingerprint (contract.generated_name), and a name never changes for
    these kinds but to a generated one of the configuration it is changed to (a throughput's)."""
    return FINGERPRINT_TAG in tags and _ours(desired, tags) and kind.name_member not in desired.request


def listed_by_name(
    listing: str,
    summaries: str,
    name_member: str,
    get: Callable[[Any, str], dict[str, Any] | None],
    *,
    arn_member: str = "jobArn",
    contains: str | None = "nameContains",
    filters: Mapping[str, Any] | None = None,
    listed_name_member: str | None = None,
) -> Callable[[Any, Desired], Iterator[dict[str, Any]]]:
    """ResourceKind.candidates of a type found by its generated name: this logical id's resources under any of its
    generated names (those of another configuration), newest first. An update in place to an alike configuration
    (_same_but_for_how_it_is_named_or_ran) leaves a resource under the name of the one it was made from, which
    the desired configuration's names do not find: a rollback to that configuration, or a stack of the same name
    deployed again, would else make another (train again) or hold none. listing: the client's List method, whose
    request takes contains (None: it has no filter by this name) and filters, and whose summaries member lists them,
    each with its name (listed_name_member, when a summary does not call it name_member, as the request does) and
    arn_member."""
    listed_name = listed_name_member or name_member

    def candidates(client: Any, desired: Desired) -> Iterator[dict[str, Any]]:
        if name_member in desired.request:  # a given name holds it, whatever its configuration
            return
        stem, pattern = contract.generated_names(
            desired.stack_name, desired.logical_id, lowercase=desired.contract.lowercase_names
        )
        listing_request = {"sortBy": "CreationTime", "sortOrder": "Descending", **(filters or {})}
        if contains:
            listing_request[contains] = stem
        for summary in listed(getattr(client, listing), summaries, **listing_request):
            live = get(client, summary[arn_member]) if pattern.fullmatch(summary.get(listed_name, "")) else None
            if live is not None:
                yield live

    return candidates


def nothing_made(resource_type: str, logical_id: str) -> OnEventResponse:
    """The answer of a rollback that makes nothing: an id of nothing (NOTHING_MADE), and as each attribute (what
    Fn::GetAtt may read) that id, so that what reads it rolls back too and, given an id of nothing, makes nothing."""
    physical_id = f"{NOTHING_MADE}{logical_id}"
    return {
        "PhysicalResourceId": physical_id,
        "Data": dict.fromkeys(contract.CONTRACTS[resource_type].attributes.__annotations__, physical_id),
    }


def _adopt(
    kind: ResourceKind, client: Any, desired: Desired, live: Mapping[str, Any], tags: Mapping[str, str]
) -> OnEventResponse:
    """Take the live resource, which has the desired configuration and is this logical id's, for this request."""
    arn = live[kind.arn_member]
    logger.info("Adopted %s %s: it has this configuration already", kind.noun, arn)
    # Made before this request (not by a retry of it): a rollback of this operation leaves it. Marked first, so that
    # a change in place that fails leaves it marked for that rollback.
    origin = desired.origin if tags.get(ORIGIN_TAG) == desired.origin else contract.ADOPTED
    own = [*desired.tags(desired.contract.tag_members[0]), {"key": ORIGIN_TAG, "value": origin}]
    kind.retag(client, live, own, tags)
    kind.update_in_place(client, live, desired)
    return {"PhysicalResourceId": arn}


def _kept_under_another_name(
    kind: ResourceKind, client: Any, desired: Desired, replaced: str | None
) -> Mapping[str, Any] | None:
    """A resource of the desired configuration that this logical id made, and that can be used, under a name a create
    does not look at (ResourceKind.candidates: a throughput renamed, or given a name, since), or one that differs from
    it only in what it used while running (_ran_otherwise), but the one an update replaces (replaced, its ARN)."""
    for live in kind.candidates(client, desired):
        try:
            tags = kind.own_tags(client, live)
        except client.exceptions.ResourceNotFoundException:
            continue  # deleted since it was listed (another stack's delete or rollback): no candidate
        alike = tags.get(FINGERPRINT_TAG) == desired.fingerprint or (
            live[kind.arn_member] != replaced and _ran_otherwise(kind, live, tags, desired)
        )
        if alike and _ours(desired, tags) and kind.unusable(client, live) is None:
            return live
    return None


def _ran_otherwise(kind: ResourceKind, live: Mapping[str, Any], tags: Mapping[str, str], desired: Desired) -> bool:
    """Whether this logical id's live resource has the desired configuration but for what it used while running (a
    job's service role, its network, an RFT grader), running or done. A stack of this name deleted (with RETAIN) or
    rolled back and deployed again makes its roles, security groups and functions anew, under names CloudFormation
    draws again: the same template then asks for the same job with another role, and a new one would train again.
    One that has made what it makes is alike whatever it ran with, as an update has it; one still running, only if it
    runs in a network when one is asked for, and only then."""
    paths = kind.used_while_running
    if not paths or FINGERPRINT_TAG not in tags or not _ours(desired, tags):  # without it: not made by the library
        return False
    ran_with = {path: _member(live, path) for path in paths}
    asked = {path: _member(desired.request, path) for path in paths}
    # What its Get response reports (a model's role is not: CreateCustomModel's GetCustomModel).
    reported = [path for path in paths if path.split(".")[0] in kind.reported]
    if not kind.has_made_it(live) and any((ran_with[path] is None) != (asked[path] is None) for path in reported):
        return False
    if tags.get(WHAT_IT_MAKES_TAG) == desired.what_it_makes:
        return True
    # Made before WHAT_IT_MAKES_TAG: its fingerprint, of the configuration it was made with, is Bedrock's record's.
    return tags.get(FINGERPRINT_TAG) == desired.fingerprint_had_it_run_with(ran_with)


def _member(value: Any, path: str) -> Any:
    """The member at a dotted path of nested objects (None: there is none)."""
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _with_member(value: Mapping[str, Any], path: str, member: Any) -> dict[str, Any]:
    """A copy of value with member at the dotted path (None: without it); a path whose parents are absent is left."""
    name, _, rest = path.partition(".")
    copy = dict(value)
    if rest:
        if isinstance(copy.get(name), Mapping):
            copy[name] = _with_member(copy[name], rest, member)
    elif member is None:
        copy.pop(name, None)
    else:
        copy[name] = member
    return copy


def _ours(desired: Desired, tags: Mapping[str, str]) -> bool:
    """Whether a resource with these own tags was made, or taken, for this logical id of a stack of this name."""
    return STACK_TAG in tags and LOGICAL_ID_TAG in tags and desired.holder(tags) is None


# The stack statuses in which CloudFormation deletes what the operation it rolls back made (its creates, and an
# update's replacements): a resource so deleted was made, or adopted, by that very operation.
ROLLBACK_STATUSES = frozenset(
    {
        "ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "IMPORT_ROLLBACK_IN_PROGRESS",
    }
)
# The stack statuses in which CloudFormation sends no Create or Update: its operation is over, or only deletes are
# left. A Create or Update that arrives then is late (MAKES_NOTHING). Any other status (one added later too) creates.
LATE_STATUSES = frozenset(
    {
        "CREATE_COMPLETE",
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
        "DELETE_IN_PROGRESS",
        "DELETE_COMPLETE",
        "DELETE_FAILED",
    }
)
# The statuses in which a request that would create makes nothing (MAKES_NOTHING): a rollback, or a late request.
MAKES_NOTHING_STATUSES = ROLLBACK_STATUSES | LATE_STATUSES
# The rollback statuses in which CloudFormation only deletes: an Update sent then is late too (a rollback's Updates
# back come in UPDATE_ROLLBACK_IN_PROGRESS only). Its change in place would undo what the rollback restored.
LATE_UPDATE_STATUSES = LATE_STATUSES | {
    "ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "IMPORT_ROLLBACK_IN_PROGRESS",
}


def kept_by_rollback(
    kind: ResourceKind, client: Any, physical_id: str, stack_id: str, stack_status: Callable[[], str]
) -> bool:
    """Whether a Delete (of stack_id) leaves the resource in place: it was adopted (ResourceKind.adopted: it existed
    before the request that took it) and the Delete is a rollback, which deletes only what the operation it undoes
    took. A Delete of a resource gone deletes as ever."""
    if not kind.arn_pattern.fullmatch(physical_id):
        return False
    live = kind.get(client, physical_id)
    if live is None or not kind.adopted(client, live, stack_id):
        return False
    status = stack_status()
    logger.info("%s %s was adopted; the stack is %s", kind.noun, physical_id, status)
    return status in ROLLBACK_STATUSES


# How much earlier than a stack operation's start a resource may be stamped and still count as made by it: Bedrock's
# and CloudFormation's clocks may differ a little. Only ever favours deleting; a retained resource predates the
# operation by at least the whole operation that made it (a job's or a throughput's creation takes minutes).
CLOCK_TOLERANCE = timedelta(seconds=5)


def made_by(
    kind: ResourceKind,
    client: Any,
    event: Mapping[str, Any],
    operation_started: Callable[[], datetime],
    besides: Collection[str] = (),
) -> str | None:
    """The ARN of the resource this stack's logical id made from the event's properties in the stack operation that
    this request ends or undoes, for a request whose physical id is not what was made: CloudFormation makes one up
    for a create it cancelled (a later resource failed) or stopped waiting for (its timeout) before the handler
    answered, or one whose answer was lost, and what the create made may be running. None when no name of the
    sequence holds one that its tags say this stack's logical id made with these properties, or when the latest
    such was created before that operation began (operation_started, less CLOCK_TOLERANCE): it is not what the
    cancelled request made, but one an earlier operation made, which the stack no longer holds (retained: it must
    stay). None too when the latest is one of besides (the ARNs the caller knows of). Raises when operation_started
    cannot be read."""
    try:
        desired = Desired.of(event)
    except Exception:  # properties that were refused: nothing was made from them
        return None
    made, names = None, set()
    for number in range(1, MAX_NAME_ATTEMPTS + 1):
        name = desired.attempt(number)[kind.name_member]
        live = None if name in names else kind.get(client, name)  # a given name is the same for every number
        if live is None:
            break
        names.add(name)
        tags = kind.own_tags(client, live)
        ours = {FINGERPRINT_TAG: desired.fingerprint, STACK_TAG: desired.stack_id, LOGICAL_ID_TAG: desired.logical_id}
        if all(tags.get(key) == value for key, value in ours.items()):
            made = live  # the latest: earlier names hold failed ones
    if made is None or made[kind.arn_member] in besides:
        return None
    arn: str = made[kind.arn_member]
    created = made.get(kind.created_member)
    if not isinstance(created, datetime):
        logger.error("%s %s has no %s: it is left as it is, since what made it is unknown", kind.noun, arn, created)
        return None
    try:
        started = operation_started()
    except Exception as error:  # the Delete fails, visibly: neither deleting nor leaving it can be decided
        # The way out first: what a single-function provider keeps of a reason is its first 200 characters.
        raise RuntimeError(
            "Nothing was deleted: retry (continue the rollback, or delete again). When this stack's operation began "
            f"could not be read ({error_message(error)}), which tells whether {kind.noun} {arn}, made from these "
            "properties, was made by a request that CloudFormation cancelled or by an earlier operation whose resource "
            "the stack no longer holds (retained)."
        ) from error
    if created.replace(tzinfo=created.tzinfo or UTC) < started - CLOCK_TOLERANCE:
        logger.info(
            "%s %s was made from these properties at %s, before this stack's operation began (%s): an earlier "
            "operation made it and the stack no longer holds it, so it stays",
            kind.noun,
            arn,
            created,
            started,
        )
        return None
    return arn


def _create(
    kind: ResourceKind,
    client: Any,
    request: Mapping[str, Any],
    name: str,
    fingerprint: str,
    replacing: Mapping[str, Any] | None = None,
) -> str:
    """Create, and answer its ARN. A call left unanswered once botocore's retries are spent (a read timeout, a
    closed connection, a server error) may have been served; failing would leave what it made running, since a
    failed Create's Delete never reaches the handler (DESIGN.md, fact 2). So what it made is taken, found by its name
    and configuration; else the same request is sent again (the same clientRequestToken), and looked for once more if
    that too is unanswered."""
    _refuse_without_time_to_create(kind, name)
    create = getattr(client, kind.create_operation)
    try:
        for attempt in (1, 2):
            try:
                arn: str = create(**request)[kind.arn_member]
                break
            except Exception as error:
                if not _unanswered(error):
                    raise
                logger.warning("%s %s: %s; looking for what it made", kind.noun, name, error)
                made = kind.get(client, name)
                if made is not None and kind.own_tags(client, made).get(FINGERPRINT_TAG) == fingerprint:
                    arn = made[kind.arn_member]
                    break
                if attempt == 2:
                    raise
    except client.exceptions.ServiceQuotaExceededException as error:
        if kind.quota is None:
            raise
        replaced = None
        if replacing is not None and replacing.get("status") == "InProgress":  # a job, which holds a place
            replaced = f"{kind.noun} {replacing[kind.arn_member]}"
        raise quota_full(client, f"{kind.quota.refused} {name}", error, quota=kind.quota, replaced=replaced) from error
    logger.info("Created %s %s: %s", kind.noun, name, arn)
    return arn


def time_for_a_call() -> bool:
    """Whether this invocation has time left for one more call with all its retries (no known limit: it has)."""
    left = TIME_LEFT.get()()
    return left is None or left >= ONE_CALL_AT_MOST_SECONDS


def _refuse_without_time_to_create(kind: ResourceKind, name: str) -> None:
    """Refuse a create that the invocation's timeout could cut off: the framework fails a create whose on_event timed
    out, and answers its rollback's Delete without the handler, so what it made would run on outside the stack."""
    if time_for_a_call():
        return
    left = TIME_LEFT.get()() or 0.0
    raise RuntimeError(
        f"Nothing was created: {int(left)} s of this invocation remain (the calls before the create were slow or "
        f"throttled), fewer than the {ONE_CALL_AT_MOST_SECONDS} s that creating {kind.noun} {name} may take with "
        "its retries, and a create cut off would leave what it made outside the stack. Deploy again."
    )


def update_once(call: Callable[[], object], carried_out: Callable[[], bool]) -> None:
    """Send an update (or a stop) that has no clientRequestToken. After a server error botocore sends it again, though
    the service may have carried it out: the second one is then refused as a change of a resource already changing,
    or answered with server errors too. So a refused update counts as done when a fresh read shows it carried out
    (carried_out); otherwise its error is raised."""
    try:
        call()
    except ClientError as error:
        if not carried_out():
            raise
        logger.info("The update was carried out (%s answered a retry of it)", error.response["Error"].get("Code"))


def _unanswered(error: Exception) -> bool:
    """Whether a call may have been served though its caller got no answer: no response (a read timeout, a closed
    connection), or a server error (HTTP 5xx), once botocore's retries are spent."""
    if isinstance(error, HTTPClientError | BotocoreConnectionError):
        return True
    return isinstance(error, ClientError) and error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


def _given_name_held_message(
    kind: ResourceKind, desired: Desired, name: str, arn: str, tags: Mapping[str, str], why_not: str, held: bool
) -> str:
    """Why a name you gave, held by a resource of this configuration, cannot be taken, and what to do."""
    renamed = desired.other_logical_id_of_this_stack(tags)
    if renamed is not None:
        # A construct renamed: another name would make (train, buy) a second one. The way out first, and the logical
        # id (up to 255 characters) after it: the single-function provider's reason keeps the first 200 characters
        # (crhelper's 256, less the note of the cut).
        return (
            "Nothing was created. If renamed, keep the old logical id (override_logical_id, or a models file's old "
            f"key): a new name makes a second {kind.noun}. The old logical id: {renamed}. {kind.name_member}: "
            f"{name!r} is held by {kind.noun} {arn}, which has this configuration but {why_not}."
        )
    # Another resource's cannot be deleted by this one; one that cannot be used, where Bedrock allows it, can.
    or_delete = "" if held else f", or delete that {kind.noun} if Bedrock allows it (a job cannot be deleted)"
    return (
        f"{kind.name_member}: {name!r} is held by {kind.noun} {arn}, which has this configuration but "
        f"{why_not}. Give another name, or remove it to have one generated{or_delete}."
    )


def _name_taken_message(
    kind: ResourceKind, desired: Desired, name: str, live: Mapping[str, Any], tags: Mapping[str, str], replacing: str
) -> str:
    generated = set(desired.contract.generated_names) - desired.request.keys()  # any name would do
    differing = [
        member
        for member, reported in kind.reported.items()
        if member not in generated and not same_value(desired.request.get(member), live.get(reported))
    ]
    given_names = dict.fromkeys(member for member in desired.contract.generated_names if member in desired.request)
    if differing:
        why = "its configuration differs in " + ", ".join(differing)
    elif live[kind.arn_member] == replacing and tags.get(FINGERPRINT_TAG) == desired.fingerprint_had_it_run_with(
        given_names
    ):  # its generated names, given as they are
        why = (
            f"its configuration differs only in the names you give ({', '.join(given_names)}), which Bedrock cannot "
            "change: given, they ask for a new one, which would train or import again (leave them out to keep it)"
        )
    elif FINGERPRINT_TAG in tags:
        why = "its configuration differs in properties that Bedrock does not report back"
    else:
        why = f"it has no {FINGERPRINT_TAG} tag, so it was not created from these properties by this library"
    holder = f"{kind.noun} {live[kind.arn_member]}"
    if live[kind.arn_member] == replacing:
        holder += ", the one this update replaces: the replacement needs a new name"
    return (
        f"{kind.name_member}: {name!r} is held by {holder}, and {why}. Nothing was "
        "created. Bedrock names are unique per account and Region: give another name, or remove it to have one "
        "generated."
    )


def same_value(desired: Any, reported: Any) -> bool:
    """Whether a request member's value is what Bedrock reports: an id given where Bedrock reports its ARN
    counts as the same."""
    if isinstance(desired, str) and isinstance(reported, str):
        return desired == reported or reported.endswith(("/" + desired, ":" + desired))
    if isinstance(desired, Mapping) and isinstance(reported, Mapping):
        return desired.keys() == reported.keys() and all(same_value(desired[k], reported[k]) for k in desired)
    if isinstance(desired, list) and isinstance(reported, list):
        return len(desired) == len(reported) and all(map(same_value, desired, reported))
    return bool(desired == reported or (desired is not None and str(desired) == str(reported)))


def current_tags(client: Any, arn: str) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in client.list_tags_for_resource(resourceARN=arn).get("tags", [])}


def retag(client: Any, arn: str, desired: list[dict[str, str]], current: Mapping[str, str] | None = None) -> None:
    """Make the resource's tags the desired ones, whatever it has now: tags changed outside the stack are
    corrected. AWS's own tags are left alone."""
    if current is None:
        current = current_tags(client, arn)
    wanted = {tag["key"]: tag["value"] for tag in desired}
    removed = sorted(key for key in current.keys() - wanted.keys() if not key.startswith(KEPT_TAG_PREFIXES))
    changed = [{"key": key, "value": value} for key, value in sorted(wanted.items()) if current.get(key) != value]
    if removed:
        client.untag_resource(resourceARN=arn, tagKeys=removed)
    if changed:
        client.tag_resource(resourceARN=arn, tags=changed)
    if removed or changed:
        logger.info("Retagged %s: set %s, removed %s", arn, [tag["key"] for tag in changed], removed)


@dataclass(frozen=True)
class MadeModel:
    """The model a job makes (a customization job's custom model, an import job's imported model), which the
    job's resource manages with it: whether the job can be adopted, the model's tags, its name, its deletion."""

    noun: str  # "custom model"
    arn_member: str  # the job's member that holds the model's ARN once the job has completed
    name_member: str  # the request's member that names the model (and the job summaries' that name it)
    tag_member: str  # the request's member that tags the model
    get_operation: str  # the client method that reads it by name or ARN
    delete_operation: str
    # The List operation and its summaries member of the jobs that make such models (None: the job is found by the
    # model's name, as a copy job is).
    jobs_listing: tuple[str, str] | None = None

    def find(self, client: Any, identifier: str) -> dict[str, Any] | None:
        return getter(self.get_operation, "modelIdentifier")(client, identifier)

    def unusable(self, client: Any, job: Mapping[str, Any]) -> str | None:
        """A running job is waited for and a completed one's model used; any other job, or one whose model is
        gone, cannot be."""
        status = job["status"]
        if status == "InProgress":
            return None
        if status != "Completed":
            return f"is {status}"
        if self.existing(client, job) is not None:
            return None
        return f"completed, and its model {job.get(self.arn_member) or ''} is gone".replace("  ", " ")

    def existing(self, client: Any, job: Mapping[str, Any]) -> str | None:
        """The ARN of the model the job made, once it exists."""
        model_arn = job.get(self.arn_member)
        return model_arn if model_arn and self.find(client, model_arn) is not None else None

    def retag(self, client: Any, job: Mapping[str, Any], desired: Desired) -> None:
        """The job's own tags are the lifecycle's; its model's tags exist once the model does."""
        model_arn = self.existing(client, job)
        if model_arn is not None:
            retag(client, model_arn, desired.tags(self.tag_member))

    def refuse_taken_name(self, client: Any, request: Mapping[str, Any], desired: Desired) -> None:
        """A given model name may be held by another job's model (the one this update replaces, say), or be the
        name of the model a running job makes: no model holds it until that job ends, and the two would race. (A
        running job making a generated one holds its job name too, by which create_or_adopt found it first.)"""
        name = request[self.name_member]
        model = self.find(client, name)
        if model is not None:
            job = f"job {request['jobName']}" if "jobName" in request else "the job"
            raise NameTaken(
                f"{self.name_member}: {name!r} is held by {self.noun} {model['modelArn']}, which {job} cannot replace. "
                f"Nothing was created. {self.noun.capitalize()} names are unique per account and Region: give another "
                "name, or remove it to have one generated."
            )
        if self.jobs_listing is None or self.name_member not in desired.request:
            return
        operation, summaries = self.jobs_listing
        for running in listed(getattr(client, operation), summaries, statusEquals="InProgress"):
            if running.get(self.name_member) == name:
                raise NameTaken(
                    f"{self.name_member}: {name!r} names the {self.noun} that job {running['jobArn']} is making (no "
                    "model holds the name until that job ends, and two jobs would race for it). Nothing was created. "
                    "Give another name. (If that job is the one this update replaces, and only what it runs with "
                    "changes, its role, network or grader, wait until it has completed and deploy again: the change is "
                    "then made in place, training nothing.)"
                )

    def delete(self, client: Any, model_arn: str) -> None:
        """Delete the model; one already gone counts as deleted."""
        try:
            getattr(client, self.delete_operation)(modelIdentifier=model_arn)
            logger.info("Deleted %s %s", self.noun, model_arn)
        except client.exceptions.ResourceNotFoundException:
            logger.info("%s %s is already gone", self.noun.capitalize(), model_arn)
        except client.exceptions.ConflictException as error:
            found = self.find(client, model_arn)
            # Not in use: still being created (or in a status Bedrock added since), or not yet shown: asked again
            # (retried_when_busy). No status (it is not a required member) counts as Active, as for an import.
            if found is None or (found.get("modelStatus") or "Active") not in ("Active", "Failed"):
                raise
            raise ModelInUse(
                f"{self.noun.capitalize()} {model_arn} cannot be deleted while it is in use ({error_message(error)}). "
                "Delete the deployments and provisioned throughput that serve it first, then retry the delete; or, "
                "where a stack keeps them (a removal policy that retains them), keep the model too (its removal policy "
                "RETAIN, or the stack's delete retrying with it among --retain-resources)."
            ) from error


CUSTOM_MODEL = MadeModel(
    noun="custom model",
    arn_member="outputModelArn",
    name_member="customModelName",
    tag_member="customModelTags",
    get_operation="get_custom_model",
    delete_operation="delete_custom_model",
    jobs_listing=("list_model_customization_jobs", "modelCustomizationJobSummaries"),
)


def delete_custom_model(client: Any, model_arn: str) -> None:
    """Delete a custom model; one already gone counts as deleted."""
    CUSTOM_MODEL.delete(client, model_arn)


def outcome_not_awaited(kind: ResourceKind, client: Any, event: CustomResourceEvent, job: Mapping[str, Any]) -> bool:
    """Whether a job that ended unsuccessfully after what the request waits for (waitUntil Accepted or Validated) leaves
    the request complete: an Update's job made by an earlier request (its origin tag is not this request's), in place
    (a retag) or returned to by a rollback. The stack did not wait for its end when it was made; failing the update for
    it would fail its rollback too, for ever. A job this very request made (a Create's, a replacement's) still fails
    it. Asked only of a job that ended so: it reads the job's tags."""
    if event["RequestType"] != "Update":
        return False
    return kind.own_tags(client, job).get(ORIGIN_TAG) != f"request:{event.get('RequestId', '')}"


def retried_when_busy(delete: Callable[[str], bool], physical_id: str) -> bool:
    """One step of a Delete request: delete's answer (True: nothing is left to wait for). Bedrock refuses to delete a
    resource while it is being created or changed (ConflictException): then False, and the next poll asks again. The
    Delete that rolls back a create CloudFormation stopped waiting for finds it so, and must not fail for it."""
    try:
        return delete(physical_id)
    except ClientError as error:
        if error_code(error) != "ConflictException":
            raise
        logger.info("Bedrock cannot delete %s yet (%s): asked again next poll", physical_id, error_message(error))
        return False


def quota_full(client: Any, refused: str, error: Exception, *, quota: Quota, replaced: str | None = None) -> QuotaFull:
    """The error for a create that Bedrock refused with ServiceQuotaExceededException: which quota, what
    holds it, and what to do. replaced: the running job this update replaces (it holds a place until it ends)."""
    region = client.meta.region_name
    held_by = f" Jobs in progress: {_running_jobs(client)}." if quota.name_running_jobs else ""
    if replaced is not None:
        held_by += f" The {replaced} that this update replaces is still running, and holds a place until it ends."
    fewer = (
        f"so let this stack start fewer at once with {CONCURRENCY_SETTING} (default {DEFAULT_MAX_CONCURRENT_JOBS}; "
        "a plain CloudFormation template orders its own jobs, with DependsOn), or ask for a higher quota in Service "
        "Quotas."
        if quota.stack_setting
        else "and a CDK stack starts one at a time already: "
        + (
            "the one this update replaces holds it."
            if replaced
            else "another stack or person holds it (a plain CloudFormation template must order its own, with "
            "DependsOn)."
        )
    )
    return QuotaFull(
        f"Bedrock refused to {refused}: the account's quota of {quota.quota} in {region} is full "
        f"({error_message(error)}).{held_by} Nothing was created. Retry once one has ended; the quota is "
        f"shared by every stack and person in the account and Region, {fewer}"
    )


def _running_jobs(client: Any) -> str:
    try:
        running = client.list_model_customization_jobs(
            statusEquals="InProgress", sortBy="CreationTime", sortOrder="Descending", maxResults=LISTED_RUNNING_JOBS
        )
    except Exception as listing_error:  # the listing only explains; the refusal is the error
        return f"not listed ({error_message(listing_error)})"
    names = [
        f"{job['jobName']} (started {job['creationTime']:%Y-%m-%d %H:%M} UTC)"
        for job in running["modelCustomizationJobSummaries"]
    ]
    if running.get("nextToken"):
        names.append("and more")
    return "; ".join(names) or "none listed"
