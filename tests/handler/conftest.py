"""Fixtures for deploy-time handler tests: fake AWS credentials, moto with the Bedrock stand-in wired
into the handler, and CloudFormation events shaped as CloudFormation sends them (every scalar a string).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from bedrock_custom_resource import aws, environment, index, notifier
from bedrock_custom_resource.responses import bounded_reason
from bedrock_single_function import provider as single_function_provider
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from cdk_bedrock_customization.emulation.shared_loader import shared_botocore_loader
from moto import mock_aws

from .notifier_helpers import SignalServer, Stack

ACCOUNT = "123456789012"
REGION = "us-east-1"
RESOURCE_TYPE = "Custom::BedrockModelCustomizationJob"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-stack-ProviderframeworkonEvent-AbCdEf123456"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/my-stack-BedrockCustomizationRole-1A2B3C4D5E6F"
BASE_MODEL = "amazon.titan-text-express-v1:0:8k"
TEACHER_MODEL = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-pro-v1:0"
GRADER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reward-grader"
CREATE_FAILED = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
# The longest logical id CloudFormation takes: a resource name has at most 255 characters (CloudFormation quotas,
# cloudformation-limits.html).
LONGEST_LOGICAL_ID = "Model" * 51


def stack_id(stack_name: str = "my-stack") -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/{uuid.uuid4()}"


def active_model(bedrock: BedrockStandIn, name: str) -> str:
    """An imported, Active custom model's ARN: a model for deployments and throughputs to serve."""
    model_arn: str = bedrock.client().create_custom_model(
        modelName=name,
        modelSourceConfig={"s3DataSource": {"s3Uri": f"s3://customer-escrow-bucket/{name}/"}},
        roleArn=ROLE_ARN,
    )["modelArn"]
    bedrock.set_model_status(model_arn, "Active")
    return model_arn


def completed_job(bedrock: BedrockStandIn, job_name: str, model_name: str, region: str | None = None) -> str:
    """A fine-tuning job made straight through Bedrock's API (as from the console, not by a stack), completed:
    its ARN. Its model is named model_name. In the stand-in's Region, or in region."""
    job_arn: str = bedrock.client(region=region).create_model_customization_job(
        jobName=job_name,
        customModelName=model_name,
        roleArn=ROLE_ARN,
        baseModelIdentifier=BASE_MODEL,
        trainingDataConfig={"s3Uri": "s3://my-data-bucket/train.jsonl"},
        outputDataConfig={"s3Uri": "s3://my-data-bucket/output/"},
        hyperParameters={"epochCount": "1"},
    )["jobArn"]
    bedrock.set_job_status(job_arn, "Completed")
    return job_arn


def fine_tuning_properties(**overrides: Any) -> dict[str, Any]:
    """A FINE_TUNING job as a template leaves it to the default type, delivered by CloudFormation."""
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "baseModelIdentifier": BASE_MODEL,
        "roleArn": ROLE_ARN,
        "trainingDataConfig": {"s3Uri": "s3://my-data-bucket/train/data.jsonl"},
        "validationDataConfig": {"validators": [{"s3Uri": "s3://my-data-bucket/validation/data.jsonl"}]},
        "outputDataConfig": {"s3Uri": "s3://my-data-bucket/output/"},
        "hyperParameters": {"epochCount": "2", "batchSize": "1", "learningRate": "0.00001"},
        "jobTags": [{"key": "team", "value": "ml"}, {"key": "cost-center", "value": "1234"}],
        "customModelTags": [{"key": "team", "value": "ml"}, {"key": "stage", "value": "dev"}],
    }
    return properties | overrides


def distillation_properties(**overrides: Any) -> dict[str, Any]:
    """A DISTILLATION job trained from invocation logs; scalars as strings ("1000", "true")."""
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "customizationType": "DISTILLATION",
        "roleArn": ROLE_ARN,
        "trainingDataConfig": {
            "invocationLogsConfig": {
                "usePromptResponse": "true",
                "invocationLogSource": {"s3Uri": "s3://my-data-bucket/invocation-logs/"},
                "requestMetadataFilters": {"equals": {"project": "support-bot"}},
            }
        },
        "outputDataConfig": {"s3Uri": "s3://my-data-bucket/output/"},
        "customizationConfig": {
            "distillationConfig": {
                "teacherModelConfig": {
                    "teacherModelIdentifier": TEACHER_MODEL,
                    "maxResponseLengthForInference": "1000",
                }
            }
        },
    }
    return properties | overrides


def rft_properties(**overrides: Any) -> dict[str, Any]:
    """A REINFORCEMENT_FINE_TUNING job with a Lambda grader; scalars as strings ("2", "0.00001")."""
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "baseModelIdentifier": "amazon.nova-2-lite-v1:0:256k",
        "customizationType": "REINFORCEMENT_FINE_TUNING",
        "roleArn": ROLE_ARN,
        "trainingDataConfig": {"s3Uri": "s3://my-data-bucket/rft/prompts.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://my-data-bucket/output/"},
        "customizationConfig": {
            "rftConfig": {
                "graderConfig": {"lambdaGrader": {"lambdaArn": GRADER_ARN}},
                "hyperParameters": {
                    "epochCount": "2",
                    "batchSize": "64",
                    "learningRate": "0.00001",
                    "maxPromptLength": "4096",
                    "trainingSamplePerPrompt": "4",
                    "inferenceMaxTokens": "8192",
                    "reasoningEffort": "medium",
                    "evalInterval": "10",
                },
            }
        },
    }
    return properties | overrides


class CloudFormationEvents:
    """Builds Create, Update and Delete events as CloudFormation sends them to the Provider framework."""

    def __init__(self, stack_name: str = "my-stack", resource_type: str = RESOURCE_TYPE) -> None:
        self.stack_name = stack_name
        self.stack_id = stack_id(stack_name)
        self.resource_type = resource_type

    def _base(self, request_type: str, logical_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        return {
            "RequestType": request_type,
            "ServiceToken": properties.get("ServiceToken", SERVICE_TOKEN),
            "ResponseURL": (
                "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
                f"arn%3Aaws%3Acloudformation%3A{REGION}%3A{ACCOUNT}%3Astack/my-stack/{request_id}"
                "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123456789abcdef"
            ),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": copy.deepcopy(properties),
        }

    def create(self, properties: dict[str, Any] | None = None, logical_id: str = "Model") -> dict[str, Any]:
        return self._base("Create", logical_id, properties if properties is not None else fine_tuning_properties())

    def update(
        self,
        physical_id: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any],
        logical_id: str = "Model",
    ) -> dict[str, Any]:
        event = self._base("Update", logical_id, properties)
        event["PhysicalResourceId"] = physical_id
        event["OldResourceProperties"] = copy.deepcopy(old_properties)
        return event

    def delete(
        self, physical_id: str, properties: dict[str, Any] | None = None, logical_id: str = "Model"
    ) -> dict[str, Any]:
        event = self._base("Delete", logical_id, properties if properties is not None else fine_tuning_properties())
        event["PhysicalResourceId"] = physical_id
        return event


def is_complete_input(event: dict[str, Any], on_event_result: dict[str, Any]) -> dict[str, Any]:
    """What the Provider framework passes to isComplete: the event merged with onEvent's result."""
    return {**event, **on_event_result}


@dataclass
class Deployed:
    """A resource whose Create went through: its event, physical id and (once complete) attributes."""

    event: dict[str, Any]
    physical_id: str
    data: dict[str, str] = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, Any]:
        return copy.deepcopy(self.event["ResourceProperties"])


def start(
    events: CloudFormationEvents, properties: dict[str, Any] | None = None, logical_id: str = "Model"
) -> Deployed:
    """onEvent for a Create: the job is started, not finished."""
    event = events.create(properties, logical_id)
    return Deployed(event, index.on_event(event)["PhysicalResourceId"])


def deploy(
    events: CloudFormationEvents,
    bedrock: BedrockStandIn,
    properties: dict[str, Any] | None = None,
    logical_id: str = "Model",
) -> Deployed:
    """A whole successful Create: onEvent, the job completes, isComplete returns the attributes."""
    deployed = start(events, properties, logical_id)
    bedrock.set_job_status(deployed.physical_id, "Completed", training_loss=0.25, validation_loss=0.5)
    result = index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    assert result["IsComplete"] is True
    deployed.data = result["Data"]
    return deployed


@pytest.fixture(scope="session", autouse=True)
def shared_loader() -> Iterator[None]:
    """Speed only (see cdk_bedrock_customization/emulation/shared_loader.py)."""
    with shared_botocore_loader():
        yield


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Fake credentials and a fixed Region; no profile or config file of the machine is read."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK", "AWS_DATA_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def kept_by_a_single_function_provider(message: str) -> str:
    """What a single-function provider's FAILED response keeps of a failure's message: crhelper's 256 characters,
    ending with a note when cut."""
    return bounded_reason(message, single_function_provider.MAX_REASON_CHARACTERS)


def survives_the_cut(message: str, phrase: str) -> bool:
    """Whether phrase is in what a single-function provider keeps of message, and, whatever that keeps, in its first
    200 characters: crhelper's 256 (resource_helper.py's _send), less the 56 of the note that it was cut."""
    return phrase in kept_by_a_single_function_provider(message) and phrase in message[:200]


# When the stack operation that a request belongs to began, unless a test says otherwise: before anything a test
# makes, so that all of it counts as made by that operation (index.operation_started; moto has no such stack).
OPERATION_STARTED = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def bedrock(aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockStandIn]:
    """moto with the Bedrock stand-in, and the handler building its clients through it."""
    with mock_aws():
        stand_in = BedrockStandIn(monkeypatch, region=REGION, account_id=ACCOUNT)
        for handler in index.HANDLERS.values():
            monkeypatch.setattr(handler, "bedrock_client", stand_in.client)
        monkeypatch.setattr(index, "operation_started", lambda stack_id: OPERATION_STARTED)
        yield stand_in


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents()


@pytest.fixture
def model_arn(bedrock: BedrockStandIn) -> str:
    """The model a deployment or a throughput serves."""
    return active_model(bedrock, "support-v1")


# --- the job completion notifier's harness (tests/handler/notifier_helpers.py) ---------------------------

Notify = Callable[[dict[str, Any]], dict[str, list[str]]]


@pytest.fixture
def signal_server() -> Iterator[SignalServer]:
    server = SignalServer()
    yield server
    server.close()


@pytest.fixture
def stack(
    bedrock: BedrockStandIn, events: CloudFormationEvents, signal_server: SignalServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    """The stack of the jobs that ``start`` creates, with the notifier's clients: the stand-in's Bedrock
    client (the bedrock fixture patches only the resource handlers) and a stubbed CloudFormation client."""
    client = aws.cloudformation_client()
    stack = Stack(events.stack_id, client, signal_server)
    stack.add_unrelated()
    monkeypatch.setattr(notifier, "cloudformation_client", lambda: client)
    monkeypatch.setattr(notifier, "bedrock_client", bedrock.client)
    yield stack
    stack.stubber.deactivate()


@pytest.fixture
def notify(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Notify:
    """Invoke the notifier as Lambda does, with the environment the construct gives it; afterwards every
    queued listing must have been read, page by page."""

    def run(event: dict[str, Any]) -> dict[str, list[str]]:
        monkeypatch.setenv(environment.STACK_ID_VARIABLE, stack.stack_id)
        result = notifier.handle(event, None)
        stack.stubber.assert_no_pending_responses()
        return result

    return run
