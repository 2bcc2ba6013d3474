"""Lifecycle rules that every resource type shares.

Creating with generated names and an idempotency token, telling an in-place change from a replacement,
retagging, and deleting a custom model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import contract
from .aws import error_message

logger = logging.getLogger(__name__)


# How many of the account's running jobs a quota error names.
LISTED_RUNNING_JOBS = 5
CONCURRENCY_SETTING = "CustomizationProvider.of(stack, max_concurrent_jobs=N)"
# Set by a provider stack: the ARN pattern (ending in *) of the roles its templates may pass.
PASSABLE_ROLES_VARIABLE = "PASSABLE_ROLES"


class ModelInUse(RuntimeError):
    pass


class QuotaFull(RuntimeError):
    """Bedrock refused a create because an account quota is full; nothing was created."""


@dataclass(frozen=True)
class Quota:
    """The account quota that can make Bedrock refuse a create, for the error that explains it."""

    refused: str  # what Bedrock refused, e.g. "start model customization job"
    quota: str  # e.g. "concurrent model customization jobs"
    name_running_jobs: bool = False


def on_event(
    event: Mapping[str, Any],
    *,
    create: Callable[[Mapping[str, Any]], dict[str, Any]],
    update: Callable[[Mapping[str, Any]], dict[str, Any]],
    delete: Callable[[str], object],
) -> dict[str, Any]:
    """Dispatch an onEvent request. A Delete keeps the physical id it was given."""
    if event["RequestType"] == "Create":
        return create(event)
    if event["RequestType"] == "Update":
        return update(event)
    delete(event["PhysicalResourceId"])
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def create(
    client: Any, event: Mapping[str, Any], operation: str, arn_member: str, quota: Quota | None = None
) -> dict[str, Any]:
    """Create the resource of a Create (or replacing Update) event with the client's operation; the ARN
    it returns in arn_member is the physical id."""
    request = create_request(event)
    name = request[contract.CONTRACTS[event["ResourceType"]].generated_names[0]]
    try:
        arn = getattr(client, operation)(**request)[arn_member]
    except client.exceptions.ServiceQuotaExceededException as error:
        if quota is None:
            raise
        raise quota_full(client, f"{quota.refused} {name}", error, quota=quota) from error
    logger.info("Created %s %s: %s", event["ResourceType"], name, arn)
    return {"PhysicalResourceId": arn}


def create_request(event: Mapping[str, Any]) -> dict[str, Any]:
    """The validated create request of a Create (or replacing Update) event: absent names generated,
    and a clientRequestToken that makes a retried request create nothing new."""
    resource_type = event["ResourceType"]
    request = contract.create_request(resource_type, event["ResourceProperties"])
    _refuse_unpassable_role(request.get("roleArn"))
    name = contract.generated_name(event["StackId"], event["LogicalResourceId"], event["RequestId"])
    for member in contract.CONTRACTS[resource_type].generated_names:
        request.setdefault(member, name)
    request["clientRequestToken"] = contract.client_request_token(request, event["RequestId"])
    return request


def _refuse_unpassable_role(role_arn: str | None) -> None:
    """A provider stack's handler may pass only the roles it was given; say so before IAM denies it."""
    passable = os.environ.get(PASSABLE_ROLES_VARIABLE)
    if passable and role_arn and not role_arn.startswith(passable.removesuffix("*")):
        raise ValueError(
            f"roleArn: {role_arn!r} is not a role this provider may pass to Bedrock; it passes only roles "
            f"matching {passable} (the provider stack's role path or name prefix)"
        )


@dataclass(frozen=True)
class Change:
    """An Update event's old and new properties (defaults filled in) and the names of those that differ."""

    resource_type: str
    old: dict[str, Any]
    new: dict[str, Any]
    changed: frozenset[str]

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Change:
        """The change an Update event asks for, once the new properties are known to be valid."""
        resource_type = event["ResourceType"]
        contract.create_request(resource_type, event["ResourceProperties"])  # validate before changing anything
        new = contract.properties_with_defaults(resource_type, event["ResourceProperties"])
        old = contract.properties_with_defaults(resource_type, event["OldResourceProperties"])
        changed = frozenset(name for name in new.keys() | old.keys() if new.get(name) != old.get(name))
        return cls(resource_type, old, new, changed)

    @property
    def tag_members(self) -> frozenset[str]:
        return frozenset(contract.CONTRACTS[self.resource_type].tag_members)

    def only(self, *members: str) -> bool:
        """True when nothing but these members and tags changed."""
        return self.changed <= self.tag_members.union(members)

    @property
    def tags_only(self) -> bool:
        return self.only()

    def refuse_reused_names(self, resource: str, why: str) -> None:
        """A replacement must not take an explicitly given name that the current resource still holds."""
        generated = contract.CONTRACTS[self.resource_type].generated_names
        reused = [name for name in generated if self.new.get(name) is not None and self.new[name] == self.old.get(name)]
        if reused:
            raise ValueError(
                f"Changing {sorted(self.changed - self.tag_members)} needs a new {resource}, but "
                + ", ".join(f"{name} {self.new[name]!r}" for name in reused)
                + f" would be reused: {why}. Change the name, or remove it to have one generated."
            )

    def retag(self, client: Any, arn: str, member: str) -> None:
        """Apply the change of the tag list `member` to the resource arn."""
        before = {tag["key"]: tag["value"] for tag in self.old.get(member) or []}
        after = {tag["key"]: tag["value"] for tag in self.new.get(member) or []}
        removed = sorted(before.keys() - after.keys())
        updated = [{"key": key, "value": value} for key, value in sorted(after.items()) if before.get(key) != value]
        if removed:
            client.untag_resource(resourceARN=arn, tagKeys=removed)
        if updated:
            client.tag_resource(resourceARN=arn, tags=updated)
        if removed or updated:
            logger.info("Retagged %s: set %s, removed %s", arn, [tag["key"] for tag in updated], removed)


def delete_custom_model(client: Any, model_arn: str) -> None:
    """Delete a custom model; one already gone counts as deleted."""
    try:
        client.delete_custom_model(modelIdentifier=model_arn)
        logger.info("Deleted custom model %s", model_arn)
    except client.exceptions.ResourceNotFoundException:
        logger.info("Custom model %s is already gone", model_arn)
    except client.exceptions.ConflictException as error:
        raise ModelInUse(
            f"Custom model {model_arn} cannot be deleted while it is in use ({error_message(error)}). Delete the "
            "deployments and provisioned throughput that serve it first, then retry the delete."
        ) from error


def quota_full(client: Any, refused: str, error: Exception, *, quota: Quota) -> QuotaFull:
    """The error for a create that Bedrock refused with ServiceQuotaExceededException: which quota, what
    holds it, and what to do."""
    region = client.meta.region_name
    held_by = f" Jobs in progress: {_running_jobs(client)}." if quota.name_running_jobs else ""
    return QuotaFull(
        f"Bedrock refused to {refused}: the account's quota of {quota.quota} in {region} is full "
        f"({error_message(error)}).{held_by} Nothing was created. Retry once one has ended; the quota is "
        f"shared by every stack and person in the account and Region, so let this stack start fewer at once "
        f"with {CONCURRENCY_SETTING} (default 2), or ask for a higher quota in Service Quotas."
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
