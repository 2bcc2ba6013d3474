"""Limits that only AWS checks (DESIGN.md, fact 11), refused by the rehearsal as AWS refuses them, each with a
stack event that names the resource (or the stack). Each limit is tested at its boundary: the largest value
AWS takes deploys, one more is refused. Sizes are worked out by hand from the documented measure, not by the
code under test.

Sources: a stack's 500 resources and a template's 1 MB (CloudFormation quotas; the 1 MB through S3, as the CDK
CLI passes templates); a Lambda function's environment variables, 4 KB measured as Lambda's error shows it
("String measured: {...}", the variables as compact JSON, as LocalStack measures them too); a custom resource
response, 4096 bytes; an EventBridge rule's Name (64) and target Input (8192 characters): the AWS::Events::Rule
resource schema (cfn-lint's copy: maxLength 64 and 8192) and botocore's events model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import cfnlint.helpers
import pytest
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.cloud import stacks_of
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.single_function import install_moto_compensations
from cdk_bedrock_customization.rehearsal.template import Environment, Template
from moto import mock_aws

from .rehearsal_support import cloud

STACK = "LimitsUnderTest"
TOKEN = "arn:aws:lambda:us-east-1:111122223333:function:StandIn"
ENV = Environment("111122223333", "us-east-1", STACK, f"arn:aws:cloudformation:us-east-1:111122223333:stack/{STACK}/1")
HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """A stack whose custom resources answer with the Data of their Answer property."""

    def stand_in(event: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"Status": "SUCCESS", "PhysicalResourceId": "thing", "Data": event["ResourceProperties"]["Answer"]}

    clock = VirtualClock()
    local = LocalStack(
        ENV, clock, Printer(clock, lambda _line: None), threading.RLock(), service_token_stand_ins={TOKEN: stand_in}
    )
    yield local
    local.close()


def failed_events(stack: LocalStack) -> list[str]:
    return [line for line in stack.printer.lines if "_FAILED" in line.split()[0]]


# --- Lambda: 4 KB of environment variables ------------------------------------------------------------------


def function(value: str) -> dict[str, Any]:
    """A function with one variable A: Lambda measures {"A":"<value>"}, 8 bytes plus the value."""
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.12", "Handler": "index.handler", "Environment": {"Variables": {"A": value}}},
    }


def test_a_function_with_4_kb_of_environment_deploys_and_one_byte_more_fails(stack, tmp_path):
    assert stack.deploy(Template({"Resources": {"Fits": function("x" * 4088)}}), tmp_path).succeeded

    outcome = stack.deploy(
        Template({"Resources": {"Fits": function("x" * 4088), "Big": function("x" * 4089)}}), tmp_path
    )

    # {"A":"x…x"} with 4089 x: 4097 bytes.
    assert not outcome.succeeded and outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    assert outcome.reason.startswith('Big: Resource handler returned message: "Lambda was unable to configure')
    (event,) = failed_events(stack)
    assert event.split()[:3] == ["CREATE_FAILED", "AWS::Lambda::Function", "Big"]
    assert 'exceeded the 4KB limit. String measured: {"A":' in event


def test_a_function_updated_past_4_kb_fails_and_rolls_back(stack, tmp_path):
    assert stack.deploy(Template({"Resources": {"Fn": function("x" * 4088)}}), tmp_path).succeeded

    outcome = stack.deploy(Template({"Resources": {"Fn": function("x" * 4089)}}), tmp_path)  # 4097 bytes

    assert (outcome.succeeded, outcome.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
    assert outcome.reason.startswith("Fn: Resource handler returned message:")
    assert f'String measured: {{"A":"{"x" * 4089}"}}" (Service: Lambda, Status Code: 400)' in outcome.reason
    assert failed_events(stack)[0].split()[:3] == ["UPDATE_FAILED", "AWS::Lambda::Function", "Fn"]
    assert stack.state["Fn"].properties["Environment"]["Variables"]["A"] == "x" * 4088  # the rollback restored it


def test_keys_count_toward_the_4_kb_too(stack, tmp_path):
    # {"AB":"…"} is 9 bytes plus the value: a value of 4088 makes 4097.
    big = function("x" * 4088)
    big["Properties"]["Environment"]["Variables"] = {"AB": "x" * 4088}
    outcome = stack.deploy(Template({"Resources": {"Fn": big}}), tmp_path)
    assert (outcome.succeeded, outcome.status) == (False, "ROLLBACK_COMPLETE")
    assert "exceeded the 4KB limit" in outcome.reason


# --- CloudFormation: 500 resources, a 1 MB template -----------------------------------------------------------


def test_a_stack_of_500_resources_deploys_and_501_are_refused_before_anything_is_made(stack, tmp_path):
    refused = stack.deploy(Template({"Resources": {f"H{n}": HANDLE for n in range(501)}}), tmp_path)
    assert (refused.succeeded, refused.status) == (False, "")
    assert refused.reason == (
        f"{STACK}: ValidationError: Template format error: Number of resources, 501, is greater than maximum "
        "allowed, 500"
    )
    assert stack.state == {} and stack.printer.lines == [
        f"CREATE refused {STACK}: ValidationError: {refused.reason.split(': ', 2)[2]}"
    ]

    assert stack.deploy(Template({"Resources": {f"H{n}": HANDLE for n in range(500)}}), tmp_path).succeeded
    assert len(stack.state) == 500


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"Outputs": {f"O{n}": {"Value": "v"} for n in range(201)}},
            "Template format error: Number of outputs, 201, is greater than maximum allowed, 200",
        ),
        (
            {"Parameters": {f"P{n}": {"Type": "String", "Default": "v"} for n in range(201)}},
            "Template format error: Number of parameters, 201, is greater than maximum allowed, 200",
        ),
        ({"Description": "d" * 1025}, "Template format error: Description length is greater than 1024 bytes"),
    ],
    ids=["outputs", "parameters", "description"],
)
def test_the_quotas_pages_outputs_parameters_and_description_are_refused_before_anything_is_made(
    stack, tmp_path, body, reason
):
    """The CloudFormation quotas page: 200 outputs and 200 parameters per template, a Description of 1,024 bytes."""
    refused = stack.deploy(Template({"Resources": {"H": HANDLE}, **body}), tmp_path)
    assert (refused.succeeded, refused.reason) == (False, f"{STACK}: ValidationError: {reason}")
    assert stack.state == {}
    at_most = {
        key: dict(list(value.items())[:200]) if isinstance(value, dict) else value[:1024] for key, value in body.items()
    }
    assert stack.deploy(Template({"Resources": {"H": HANDLE}, **at_most}), tmp_path).succeeded


def test_the_description_is_measured_in_utf8_bytes(stack, tmp_path):
    """The quotas page's Description limit is 1,024 bytes: 512 'é' are 1,024 bytes, 513 are 1,026."""
    refused = stack.deploy(Template({"Resources": {"H": HANDLE}, "Description": "é" * 513}), tmp_path)
    assert (
        refused.reason
        == f"{STACK}: ValidationError: Template format error: Description length is greater than 1024 bytes"
    )
    assert stack.deploy(Template({"Resources": {"H": HANDLE}, "Description": "é" * 512}), tmp_path).succeeded


def assembly_of(tmp_path: Path, name: str, size: int) -> Path:
    """A cloud assembly with one stack whose template file has exactly size bytes (a handle with padding in its
    Metadata)."""
    directory = tmp_path / name
    directory.mkdir()
    shell = json.dumps({"Resources": {"Handle": {**HANDLE, "Metadata": {"Padding": ""}}}}).encode()
    body = shell.replace(b'"Padding": ""', b'"Padding": "' + b"p" * (size - len(shell)) + b'"')
    assert len(body) == size
    (directory / "Stack.template.json").write_bytes(body)
    manifest = {
        "artifacts": {
            STACK: {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Stack.template.json"}}
        }
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_a_template_of_1_mb_deploys_and_one_byte_more_is_refused(stack, tmp_path):
    """1 MB is 1,000,000 bytes: cfn-lint's limit (E1002), which aws-cdk-lib's warning also names, and CloudFormation's
    refusal ("Template may not exceed 1000000 bytes in size.")."""
    limit = cfnlint.helpers.LIMITS["template"]["body"]
    (too_big,) = stacks_of(assembly_of(tmp_path, "too-big", limit + 1))
    refused = stack.deploy(too_big.template, tmp_path)
    assert (refused.succeeded, refused.status) == (False, "")
    assert refused.reason == f"{STACK}: ValidationError: Template may not exceed 1000000 bytes in size (1000001 bytes)"
    assert stack.state == {}

    (fits,) = stacks_of(assembly_of(tmp_path, "fits", limit))
    assert stack.deploy(fits.template, tmp_path).succeeded


# --- custom resources: a response of 4096 bytes -----------------------------------------------------------


def custom(answer: Mapping[str, str]) -> dict[str, Any]:
    return {"Type": "Custom::Thing", "Properties": {"ServiceToken": TOKEN, "Answer": dict(answer)}}


def test_a_response_of_4096_bytes_is_taken_and_one_byte_more_fails_the_resource(stack, tmp_path):
    # The response body: {"Status": "SUCCESS", "PhysicalResourceId": "thing", "Data": {"V": "<value>"}}
    overhead = len('{"Status": "SUCCESS", "PhysicalResourceId": "thing", "Data": {"V": ""}}')
    assert stack.deploy(Template({"Resources": {"Fits": custom({"V": "v" * (4096 - overhead)})}}), tmp_path).succeeded

    outcome = stack.deploy(
        Template(
            {
                "Resources": {
                    "Fits": custom({"V": "v" * (4096 - overhead)}),
                    "Big": custom({"V": "v" * (4097 - overhead)}),
                }
            }
        ),
        tmp_path,
    )
    assert not outcome.succeeded
    assert outcome.reason == "Big: Response object is too long (4097 bytes; the limit is 4096)"
    assert failed_events(stack)[0].split()[:3] == ["CREATE_FAILED", "Custom::Thing", "Big"]


# --- EventBridge: a rule's Name and its targets' Input ----------------------------------------------------


def rule(name: str, target_input: str) -> dict[str, Any]:
    target = {"Arn": TOKEN, "Id": "Target0", "Input": target_input}
    return {"Type": "AWS::Events::Rule", "Properties": {"Name": name, "EventPattern": {}, "Targets": [target]}}


def test_a_rule_named_with_64_characters_deploys_and_65_fail(stack, tmp_path):
    assert stack.deploy(Template({"Resources": {"Rule": rule("r" * 64, "{}")}}), tmp_path).succeeded

    outcome = stack.deploy(Template({"Resources": {"Rule": rule("r" * 65, "{}")}}), tmp_path)

    assert not outcome.succeeded and outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    assert outcome.reason == (
        "Rule: Properties validation failed for resource Rule with message: [#/Name: expected maxLength: 64, "
        "actual: 65]"
    )
    assert failed_events(stack)[0].split()[:3] == ["UPDATE_FAILED", "AWS::Events::Rule", "Rule"]


def test_a_target_input_of_8192_characters_deploys_and_8193_fail(stack, tmp_path):
    assert stack.deploy(Template({"Resources": {"Rule": rule("r", "i" * 8192)}}), tmp_path).succeeded
    outcome = stack.deploy(Template({"Resources": {"Other": rule("o", "i" * 8193)}}), tmp_path)
    assert outcome.reason == (
        "Other: Properties validation failed for resource Other with message: [#/Targets/0/Input: expected "
        "maxLength: 8192, actual: 8193]"
    )
    assert failed_events(stack)[0].split()[:3] == ["CREATE_FAILED", "AWS::Events::Rule", "Other"]


def test_every_targets_input_is_held_to_8192_characters_not_only_the_first(stack, tmp_path):
    """The AWS::Events::Rule resource schema: Input's maxLength is each Target's, and a rule has up to 5 targets."""
    targets = [{"Arn": TOKEN, "Id": "T0", "Input": "{}"}, {"Arn": TOKEN, "Id": "T1", "Input": "i" * 8193}]
    rule = {"Type": "AWS::Events::Rule", "Properties": {"Name": "r", "EventPattern": {}, "Targets": targets}}
    outcome = stack.deploy(Template({"Resources": {"Rule": rule}}), tmp_path)
    assert outcome.reason == (
        "Rule: Properties validation failed for resource Rule with message: [#/Targets/1/Input: expected "
        "maxLength: 8192, actual: 8193]"
    )


def test_moto_refuses_what_eventbridge_refuses_of_the_single_functions_polling_rules(monkeypatch):
    """crhelper makes its polling rules through the API: PutRule and PutTargets are held to the same limits."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    install_moto_compensations(monkeypatch)
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        events.put_rule(Name="r" * 64, ScheduleExpression="rate(1 minute)")
        with pytest.raises(events.exceptions.ClientError, match="Member must have length less than or equal to 64"):
            events.put_rule(Name="r" * 65, ScheduleExpression="rate(1 minute)")
        events.put_targets(Rule="r" * 64, Targets=[{"Id": "1", "Arn": TOKEN, "Input": "i" * 8192}])
        with pytest.raises(events.exceptions.ClientError, match="less than or equal to 8192"):
            events.put_targets(Rule="r" * 64, Targets=[{"Id": "2", "Arn": TOKEN, "Input": "i" * 8193}])
        assert [t["Id"] for t in events.list_targets_by_rule(Rule="r" * 64)["Targets"]] == ["1"]


# --- a stack without resources, as the CDK CLI deploys it ------------------------------------------------------


def one_stack_assembly(tmp_path: Path, name: str, body: Mapping[str, Any]) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "Stack.template.json").write_text(json.dumps(body))
    artifact = {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Stack.template.json"}}
    (directory / "manifest.json").write_text(json.dumps({"artifacts": {STACK: artifact}}))
    return directory


def test_a_stack_without_resources_is_not_deployed_and_deletes_the_stack_it_empties(tmp_path):
    """CloudFormation refuses a template without Resources (its one required section); the CDK CLI says "stack has
    no resources, skipping deployment", or "deleting existing stack" when there is one."""
    lines: list[str] = []
    outputs_only = one_stack_assembly(tmp_path, "outputs-only", {"Outputs": {"Team": {"Value": "ml"}}})
    with cloud(lines) as local:
        assert local.deploy(outputs_only) == {}
        assert any(line.endswith(f"{STACK}: stack has no resources, skipping deployment.") for line in lines)
        assert STACK not in local.stacks

        (created,) = local.deploy(one_stack_assembly(tmp_path, "handle", {"Resources": {"H": HANDLE}})).values()
        assert created.succeeded and created.operation == "CREATE"
        (emptied,) = local.deploy(outputs_only).values()
        assert (emptied.operation, emptied.succeeded) == ("DELETE", True)
        assert any(line.endswith(f"{STACK}: stack has no resources, deleting existing stack.") for line in lines)
        assert local.stacks[STACK].status == "DELETE_COMPLETE"
