"""The seven resource types that create something in Bedrock, as the handler tests drive them: the operations that
create and change each, the members that name and tag it (and where those tags are), the status at which its
Create is complete, how the Bedrock stand-in lists it and moves its status, and valid properties for it. Written
by hand from the API reference, never read from the handler's contract. And a stack of one such resource, whose
Creates and Updates run whole: onEvent, the resource made ready, isComplete."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from bedrock_custom_resource import index
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import CloudFormationEvents, active_model, completed_job, fine_tuning_properties, is_complete_input
from .serving_helpers import deployment_properties, throughput_properties
from .test_imported_model import import_properties
from .test_model_copy_job import copy_properties
from .test_model_evaluation import BUCKET as EVALUATION_BUCKET
from .test_model_evaluation import job_properties as evaluation_job_properties
from .test_model_import_job import import_properties as import_job_properties


@dataclass(frozen=True)
class ResourceKind:
    resource_type: str
    create_operation: str
    update_operation: str | None  # the in-place update, if any
    name_member: str
    tag_members: tuple[str, ...]  # the resource's own first
    ready: str  # the status at which a Create is complete
    arn_member: str  # in what existing() lists
    status_member: str
    existing: Callable[[BedrockStandIn], list[dict[str, Any]]]
    set_status: Callable[..., None]  # (bedrock, ARN, status, failure message if any)
    properties: Callable[[BedrockStandIn], dict[str, Any]]  # valid ones, tagged, for a new resource
    # Where each tag member's tags are, in tag_members' order: the member of the resource's record (as existing()
    # lists it) that holds the ARN they tag. Empty: every tag member tags the resource itself (arn_member).
    tag_holders: tuple[str, ...] = ()
    # The members that name what the resource makes (generated when absent), besides name_member.
    other_name_members: tuple[str, ...] = ()

    @property
    def tag_member(self) -> str:
        """The member of the resource's own tags (a job's jobTags; its customModelTags tag its model). A copy job
        cannot be tagged: its own tags are its copied model's."""
        return self.tag_members[0]

    @property
    def name_members(self) -> tuple[str, ...]:
        """Every member that names the resource or what it makes (a job's jobName, then its model's name)."""
        return (self.name_member, *self.other_name_members)

    def record(self, bedrock: BedrockStandIn, physical_id: str) -> dict[str, Any]:
        """The resource of this ARN, as existing() lists it."""
        (resource,) = [r for r in self.existing(bedrock) if r[self.arn_member] == physical_id]
        return resource

    def tagged(self, bedrock: BedrockStandIn, physical_id: str, member: str) -> str | None:
        """The ARN that the tag member's tags are on, as the stand-in records it (None: it does not exist yet, as
        a job's model before the job completes)."""
        holders = self.tag_holders or (self.arn_member,) * len(self.tag_members)
        holder = holders[self.tag_members.index(member)]
        arn = self.record(bedrock, physical_id).get(holder)
        return None if arn is None else str(arn)

    def fields(self) -> dict[str, Any]:
        """Its fields by name, for a subclass that adds what its tests need: Sub(**kind.fields(), more=...)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(ResourceKind)}

    def only(self, bedrock: BedrockStandIn) -> str:
        """The ARN of the one resource of this type that exists."""
        (resource,) = self.existing(bedrock)
        return str(resource[self.arn_member])


JOB = ResourceKind(
    resource_type="Custom::BedrockModelCustomizationJob",
    create_operation="CreateModelCustomizationJob",
    update_operation=None,
    name_member="jobName",
    tag_members=("jobTags", "customModelTags"),
    ready="Completed",
    arn_member="jobArn",
    status_member="status",
    existing=BedrockStandIn.jobs,
    set_status=BedrockStandIn.set_job_status,
    properties=lambda bedrock: fine_tuning_properties(),
    tag_holders=("jobArn", "outputModelArn"),  # the job; its model once it completes
    other_name_members=("customModelName",),
)

IMPORT = ResourceKind(
    resource_type="Custom::BedrockCustomModel",
    create_operation="CreateCustomModel",
    update_operation=None,
    name_member="modelName",
    tag_members=("modelTags",),
    ready="Active",
    arn_member="modelArn",
    status_member="modelStatus",
    existing=BedrockStandIn.imported_models,
    set_status=BedrockStandIn.set_model_status,
    properties=lambda bedrock: import_properties(),
)

DEPLOYMENT = ResourceKind(
    resource_type="Custom::BedrockCustomModelDeployment",
    create_operation="CreateCustomModelDeployment",
    update_operation="UpdateCustomModelDeployment",
    name_member="modelDeploymentName",
    tag_members=("tags",),
    ready="Active",
    arn_member="customModelDeploymentArn",
    status_member="status",
    existing=BedrockStandIn.deployments,
    set_status=BedrockStandIn.set_deployment_status,
    properties=lambda bedrock: deployment_properties(active_model(bedrock, "served")),
)

THROUGHPUT = ResourceKind(
    resource_type="Custom::BedrockProvisionedModelThroughput",
    create_operation="CreateProvisionedModelThroughput",
    update_operation="UpdateProvisionedModelThroughput",
    name_member="provisionedModelName",
    tag_members=("tags",),
    ready="InService",
    arn_member="provisionedModelArn",
    status_member="status",
    existing=BedrockStandIn.throughputs,
    set_status=BedrockStandIn.set_throughput_status,
    properties=lambda bedrock: throughput_properties(active_model(bedrock, "served")),
)

IMPORT_JOB = ResourceKind(
    resource_type="Custom::BedrockImportedModel",
    create_operation="CreateModelImportJob",
    update_operation=None,
    name_member="jobName",
    tag_members=("jobTags", "importedModelTags"),
    ready="Completed",
    arn_member="jobArn",
    status_member="status",
    existing=BedrockStandIn.import_jobs,
    set_status=BedrockStandIn.set_import_job_status,
    properties=lambda bedrock: import_job_properties(),
    tag_holders=("jobArn", "importedModelArn"),  # the job; its imported model once it completes
    other_name_members=("importedModelName",),
)


def trained_model(bedrock: BedrockStandIn, name: str) -> str:
    """A custom model of that name, trained by a fine-tuning job made outside any stack: its ARN."""
    return str(bedrock.job(completed_job(bedrock, f"{name}-job", name))["outputModelArn"])


# A copy job has no name and no tags of its own (the API reference's TaggableResourcesArn does not admit its ARN):
# targetModelName names it (it is found by it, with ListModelCopyJobs) and its tags are its copied model's, at
# targetModelArn, once the job completes. Its record keeps the targetModelTags its request gave, the handler's
# configuration tag among them, which no later tagging changes.
COPY_JOB = ResourceKind(
    resource_type="Custom::BedrockCopiedCustomModel",
    create_operation="CreateModelCopyJob",
    update_operation=None,
    name_member="targetModelName",
    tag_members=("targetModelTags",),
    ready="Completed",
    arn_member="jobArn",
    status_member="status",
    existing=BedrockStandIn.copy_jobs,
    set_status=BedrockStandIn.set_copy_job_status,
    properties=lambda bedrock: copy_properties(trained_model(bedrock, "support-v1")),
    tag_holders=("targetModelArn",),
)


def evaluation_properties(bedrock: BedrockStandIn) -> dict[str, Any]:
    """An evaluation of a foundation model on a built-in dataset, its results to a bucket that exists."""
    s3 = boto3.client("s3", region_name=bedrock.region)
    if EVALUATION_BUCKET not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=EVALUATION_BUCKET)
    return evaluation_job_properties()


# An evaluation job is read by its ARN only: it is found by its name with ListEvaluationJobs. It makes nothing but its
# results, and is tagged itself.
EVALUATION_JOB = ResourceKind(
    resource_type="Custom::BedrockModelEvaluationJob",
    create_operation="CreateEvaluationJob",
    update_operation=None,
    name_member="jobName",
    tag_members=("jobTags",),
    ready="Completed",
    arn_member="jobArn",
    status_member="status",
    existing=BedrockStandIn.evaluation_jobs,
    set_status=BedrockStandIn.set_evaluation_job_status,
    properties=evaluation_properties,
)

KINDS = [JOB, IMPORT, DEPLOYMENT, THROUGHPUT, IMPORT_JOB, COPY_JOB, EVALUATION_JOB]


@dataclass
class Stack:
    """One stack's events for one resource type."""

    bedrock: BedrockStandIn
    kind: ResourceKind
    events: CloudFormationEvents
    logical_id: str = "Model"

    @classmethod
    def named(
        cls, bedrock: BedrockStandIn, kind: ResourceKind, stack_name: str = "my-stack", logical_id: str = "Model"
    ) -> Stack:
        """A stack of that name, with a stack id of its own."""
        return cls(bedrock, kind, CloudFormationEvents(stack_name, kind.resource_type), logical_id)

    def create(self, properties: dict[str, Any], logical_id: str | None = None) -> tuple[str, dict[str, str]]:
        """A whole Create: onEvent, the resource made ready, isComplete. (physical id, Data)."""
        event = self.events.create(properties, logical_id or self.logical_id)
        physical_id = index.on_event(event)["PhysicalResourceId"]
        return physical_id, self.complete(event, physical_id)

    def update(self, physical_id: str, properties: dict[str, Any], old: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """A whole Update: onEvent, the resource made ready, isComplete. (physical id, Data)."""
        event = self.events.update(physical_id, properties, old, self.logical_id)
        new_id = index.on_event(event)["PhysicalResourceId"]
        return new_id, self.complete(event, new_id)

    def complete(self, event: dict[str, Any], physical_id: str) -> dict[str, str]:
        self.make_ready(physical_id)
        result = index.is_complete(is_complete_input(event, {"PhysicalResourceId": physical_id}))
        assert result["IsComplete"] is True
        return dict(result["Data"])

    def make_ready(self, physical_id: str) -> None:
        """Move the resource to its ready status, as Bedrock would over time; a deleted one stays gone."""
        records = [r for r in self.kind.existing(self.bedrock) if r[self.kind.arn_member] == physical_id]
        if records and records[0][self.kind.status_member] != self.kind.ready:
            self.kind.set_status(self.bedrock, physical_id, self.kind.ready)


def writes(bedrock: BedrockStandIn, since: int) -> list[str]:
    """The operations since the since-th call that change something in Bedrock (reads are Get* and List*)."""
    return [call.operation for call in bedrock.calls[since:] if not call.operation.startswith(("Get", "List"))]
