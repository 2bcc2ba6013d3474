"""A Delete of a physical id that names nothing succeeds, also when it has the shape of this type's ARNs (the
handlers' patterns are loose, so that anything that may be a resource is deleted) but not the one Bedrock takes (its
last part too short, or too many parts): Bedrock answers a Get of it with ValidationException, and holds nothing
under it. A stack whose template or state holds such an id must still delete."""

from __future__ import annotations

import pytest
from bedrock_custom_resource import contract, index, provisioned_throughput
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, REGION, CloudFormationEvents
from .serving_helpers import create_until, throughput_properties

# Each type's ARN resource type, from the Service Authorization Reference (DESIGN.md, fact 12).
ARN_TYPES = {
    contract.CUSTOM_MODEL: "custom-model",
    contract.MODEL_DEPLOYMENT: "custom-model-deployment",
    contract.PROVISIONED_THROUGHPUT: "provisioned-model",
    contract.MODEL_IMPORT: "model-import-job",
    contract.MODEL_COPY: "model-copy-job",
    contract.MODEL_EVALUATION: "evaluation-job",
    contract.CUSTOMIZATION_JOB: "model-customization-job",
}


@pytest.mark.parametrize("resource_type", list(ARN_TYPES))
@pytest.mark.parametrize("last_part", ["abcdefgh1234", "Q", "a/b/c/d/e"])
def test_a_delete_of_an_arn_bedrock_refuses_succeeds(bedrock, resource_type, last_part):
    physical_id = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:{ARN_TYPES[resource_type]}/{last_part}"
    event = CloudFormationEvents(resource_type=resource_type).delete(physical_id)
    event["ResourceProperties"] = {}

    assert index.on_event(event)["PhysicalResourceId"] == physical_id
    assert index.is_complete(event) == {"IsComplete": True}


def test_a_delete_that_bedrock_refuses_of_a_resource_it_holds_still_fails(bedrock, model_arn, monkeypatch):
    """Only an id that Bedrock's Get refuses too is taken as naming nothing: a Delete of a throughput that exists,
    refused with ValidationException, fails, and the throughput stays."""
    events = CloudFormationEvents(resource_type=contract.PROVISIONED_THROUGHPUT)
    _, throughput_arn = create_until(
        "InService", bedrock.set_throughput_status, events, throughput_properties(model_arn)
    )

    def refused(_throughput_arn: str) -> None:
        error = {"Error": {"Code": "ValidationException", "Message": "the throughput is in use"}}
        raise ClientError(error, "DeleteProvisionedModelThroughput")

    monkeypatch.setattr(provisioned_throughput, "delete_now", refused)
    with pytest.raises(ClientError, match="in use"):
        index.on_event(events.delete(throughput_arn, throughput_properties(model_arn)))
    assert [throughput["provisionedModelArn"] for throughput in bedrock.throughputs()] == [throughput_arn]


def test_when_the_get_cannot_tell_the_deletes_own_failure_is_answered(bedrock, model_arn, monkeypatch):
    """A Get that fails otherwise (throttled past botocore's retries) tells nothing: the Delete fails with its own
    error, through the handler's usual answer."""
    events = CloudFormationEvents(resource_type=contract.PROVISIONED_THROUGHPUT)
    _, throughput_arn = create_until(
        "InService", bedrock.set_throughput_status, events, throughput_properties(model_arn)
    )

    def refused(_throughput_arn: str) -> None:
        bedrock.throttle(100, "GetProvisionedModelThroughput")  # from here on
        error = {"Error": {"Code": "ValidationException", "Message": "the throughput is in use"}}
        raise ClientError(error, "DeleteProvisionedModelThroughput")

    monkeypatch.setattr(provisioned_throughput, "delete_now", refused)
    with pytest.raises(ClientError, match="in use"):
        index.on_event(events.delete(throughput_arn, throughput_properties(model_arn)))
