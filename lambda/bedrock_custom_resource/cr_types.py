"""The shapes the handler exchanges with the Provider framework, and the attributes of each resource type.

As aws-cdk's own handlers type them: CloudFormation's request (as the framework passes it on), the answers of
on_event and is_complete, and each resource type's Data, which the construct reads with Fn::GetAtt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Required, TypedDict


class CustomResourceEvent(TypedDict, total=False):
    """A CloudFormation custom resource request, as the Provider framework gives it to on_event and is_complete
    (is_complete's also carries on_event's answer: PhysicalResourceId and Data)."""

    RequestType: Required[Literal["Create", "Update", "Delete"]]
    ResourceType: Required[str]
    LogicalResourceId: Required[str]
    StackId: Required[str]
    RequestId: Required[str]
    ResourceProperties: Required[dict[str, Any]]
    OldResourceProperties: dict[str, Any]  # Update only
    PhysicalResourceId: str  # Update and Delete; and is_complete's
    ServiceToken: str
    ResponseURL: str  # never logged
    Data: dict[str, str]  # is_complete's: on_event's Data


class OnEventResponse(TypedDict, total=False):
    PhysicalResourceId: Required[str]
    Data: Mapping[str, object]  # one of the attributes below


class IsCompleteResponse(TypedDict, total=False):
    IsComplete: Required[bool]
    Data: Mapping[str, object]


class JobAttributes(TypedDict, total=False):
    """A customization job's (and its completed-job reader's) attributes."""

    jobArn: str
    jobName: str
    status: str
    outputModelArn: str
    outputModelName: str
    baseModelArn: str
    outputModelKmsKeyArn: str
    creationTime: str
    endTime: str
    trainingLoss: str
    validationLoss: str


class ImportedModelAttributes(TypedDict, total=False):
    modelArn: str
    modelName: str
    modelStatus: str


class ModelImportAttributes(TypedDict, total=False):
    """A model import job's fields, and GetImportedModel's of the model it imported."""

    jobArn: str
    jobName: str
    status: str
    importedModelArn: str
    importedModelName: str
    modelArchitecture: str
    instructSupported: str  # "true" or "false": CloudFormation attributes are strings
    customModelUnitsPerModelCopy: str
    customModelUnitsVersion: str
    importedModelKmsKeyArn: str
    creationTime: str
    endTime: str


class ModelCopyAttributes(TypedDict, total=False):
    """A model copy job's fields (GetModelCopyJob), named as it names them."""

    jobArn: str
    status: str
    targetModelArn: str
    targetModelName: str
    targetModelKmsKeyArn: str
    sourceModelArn: str
    sourceModelName: str
    sourceAccountId: str
    creationTime: str


class EvaluationAttributes(TypedDict, total=False):
    """A model evaluation job's fields (GetEvaluationJob), named as it names them."""

    jobArn: str
    jobName: str
    status: str
    outputS3Uri: str  # outputDataConfig.s3Uri
    creationTime: str


class GateAttributes(TypedDict, total=False):
    """An evaluation gate's fixed attributes. Its scores are attributes too, by dataset and metric:
    ``Scores.<dataset name>.<metric name>`` (the evaluated model's mean score) and ``BaselineScores.<...>``."""

    jobArn: str
    baselineJobArn: str
    passed: str  # "true": a gate that does not pass fails


class DeploymentAttributes(TypedDict, total=False):
    customModelDeploymentArn: str
    modelDeploymentName: str
    modelArn: str
    status: str


class ThroughputAttributes(TypedDict, total=False):
    provisionedModelArn: str
    provisionedModelName: str
    modelArn: str
    modelUnits: str
    status: str
    commitmentDuration: str
    commitmentExpirationTime: str
