"""The names that the construct and the handler share are defined once, in the handler's package: the construct
sets exactly the environment each function reads, and asks for waits that the handler's contract accepts."""

from __future__ import annotations

import inspect
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from bedrock_custom_resource import contract, environment, index, lifecycle, notifier
from cdk_bedrock_customization import (
    Completion,
    CompletionMode,
    CustomizationProvider,
    CustomModel,
    ProviderKind,
    S3Data,
)

from .conftest import resources_of_type


def _environments(stack: cdk.Stack) -> dict[str, set[str]]:
    """Each function's description -> the names of its environment variables."""
    return {
        function["Properties"].get("Description", logical_id): set(
            function["Properties"].get("Environment", {}).get("Variables", {})
        )
        for logical_id, function in resources_of_type(Template.from_stack(stack), "AWS::Lambda::Function").items()
    }


def _model(stack: cdk.Stack, completion: Completion | None = None) -> CustomModel:
    return CustomModel(
        stack,
        "Model",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_uri("s3://training-data/train.jsonl"),
        output_data=S3Data.from_uri("s3://training-data/output/"),
        completion=completion,
    )


def test_the_notifier_gets_the_stack_id_under_the_name_it_reads() -> None:
    stack = cdk.Stack(cdk.App(), "Notified")
    _model(stack)
    (notifier_environment,) = [
        names for description, names in _environments(stack).items() if "notifier" in description
    ]
    assert notifier_environment == {environment.STACK_ID_VARIABLE}
    assert "os.environ[STACK_ID_VARIABLE]" in inspect.getsource(notifier)


def test_the_single_function_gets_the_environment_it_reads() -> None:
    stack = cdk.Stack(cdk.App(), "Single")
    CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION)
    _model(stack, Completion.polling())
    (function_environment,) = [
        names for description, names in _environments(stack).items() if "single-function" in description
    ]
    read = {
        environment.RULE_PREFIX_VARIABLE,
        environment.INTERVAL_VARIABLE,
        environment.TOTAL_TIMEOUT_VARIABLE,
        environment.CLEANUP_WAIT_VARIABLE,
    }
    assert function_environment == read
    source = inspect.getsource(__import__("bedrock_single_function.provider", fromlist=["provider"]))
    for name in ("RULE_PREFIX_VARIABLE", "INTERVAL_VARIABLE", "TOTAL_TIMEOUT_VARIABLE"):
        assert f"os.environ[{name}]" in source
    assert "os.environ.get(CLEANUP_WAIT_VARIABLE)" in inspect.getsource(index)  # the handler it runs reads it


def test_the_framework_functions_get_the_environment_they_read() -> None:
    stack = cdk.Stack(cdk.App(), "Framework")
    CustomizationProvider.of(stack, query_interval=cdk.Duration.minutes(5), total_timeout=cdk.Duration.minutes(30))
    _model(stack, Completion.polling())
    variables = {
        function["Properties"]["Description"]: function["Properties"].get("Environment", {}).get("Variables")
        for function in resources_of_type(Template.from_stack(stack), "AWS::Lambda::Function").values()
        if function["Properties"].get("Description", "").endswith(("on_event", "is_complete"))
    }
    # A rollback's polls wait to delete what a cancelled update made for 30 minutes less two 5-minute polls.
    assert variables == {
        "cdk-bedrock-customization on_event": {environment.CLEANUP_WAIT_VARIABLE: str(20 * 60)},
        "cdk-bedrock-customization is_complete": {environment.CLEANUP_WAIT_VARIABLE: str(20 * 60)},
    }


@pytest.mark.parametrize("mode", list(CompletionMode))
def test_each_completion_asks_for_a_wait_the_contract_accepts(mode: CompletionMode) -> None:
    completion = {
        CompletionMode.POLLING: Completion.polling(),
        CompletionMode.EVENT_DRIVEN: Completion.event_driven(),
        CompletionMode.NO_WAIT: Completion.no_wait(),
    }[mode]
    assert completion.mode is mode
    stack = cdk.Stack(cdk.App(), "Waits")
    model = _model(stack, completion)
    properties: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"][
        stack.get_logical_id(model.resource)
    ]["Properties"]
    wait_until = properties.get("waitUntil")
    # Left out, the handler waits until the job completes, as polling does.
    expected = {
        CompletionMode.POLLING: None,
        CompletionMode.EVENT_DRIVEN: "Accepted",
        CompletionMode.NO_WAIT: "Validated",
    }
    assert wait_until == expected[mode]
    request = {key: value for key, value in properties.items() if key != "ServiceToken"}
    request["roleArn"] = "arn:aws:iam::123456789012:role/bedrock-customization"
    contract.create_request(contract.CUSTOMIZATION_JOB, request)


def test_a_quota_error_names_the_constructs_setting_and_its_default() -> None:
    parameters = inspect.signature(CustomizationProvider.__init__).parameters
    assert lifecycle.CONCURRENCY_PARAMETER in parameters
    assert parameters[lifecycle.CONCURRENCY_PARAMETER].default == lifecycle.DEFAULT_MAX_CONCURRENT_JOBS == 2
