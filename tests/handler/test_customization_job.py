"""Custom::BedrockModelCustomizationJob: Create, bad input, isComplete, response size, throttling, dispatch.

Update and Delete are in test_customization_job_update.py and test_customization_job_delete.py.
Bedrock is moto plus the stand-in of cdk_bedrock_customization.emulation; what the handler sent is read from
the stand-in's record of calls, what exists from the stand-in's state.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import datetime
from typing import Any

import botocore.session
import pytest
from bedrock_custom_resource import contract, customization_job, index, responses
from botocore.exceptions import EndpointConnectionError
from cdk_bedrock_customization.emulation.bedrock_stand_in import JOB_ARN_PATTERN, MODEL_ARN_PATTERN, BedrockStandIn

from .conftest import (
    ACCOUNT,
    GRADER_ARN,
    LONGEST_LOGICAL_ID,
    REGION,
    TEACHER_MODEL,
    CloudFormationEvents,
    deploy,
    distillation_properties,
    fine_tuning_properties,
    is_complete_input,
    rft_properties,
    start,
)

# The name shapes as the installed botocore ships them, not the handler's own copy or constant: the reference its
# generated names must fit.
NAME_SHAPES = {
    member: botocore.session.get_session().get_service_model("bedrock").shape_for(shape)
    for member, shape in (("jobName", "JobName"), ("customModelName", "CustomModelName"))
}
CREATE = "CreateModelCustomizationJob"
ATTRIBUTES = {
    "jobArn",
    "jobName",
    "status",
    "outputModelArn",
    "outputModelName",
    "baseModelArn",
    "creationTime",
    "endTime",
    "trainingLoss",
    "validationLoss",
}


def sent_create(bedrock: BedrockStandIn) -> dict[str, Any]:
    (request,) = bedrock.calls_to(CREATE)
    return request


def at(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[part]
    return document


def assert_valid_names(request: dict[str, Any]) -> None:
    """Each generated name within its shape's max (63) and pattern, read from botocore's service model."""
    for name, shape in NAME_SHAPES.items():
        assert len(request[name]) <= shape.metadata["max"], request[name]
        assert re.fullmatch(shape.metadata["pattern"], request[name]), request[name]


# --- Create ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "path", "expected"),
    [
        pytest.param(
            distillation_properties(),
            "customizationConfig.distillationConfig.teacherModelConfig.maxResponseLengthForInference",
            1000,
            id="distillation-integer",
        ),
        pytest.param(
            distillation_properties(), "trainingDataConfig.invocationLogsConfig.usePromptResponse", True, id="boolean"
        ),
        pytest.param(rft_properties(), "customizationConfig.rftConfig.hyperParameters.epochCount", 2, id="rft-epochs"),
        pytest.param(rft_properties(), "customizationConfig.rftConfig.hyperParameters.batchSize", 64, id="rft-batch"),
        pytest.param(
            rft_properties(), "customizationConfig.rftConfig.hyperParameters.learningRate", 0.00001, id="rft-float"
        ),
        pytest.param(
            rft_properties(), "customizationConfig.rftConfig.hyperParameters.reasoningEffort", "medium", id="rft-enum"
        ),
        pytest.param(fine_tuning_properties(), "hyperParameters.epochCount", "2", id="hyperparameter-map-stays-string"),
    ],
)
def test_create_sends_bedrock_the_types_of_the_service_model_not_cloudformation_strings(
    bedrock: BedrockStandIn, events: CloudFormationEvents, properties: dict[str, Any], path: str, expected: Any
) -> None:
    start(events, properties)
    sent = at(sent_create(bedrock), path)
    assert sent == expected
    assert type(sent) is type(expected)


def test_create_defaults_customization_type_to_fine_tuning(bedrock, events):
    properties = fine_tuning_properties()
    assert "customizationType" not in properties
    deployed = start(events, properties)
    assert sent_create(bedrock)["customizationType"] == "FINE_TUNING"
    assert bedrock.job(deployed.physical_id)["customizationType"] == "FINE_TUNING"


@pytest.mark.parametrize(
    ("properties", "expected_config"),
    [
        pytest.param(
            distillation_properties(),
            {
                "distillationConfig": {
                    "teacherModelConfig": {
                        "teacherModelIdentifier": TEACHER_MODEL,
                        "maxResponseLengthForInference": 1000,
                    }
                }
            },
            id="distillation",
        ),
        pytest.param(
            rft_properties(),
            {
                "rftConfig": {
                    "graderConfig": {"lambdaGrader": {"lambdaArn": GRADER_ARN}},
                    "hyperParameters": {
                        "epochCount": 2,
                        "batchSize": 64,
                        "learningRate": 0.00001,
                        "maxPromptLength": 4096,
                        "trainingSamplePerPrompt": 4,
                        "inferenceMaxTokens": 8192,
                        "reasoningEffort": "medium",
                        "evalInterval": 10,
                    },
                }
            },
            id="rft",
        ),
    ],
)
def test_customization_configs_pass_through_to_bedrock(bedrock, events, properties, expected_config):
    deployed = start(events, properties)
    request = sent_create(bedrock)
    assert request["customizationType"] == properties["customizationType"]
    assert request["customizationConfig"] == expected_config
    assert bedrock.job(deployed.physical_id)["customizationConfig"] == expected_config


def test_distillation_from_invocation_logs_sends_the_log_source_and_filters(bedrock, events):
    start(events, distillation_properties())
    assert sent_create(bedrock)["trainingDataConfig"] == {
        "invocationLogsConfig": {
            "usePromptResponse": True,
            "invocationLogSource": {"s3Uri": "s3://my-data-bucket/invocation-logs/"},
            "requestMetadataFilters": {"equals": {"project": "support-bot"}},
        }
    }


@pytest.mark.parametrize(
    ("stack_name", "logical_id"),
    [
        pytest.param("my-stack", "Model", id="short"),
        pytest.param("S" * 128, "L" * 200, id="128-char-stack-200-char-logical-id"),
        pytest.param("S" * 128, LONGEST_LOGICAL_ID, id="longest-stack-name-and-logical-id"),
        pytest.param("a" * 49 + "-" + "b" * 78, "Model", id="cut-at-a-hyphen"),
        pytest.param("prod-eu-west-1-ml", "Model2Fine" + "X" * 100, id="long-logical-id"),
    ],
)
def test_generated_names_match_the_name_patterns_and_fit_63_characters(bedrock, stack_name, logical_id):
    """README, job_name: a generated name keeps to "the pattern and 63-character limit of the API", however long the
    stack name (CloudFormation's most is 128) and logical id (255). The limits are botocore's JobName and
    CustomModelName shapes, not the handler's own NAME_MAX_LENGTH, which a test of the code against itself would
    read."""
    start(CloudFormationEvents(stack_name), fine_tuning_properties(), logical_id)
    request = sent_create(bedrock)
    assert_valid_names(request)
    assert len(bedrock.jobs()) == 1


def test_two_logical_ids_in_one_stack_get_distinct_names_and_jobs(bedrock):
    events = CloudFormationEvents("S" * 128)  # long enough that both names are cut to the same stem
    first = start(events, fine_tuning_properties(), "A" * 200 + "1")
    second = start(events, fine_tuning_properties(), "A" * 200 + "2")
    names = [(request["jobName"], request["customModelName"]) for request in bedrock.calls_to(CREATE)]
    assert len(set(names)) == 2
    assert first.physical_id != second.physical_id
    assert len(bedrock.jobs()) == 2


def test_a_retried_create_starts_exactly_one_job(bedrock, events):
    """The Provider framework may run onEvent twice for one request: the second finds the job by its name."""
    event = events.create()
    first = index.on_event(copy.deepcopy(event))
    second = index.on_event(copy.deepcopy(event))
    assert first == second
    (request,) = bedrock.calls_to(CREATE)
    assert re.fullmatch(r"[0-9a-f]{64}", request["clientRequestToken"])
    assert [job["jobArn"] for job in bedrock.jobs()] == [first["PhysicalResourceId"]]


def test_a_create_replayed_by_another_request_adopts_the_job(bedrock, events):
    """A replayed Create (a new RequestId, the same configuration) starts nothing: identity follows configuration."""
    first = index.on_event(events.create())
    replayed = index.on_event(events.create())
    assert replayed == first
    assert len(bedrock.calls_to(CREATE)) == 1 and len(bedrock.jobs()) == 1


def test_a_create_whose_response_was_lost_takes_the_job_it_made(bedrock, events):
    """Bedrock started the job but the answer was lost: failing would leave the job running unseen (the framework
    skips a failed Create's Delete), so the handler looks for it by its name and configuration, and takes it."""
    event = events.create()
    bedrock.lose_next_response_of(CREATE)
    created = index.on_event(copy.deepcopy(event))
    assert [job["jobArn"] for job in bedrock.jobs()] == [created["PhysicalResourceId"]]
    assert len(bedrock.calls_to(CREATE)) == 1
    # A retried event (another of the framework's attempts) gets the same job too.
    assert index.on_event(copy.deepcopy(event)) == created


def test_a_create_that_never_reached_bedrock_is_sent_again_with_the_same_token(bedrock, events, monkeypatch):
    """The connection failed before Bedrock served the request: nothing has its name, so the same request (the same
    clientRequestToken) is sent again, and creates the job."""
    refused: list[bool] = []

    def refuse_once(**_kwargs: Any) -> None:  # before-call: before the request is sent, outside botocore's retries
        if not refused:
            refused.append(True)
            raise EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")

    def client() -> Any:
        made = bedrock.client()
        made.meta.events.register_first(f"before-call.bedrock.{CREATE}", refuse_once)
        return made

    monkeypatch.setattr(customization_job, "bedrock_client", client)
    created = index.on_event(events.create())
    assert refused == [True]
    assert [job["jobArn"] for job in bedrock.jobs()] == [created["PhysicalResourceId"]]
    first, second = bedrock.calls_to(CREATE)
    assert first == second  # the same request, and token


def test_physical_resource_id_is_the_job_arn_and_on_event_returns_nothing_else(bedrock, events):
    event = events.create()
    result = index.on_event(event)
    (job,) = bedrock.jobs()
    assert result == {"PhysicalResourceId": job["jobArn"]}
    assert JOB_ARN_PATTERN.fullmatch(result["PhysicalResourceId"])
    assert customization_job.JOB_ARN.fullmatch(result["PhysicalResourceId"])


def test_explicit_names_are_used_as_given(bedrock, events):
    deployed = start(events, fine_tuning_properties(jobName="churn-ft-2024.06", customModelName="churn_model-v2"))
    request = sent_create(bedrock)
    assert (request["jobName"], request["customModelName"]) == ("churn-ft-2024.06", "churn_model-v2")
    job = bedrock.job(deployed.physical_id)
    assert (job["jobName"], job["outputModelName"]) == ("churn-ft-2024.06", "churn_model-v2")


def test_the_request_sent_is_the_properties_without_service_token_plus_names_and_token(bedrock, events):
    properties = fine_tuning_properties()
    event = events.create(properties)
    index.on_event(event)
    request = sent_create(bedrock)
    expected = {k: v for k, v in properties.items() if k != "ServiceToken"} | {"customizationType": "FINE_TUNING"}
    origin_tag = request["jobTags"].pop()
    what_it_makes = request["jobTags"].pop()
    logical_id_tag = request["jobTags"].pop()
    stack_tag = request["jobTags"].pop()
    fingerprint = request["jobTags"].pop()
    assert fingerprint["key"] == "cdk-bedrock-customization:configuration"
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint["value"])
    # The configuration but for the role (and network, and grader) it runs with: another stack of this name takes it.
    assert what_it_makes["key"] == "cdk-bedrock-customization:what-it-makes"
    assert re.fullmatch(r"[0-9a-f]{64}", what_it_makes["value"]) and what_it_makes["value"] != fingerprint["value"]
    # The stack's notifier may read only the jobs tagged with its stack's id.
    assert stack_tag == {"key": "cdk-bedrock-customization:stack", "value": event["StackId"]}
    # Only this logical id adopts the job by its name.
    assert logical_id_tag == {"key": "cdk-bedrock-customization:logical-id", "value": event["LogicalResourceId"]}
    # The request that made it: its retry finds it again, and any other request that takes it adopts it.
    assert origin_tag == {"key": "cdk-bedrock-customization:origin", "value": f"request:{event['RequestId']}"}
    assert {k: v for k, v in request.items() if k not in ("jobName", "customModelName", "clientRequestToken")} == (
        expected
    )
    assert request["jobName"] == request["customModelName"]
    assert re.fullmatch(r"my-stack-Model-[0-9a-f]{12}", request["jobName"])


def test_the_response_url_is_never_logged(bedrock, events, caplog):
    caplog.set_level(logging.DEBUG, logger="bedrock_custom_resource")
    caplog.set_level(logging.INFO)
    event = events.create()
    physical_id = index.on_event(event)["PhysicalResourceId"]
    index.is_complete(is_complete_input(event, {"PhysicalResourceId": physical_id}))
    assert caplog.records
    assert "X-Amz-Signature" not in caplog.text
    assert event["ResponseURL"] not in caplog.text


# --- bad input -------------------------------------------------------------------------------------------


def _without(properties: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if k != name}


def _rft_hyperparameter(name: str, value: str) -> dict[str, Any]:
    properties = rft_properties()
    properties["customizationConfig"]["rftConfig"]["hyperParameters"][name] = value
    return properties


def _teacher(**changes: Any) -> dict[str, Any]:
    properties = distillation_properties()
    properties["customizationConfig"]["distillationConfig"]["teacherModelConfig"].update(changes)
    return properties


def _logs(**changes: Any) -> dict[str, Any]:
    properties = distillation_properties()
    properties["trainingDataConfig"]["invocationLogsConfig"].update(changes)
    return properties


RFT_CONFIG = rft_properties()["customizationConfig"]["rftConfig"]
DISTILLATION_CONFIG = distillation_properties()["customizationConfig"]["distillationConfig"]
TEACHER = "customizationConfig.distillationConfig.teacherModelConfig"
RFT_HYPERPARAMETERS = "customizationConfig.rftConfig.hyperParameters"

BAD_INPUT = [
    pytest.param(fine_tuning_properties(modelName="churn"), ["modelName: unknown property"], id="unknown-property"),
    pytest.param(
        fine_tuning_properties(outputDataConfig={"s3Uri": "s3://my-data-bucket/o/", "kmsKey": "k"}),
        ["outputDataConfig.kmsKey: unknown property"],
        id="unknown-nested-property",
    ),
    pytest.param(_without(fine_tuning_properties(), "roleArn"), ["roleArn: required"], id="missing-required"),
    pytest.param(
        fine_tuning_properties(outputDataConfig={}), ["outputDataConfig.s3Uri: required"], id="missing-nested"
    ),
    pytest.param(
        fine_tuning_properties(customizationType="FINETUNING"),
        ["customizationType: 'FINETUNING' is not one of"],
        id="bad-enum",
    ),
    pytest.param(
        fine_tuning_properties(customizationType="IMPORTED"),
        ["customizationType: 'IMPORTED' is not a customization job type"],
        id="enum-value-that-is-no-job-type",
    ),
    pytest.param(
        _rft_hyperparameter("reasoningEffort", "extreme"),
        [f"{RFT_HYPERPARAMETERS}.reasoningEffort: 'extreme' is not one of"],
        id="bad-nested-enum",
    ),
    pytest.param(
        fine_tuning_properties(roleArn="BedrockRole"), ["roleArn: 'BedrockRole' does not match"], id="pattern"
    ),
    pytest.param(
        fine_tuning_properties(trainingDataConfig={"s3Uri": "https://my-data-bucket/train.jsonl"}),
        ["trainingDataConfig.s3Uri: 'https://my-data-bucket/train.jsonl' does not match"],
        id="nested-pattern",
    ),
    pytest.param(
        fine_tuning_properties(jobName="my job"), ["jobName: 'my job' does not match"], id="explicit-name-pattern"
    ),
    pytest.param(
        fine_tuning_properties(customModelName="m" * 64),
        ["customModelName: '" + "m" * 64 + "' has 64 characters; it must have at most 63"],
        id="too-long",
    ),
    pytest.param(
        _rft_hyperparameter("epochCount", "51"),
        [f"{RFT_HYPERPARAMETERS}.epochCount: '51' must be at most 50"],
        id="above-maximum",
    ),
    pytest.param(
        _rft_hyperparameter("batchSize", "8"),
        [f"{RFT_HYPERPARAMETERS}.batchSize: '8' must be at least 16"],
        id="below-minimum",
    ),
    pytest.param(
        _rft_hyperparameter("learningRate", "0.1"),
        [f"{RFT_HYPERPARAMETERS}.learningRate: '0.1' must be at most 0.001"],
        id="float-above-maximum",
    ),
    pytest.param(
        _teacher(maxResponseLengthForInference="lots"),
        [f"{TEACHER}.maxResponseLengthForInference: expected an integer, got 'lots'"],
        id="non-numeric-integer",
    ),
    pytest.param(
        _teacher(maxResponseLengthForInference="1000.5"),
        [f"{TEACHER}.maxResponseLengthForInference: expected an integer, got '1000.5'"],
        id="fractional-integer",
    ),
    pytest.param(
        _rft_hyperparameter("learningRate", "fast"),
        [f"{RFT_HYPERPARAMETERS}.learningRate: expected a finite number, got 'fast'"],
        id="non-numeric-float",
    ),
    pytest.param(
        _logs(usePromptResponse="yes"),
        ["trainingDataConfig.invocationLogsConfig.usePromptResponse: expected true or false, got 'yes'"],
        id="bad-boolean",
    ),
    pytest.param(
        fine_tuning_properties(jobTags="team=ml"), ["jobTags: expected a list, got 'team=ml'"], id="not-a-list"
    ),
    pytest.param(
        distillation_properties(
            customizationConfig={"distillationConfig": DISTILLATION_CONFIG, "rftConfig": RFT_CONFIG}
        ),
        ["customizationConfig: set exactly one of", "got ['distillationConfig', 'rftConfig']"],
        id="union-both-members",
    ),
    pytest.param(
        distillation_properties(customizationConfig={}),
        ["customizationConfig: set exactly one of", "got none"],
        id="union-no-member",
    ),
    pytest.param(
        _logs(invocationLogSource={}),
        ["trainingDataConfig.invocationLogsConfig.invocationLogSource: set exactly one of ['s3Uri'], got none"],
        id="nested-union-no-member",
    ),
    pytest.param(
        _without(distillation_properties(), "customizationConfig"),
        ["customizationConfig.distillationConfig: required for DISTILLATION, got none"],
        id="distillation-without-distillation-config",
    ),
    pytest.param(
        rft_properties(customizationConfig={"distillationConfig": DISTILLATION_CONFIG}),
        ["customizationConfig.rftConfig: required for REINFORCEMENT_FINE_TUNING, got ['distillationConfig']"],
        id="rft-with-distillation-config",
    ),
    pytest.param(
        fine_tuning_properties(customizationConfig={"distillationConfig": DISTILLATION_CONFIG}),
        ["customizationConfig: FINE_TUNING takes no customizationConfig, got ['distillationConfig']"],
        id="fine-tuning-with-customization-config",
    ),
    pytest.param(
        fine_tuning_properties(clientRequestToken="my-token"),
        ["clientRequestToken: is derived from the request; remove it"],
        id="client-request-token-given",
    ),
]


@pytest.mark.parametrize(("properties", "expected"), BAD_INPUT)
def test_bad_input_names_the_property_and_value_and_calls_bedrock_not_at_all(bedrock, events, properties, expected):
    with pytest.raises(contract.InvalidProperties) as raised:
        index.on_event(events.create(properties))
    message = str(raised.value)
    assert message.startswith("Invalid properties for Custom::BedrockModelCustomizationJob: ")
    for fragment in expected:
        assert fragment in message
    assert bedrock.calls == []
    assert bedrock.jobs() == []


def test_every_problem_is_reported_at_once(bedrock, events):
    properties = _rft_hyperparameter("epochCount", "0") | {"roleArn": "BedrockRole", "colour": "blue"}
    with pytest.raises(contract.InvalidProperties) as raised:
        index.on_event(events.create(properties))
    problems = raised.value.problems
    assert len(problems) == 3
    assert any(p.startswith("roleArn: 'BedrockRole'") for p in problems)
    assert any(p.startswith("colour: unknown property") for p in problems)
    assert any(p.startswith(f"{RFT_HYPERPARAMETERS}.epochCount: '0' must be at least 1") for p in problems)
    assert bedrock.calls == []


def test_an_unknown_property_is_told_what_a_template_may_give(bedrock, events):
    """The README's contract: clientRequestToken is derived by the handler (refused when given), and waitUntil,
    waitConditionKey, updateReplacePolicy and deletionPolicy are the handler's own. A name of another case is told
    the one it looks like (CloudFormation's own attributes are capitalized: DeletionPolicy, UpdateReplacePolicy)."""
    with pytest.raises(contract.InvalidProperties) as raised:
        index.on_event(events.create(fine_tuning_properties(colour="blue")))
    (problem,) = raised.value.problems
    listed = problem.removeprefix("colour: unknown property; expected one of ")
    assert "'clientRequestToken'" not in listed
    for own in ("'waitUntil'", "'waitConditionKey'", "'updateReplacePolicy'", "'deletionPolicy'", "'jobName'"):
        assert own in listed
    with pytest.raises(contract.InvalidProperties) as raised:
        index.on_event(events.create(fine_tuning_properties(DeletionPolicy="Retain", WaitUntil="Validated")))
    assert sorted(raised.value.problems) == [
        "DeletionPolicy: unknown property; did you mean 'deletionPolicy'?",
        "WaitUntil: unknown property; did you mean 'waitUntil'?",
    ]
    assert bedrock.calls == []


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", "1_0e-5"])
def test_a_non_finite_or_malformed_number_is_bad_input(bedrock, events, value):
    expected = f"{RFT_HYPERPARAMETERS}.learningRate: expected a finite number, got '{value}'"
    with pytest.raises(contract.InvalidProperties, match=expected):
        index.on_event(events.create(_rft_hyperparameter("learningRate", value)))
    assert bedrock.calls == []


# --- isComplete ----------------------------------------------------------------------------------------


def test_a_running_job_is_not_complete_returns_no_data_and_logs_sub_task_statuses(bedrock, events, caplog):
    caplog.set_level(logging.INFO, logger="bedrock_custom_resource")
    deployed = start(events)
    poll = is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id})
    assert index.is_complete(poll) == {"IsComplete": False}
    assert "validation InProgress, data processing NotStarted, training NotStarted" in caplog.text

    bedrock.set_job_status(
        deployed.physical_id,
        "InProgress",
        status_details={
            "validationDetails": "Completed",
            "dataProcessingDetails": "Completed",
            "trainingDetails": "InProgress",
        },
    )
    assert index.is_complete(poll) == {"IsComplete": False}
    assert "validation Completed, data processing Completed, training InProgress" in caplog.text


def test_a_job_stopping_during_create_is_not_complete_yet(bedrock, events):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, "Stopping")
    result = index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    assert result == {"IsComplete": False}


def test_a_completed_job_returns_its_attributes_as_strings(bedrock, events):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, "Completed", training_loss=0.0123, validation_loss=0.0456)
    result = index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    assert result["IsComplete"] is True
    data = result["Data"]
    assert set(data) == ATTRIBUTES
    assert all(isinstance(value, str) for value in data.values())
    (model,) = bedrock.models()
    job = bedrock.job(deployed.physical_id)
    assert data["outputModelArn"] == model["modelArn"]
    assert MODEL_ARN_PATTERN.fullmatch(data["outputModelArn"])
    assert data["outputModelName"] == model["modelName"] == job["outputModelName"]
    assert (data["jobArn"], data["jobName"], data["status"]) == (deployed.physical_id, job["jobName"], "Completed")
    assert data["baseModelArn"] == f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-text-express-v1:0:8k"
    assert (data["trainingLoss"], data["validationLoss"]) == ("0.0123", "0.0456")
    created, ended = datetime.fromisoformat(data["creationTime"]), datetime.fromisoformat(data["endTime"])
    assert created.tzinfo is not None
    assert created <= ended


def test_a_model_encrypted_with_a_customer_key_also_returns_its_key_arn(bedrock, events):
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    deployed = deploy(events, bedrock, fine_tuning_properties(customModelKmsKeyId=key_arn))
    assert set(deployed.data) == ATTRIBUTES | {"outputModelKmsKeyArn"}
    assert deployed.data["outputModelKmsKeyArn"] == key_arn


@pytest.mark.parametrize(
    ("status", "failure_message"),
    [
        ("Failed", "Training data s3://my-data-bucket/train/data.jsonl has 3 malformed records"),
        ("Stopped", "The job was stopped by arn:aws:iam::123456789012:user/alice"),
    ],
)
def test_an_unsuccessful_job_raises_with_bedrocks_failure_message(bedrock, events, status, failure_message):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, status, failure_message=failure_message)
    with pytest.raises(customization_job.JobUnsuccessful) as raised:
        index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    message = str(raised.value)
    assert failure_message in message
    assert status in message
    assert bedrock.job(deployed.physical_id)["jobName"] in message


def test_a_job_stopped_without_a_failure_message_still_raises_and_says_so(bedrock, events):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, "Stopped")
    with pytest.raises(customization_job.JobUnsuccessful, match="Stopped: Bedrock gave no failure message"):
        index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))


# --- response size ---------------------------------------------------------------------------------------


def framework_response(event: dict[str, Any], physical_id: str, data: dict[str, str]) -> dict[str, Any]:
    """The body the Provider framework PUTs to the ResponseURL on success (cfn-response.ts submitResponse)."""
    return {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "PhysicalResourceId": physical_id,
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data,
    }


def test_the_response_stays_under_4096_bytes_for_the_longest_ids(bedrock):
    events = CloudFormationEvents("S" * 128)
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    properties = fine_tuning_properties(customModelKmsKeyId=key_arn)
    deployed = start(events, properties, logical_id="L" * 255)
    bedrock.set_job_status(
        deployed.physical_id, "Completed", training_loss=0.12345678901234567, validation_loss=1.2345678901234567e-05
    )
    result = index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    assert "outputModelKmsKeyArn" in result["Data"]
    body = json.dumps(framework_response(deployed.event, deployed.physical_id, result["Data"]))
    assert len(body.encode()) < responses.RESPONSE_LIMIT_BYTES


def test_checked_data_raises_for_an_oversize_payload(events):
    event = events.create(logical_id="L" * 255)
    with pytest.raises(responses.ResponseTooLarge) as raised:
        responses.checked_data(event, "physical-id", {"trainingLoss": "9" * 4000})
    assert "L" * 255 in str(raised.value)
    assert "4096" in str(raised.value)


def test_checked_data_accepts_exactly_the_limit_and_refuses_one_byte_more(events):
    event = events.create()

    def size(data: dict[str, str]) -> int:
        envelope = {
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "PhysicalResourceId": "physical-id",
            "Data": data,
        }
        return len(json.dumps(envelope).encode()) + responses.FRAMEWORK_OVERHEAD_BYTES

    room = responses.RESPONSE_LIMIT_BYTES - size({"pad": ""})
    fits = {"pad": "x" * room}
    assert size(fits) == responses.RESPONSE_LIMIT_BYTES
    assert responses.checked_data(event, "physical-id", fits) == fits
    with pytest.raises(responses.ResponseTooLarge):
        responses.checked_data(event, "physical-id", {"pad": "x" * (room + 1)})


def test_the_largest_data_checked_data_accepts_fits_the_frameworks_response(events):
    """CloudFormation refuses a custom resource response over 4096 bytes (cloudformation-limits.html). checked_data
    measures only part of the body and adds FRAMEWORK_OVERHEAD_BYTES for the rest: the body is built here as the
    Provider framework PUTs it (framework_response), not from that constant, so the largest Data accepted, for the
    longest logical id, must still fit once the framework wraps it."""
    event = events.create(logical_id="L" * 255)
    physical_id = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.titan-text-express-v1:0:8k/x"
    accepted, refused = 0, responses.RESPONSE_LIMIT_BYTES
    while refused - accepted > 1:  # the largest pad accepted, by bisection
        middle = (accepted + refused) // 2
        try:
            responses.checked_data(event, physical_id, {"pad": "x" * middle})
            accepted = middle
        except responses.ResponseTooLarge:
            refused = middle
    body = json.dumps(framework_response(event, physical_id, {"pad": "x" * accepted}))
    assert len(body.encode()) <= 4096


# --- throttling ------------------------------------------------------------------------------------------


def test_create_survives_throttling_and_starts_exactly_one_job(bedrock, events):
    event = events.create()
    bedrock.throttle(2)
    result = index.on_event(event)
    # The first call looks for a job of this configuration (retried through the throttling), then under this logical
    # id's other names; none: one create.
    lookups = ["GetModelCustomizationJob"] * 3 + ["ListModelCustomizationJobs", "GetCustomModel"]
    assert bedrock.attempts == [*lookups, CREATE]
    assert len(bedrock.retry_delays) == 2
    assert [job["jobArn"] for job in bedrock.jobs()] == [result["PhysicalResourceId"]]


def test_is_complete_survives_throttling(bedrock, events):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, "Completed", training_loss=0.25, validation_loss=0.5)
    bedrock.throttle(3)
    result = index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    assert result["IsComplete"] is True
    assert bedrock.attempts[-4:] == ["GetModelCustomizationJob"] * 4


# --- dispatch --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", [index.on_event, index.is_complete])
def test_an_unknown_resource_type_raises_value_error_naming_it(bedrock, events, entry):
    event = events.create() | {"ResourceType": "Custom::BedrockProvisionedThroughput", "PhysicalResourceId": "x"}
    with pytest.raises(ValueError, match="'Custom::BedrockProvisionedThroughput' is not handled here") as raised:
        entry(event)
    assert "Custom::BedrockModelCustomizationJob" in str(raised.value)
    assert bedrock.calls == []


# --- failure messages --------------------------------------------------------------------------------


def test_a_long_failure_message_is_shortened_to_fit_the_response(bedrock, events, caplog):
    """The Provider framework puts the message in the response's Reason as it is; CloudFormation
    rejects a response over 4096 bytes, which would leave the stack waiting."""
    properties = fine_tuning_properties() | {f"unknownProperty{n:03}": "x" for n in range(200)}
    with pytest.raises(responses.HandlerFailed) as raised:
        index.on_event(events.create(properties))
    message = str(raised.value)
    assert len(message.encode()) <= responses.MAX_REASON_BYTES
    assert message.startswith("Invalid properties for Custom::BedrockModelCustomizationJob: unknownProperty000")
    assert message.endswith("(truncated; the handler's log has the full message)")
    assert "unknownProperty199" in caplog.text
    assert bedrock.calls == []


def test_a_short_failure_keeps_its_type_and_message(bedrock, events):
    with pytest.raises(contract.InvalidProperties, match=r"^Invalid properties .*: jobName: '-bad' does not match"):
        index.on_event(events.create(fine_tuning_properties() | {"jobName": "-bad"}))


class _LambdaContext:
    def __init__(self, seconds_left: float) -> None:
        self.seconds_left = seconds_left

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds_left * 1000)


def test_a_create_without_time_for_its_retries_creates_nothing(bedrock, events):
    """One call may take 9 attempts (botocore's standard mode, max_attempts 8) of 10 s connecting and 20 s reading,
    and 8 backoffs of at most 25 s (20, or up to 5 more after an x-amz-retry-after header): 470 s. The framework
    fails a create whose on_event timed out, and answers its rollback's Delete without the handler: a job started then
    would train on outside the stack."""
    with pytest.raises(
        RuntimeError, match=r"^Nothing was created: 469 s of this invocation remain .* fewer than the 470 s"
    ):
        index.on_event(events.create(), _LambdaContext(469.5))
    assert bedrock.jobs() == [] and bedrock.calls_to(CREATE) == []
    created = index.on_event(events.create(), _LambdaContext(470))
    assert [job["jobArn"] for job in bedrock.jobs()] == [created["PhysicalResourceId"]]


def test_a_create_that_took_the_time_left_answers_without_reading_the_stack(bedrock, events, monkeypatch):
    """After a create, the handler reads the stack's status (was this request cancelled meanwhile?). A read cut off
    by the invocation's timeout would lose the answer, and with it the job (the framework fails the create and
    answers its Delete itself): with less than one call's time left, the read is skipped and the job answered.
    Found by an outside review's state machine."""
    context = _LambdaContext(470)
    reads: list[str] = []
    monkeypatch.setattr(index, "stack_status", lambda stack_id: reads.append(stack_id) or "CREATE_IN_PROGRESS")

    reads_before_the_create: list[int] = []

    def a_slow_create(**_: Any) -> None:
        context.seconds_left = 469  # the create's retries took a second more than the time it was left with
        reads_before_the_create.append(len(reads))

    client = bedrock.client()
    client.meta.events.register(f"after-call.bedrock.{CREATE}", a_slow_create)
    monkeypatch.setattr(customization_job, "bedrock_client", lambda *args, **kwargs: client)
    properties = fine_tuning_properties(updateReplacePolicy="Delete")  # what a cancelled create made is removed
    created = index.on_event(events.create(properties), context)
    assert [job["jobArn"] for job in bedrock.jobs()] == [created["PhysicalResourceId"]]
    assert reads[reads_before_the_create[0] :] == []  # (the reads before it: is the request late, or a rollback's?)


def test_an_update_whose_create_took_the_time_left_answers_without_reading_the_stack(bedrock, events, monkeypatch):
    """As above, for an Update that replaces its job (what a cancelled update made is looked for after it, too).
    Found by an outside review of the above."""
    old = fine_tuning_properties(updateReplacePolicy="Delete")
    deployed = deploy(events, bedrock, old)
    new = old | {"hyperParameters": {**old["hyperParameters"], "epochCount": "3"}}  # a new job
    context = _LambdaContext(600)
    reads: list[str] = []
    monkeypatch.setattr(index, "stack_status", lambda stack_id: reads.append(stack_id) or "UPDATE_IN_PROGRESS")
    reads_before_the_create: list[int] = []

    def a_slow_create(**_: Any) -> None:
        context.seconds_left = 100
        reads_before_the_create.append(len(reads))

    client = bedrock.client()
    client.meta.events.register(f"after-call.bedrock.{CREATE}", a_slow_create)
    monkeypatch.setattr(customization_job, "bedrock_client", lambda *args, **kwargs: client)
    answered = index.on_event(events.update(deployed.physical_id, new, old), context)["PhysicalResourceId"]
    assert answered != deployed.physical_id and len(bedrock.calls_to(CREATE)) == 2
    assert reads[reads_before_the_create[0] :] == []
