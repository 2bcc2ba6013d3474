"""Custom::BedrockCopiedCustomModel: copy a custom model into this Region (CreateModelCopyJob), await the copy, and
delete the copied model (DeleteCustomModel) with the resource.

A copy job has no name and no tags of its own: it is found by its copied model's name (ListModelCopyJobs), and its
configuration tag is on the copied model's tags, which its record keeps (targetModelTags). Attributes are named as
GetModelCopyJob names them; the rest is model_jobs'.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from . import contract, lifecycle, model_jobs
from .aws import bedrock_client, listed
from .cr_types import ModelCopyAttributes

RESOURCE_TYPE = contract.MODEL_COPY
# Loose on purpose, like the other jobs': mistaking a real job ARN for something else would leave its copy behind.
JOB_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:model-copy-job/\S+")
_copy_job = lifecycle.getter("get_model_copy_job", "jobArn")
ATTRIBUTE_MEMBERS = (
    "jobArn",
    "status",
    "targetModelArn",
    "targetModelName",
    "targetModelKmsKeyArn",
    "sourceModelArn",
    "sourceModelName",
    "sourceAccountId",
)


def find(client: Any, identifier: str) -> dict[str, Any] | None:
    """The copy job of this ARN; or, by name, the newest job that copies a model under that name. None: none."""
    if JOB_ARN.fullmatch(identifier):
        return _copy_job(client, identifier)
    jobs = listed(
        client.list_model_copy_jobs,
        "modelCopyJobSummaries",
        targetModelNameContains=identifier,
        sortBy="CreationTime",
        sortOrder="Descending",
    )
    # The newest: the list is newest first.
    return next((dict(job) for job in jobs if job.get("targetModelName") == identifier), None)


def attributes(_client: Any, job: Mapping[str, Any]) -> ModelCopyAttributes:
    """The job's fields that a stack can use, as strings (CloudFormation attributes are strings)."""
    data = cast(ModelCopyAttributes, {name: str(job[name]) for name in ATTRIBUTE_MEMBERS if job.get(name)})
    if isinstance(job.get("creationTime"), datetime):
        data["creationTime"] = job["creationTime"].isoformat()
    return data


COPIED_MODEL = lifecycle.MadeModel(
    noun="custom model",
    arn_member="targetModelArn",
    name_member="targetModelName",
    tag_member="targetModelTags",
    get_operation="get_custom_model",
    delete_operation="delete_custom_model",
)


KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="model copy job",
    create_operation="create_model_copy_job",
    arn_member="jobArn",
    arn_pattern=JOB_ARN,
    name_member="targetModelName",
    get=find,
    unusable=COPIED_MODEL.unusable,
    reported={"sourceModelArn": "sourceModelArn", "modelKmsKeyId": "targetModelKmsKeyArn"},
    update_in_place=COPIED_MODEL.retag,
    before_creating=COPIED_MODEL.refuse_taken_name,
    tags_on_record="targetModelTags",
    made=COPIED_MODEL,
    candidates=lifecycle.listed_by_name(
        "list_model_copy_jobs", "modelCopyJobSummaries", "targetModelName", find, contains="targetModelNameContains"
    ),
    made_again_at_a_cost=True,
)


def _label(job: Mapping[str, Any]) -> str:
    return f"to {job.get('targetModelName') or job['targetModelArn']}"


JOB = model_jobs.ModelJob(
    kind=KIND,
    made=COPIED_MODEL,
    label=_label,
    attributes=attributes,
    client=lambda: bedrock_client(),
)
on_event = JOB.on_event
is_complete = JOB.is_complete
