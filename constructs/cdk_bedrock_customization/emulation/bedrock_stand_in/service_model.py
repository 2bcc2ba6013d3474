"""What the stand-in takes from Bedrock's service model (the file the handler's own client uses): the status
enums, the ARN patterns and the tag limit; and the ARNs, timestamps and responses it writes as Bedrock writes
them."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bedrock_custom_resource import contract
from botocore.model import StringShape
from moto.bedrock.models import BedrockBackend
from moto.utilities.utils import get_partition


def _enum(shape_name: str) -> tuple[str, ...]:
    shape = contract.shape(shape_name)
    assert isinstance(shape, StringShape)
    return tuple(shape.enum)


@functools.cache
def arn_pattern(shape_name: str) -> re.Pattern[str]:
    return re.compile(contract.shape(shape_name).metadata["pattern"])


JOB_STATUSES = _enum("ModelCustomizationJobStatus")
SUB_TASK_STATUSES = _enum("JobStatusDetails")
MODEL_STATUSES = _enum("ModelStatus")
DEPLOYMENT_STATUSES = _enum("CustomModelDeploymentStatus")
THROUGHPUT_STATUSES = _enum("ProvisionedModelStatus")
IMPORT_JOB_STATUSES = _enum("ModelImportJobStatus")
COPY_JOB_STATUSES = _enum("ModelCopyJobStatus")
EVALUATION_JOB_STATUSES = _enum("EvaluationJobStatus")
JOB_ARN_PATTERN = arn_pattern("ModelCustomizationJobArn")
MODEL_ARN_PATTERN = arn_pattern("CustomModelArn")
IMPORTED_MODEL_ARN_PATTERN = arn_pattern("ModelArn")
DEPLOYMENT_ARN_PATTERN = arn_pattern("CustomModelDeploymentArn")
THROUGHPUT_ARN_PATTERN = arn_pattern("ProvisionedModelArn")
FOUNDATION_MODEL_ARN_PATTERN = arn_pattern("FoundationModelArn")
IMPORT_JOB_ARN_PATTERN = arn_pattern("ModelImportJobArn")
IMPORT_JOB_MODEL_ARN_PATTERN = arn_pattern("ImportedModelArn")
COPY_JOB_ARN_PATTERN = arn_pattern("ModelCopyJobArn")
EVALUATION_JOB_ARN_PATTERN = arn_pattern("EvaluationJobArn")
# The ARNs that TagResource, UntagResource and ListTagsForResource accept.
TAGGABLE_ARN_PATTERN = arn_pattern("TaggableResourcesArn")
MAX_TAGS_PER_RESOURCE = contract.MAX_TAGS_PER_RESOURCE


def checked_arn(arn: str, shape_name: str) -> str:
    """arn, which the stand-in built: a bug in the stand-in unless it matches the service model's shape."""
    if not arn_pattern(shape_name).fullmatch(arn):
        raise AssertionError(f"the stand-in built {arn!r}, which does not match the service model's {shape_name}")
    return arn


def foundation_model_arn(backend: BedrockBackend, model_id: str) -> str:
    """The ARN of a foundation model given by id (an ARN is kept as it is)."""
    if model_id.startswith("arn:"):
        return model_id
    return f"arn:{get_partition(backend.region_name)}:bedrock:{backend.region_name}::foundation-model/{model_id}"


def iso(moment: datetime) -> str:
    """A timestamp as Bedrock's JSON writes it: ISO 8601 in UTC, to the millisecond."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# What time it is for Bedrock: real time, unless a stand-in was given a clock (BedrockStandIn.use_clock: the
# rehearsal's simulated one, on which CloudFormation's events are stamped too).
BEDROCK_TIME = SimpleNamespace(read=lambda: datetime.now(UTC))


def moment() -> datetime:
    """Bedrock's time now (BEDROCK_TIME)."""
    result: datetime = BEDROCK_TIME.read()
    return result


def now() -> str:
    return iso(moment())


def present(**members: Any) -> dict[str, Any]:
    """A response's members, without those it does not have (None): Bedrock leaves them out."""
    return {name: value for name, value in members.items() if value is not None}
