"""What the rehearsal cannot play is refused before anything is made, naming the resource: a custom resource served
by Node.js code other than the Provider framework's (aws-cdk-lib's AwsCustomResource, as a model looked up by name
uses) would get no response and fail an hour later, naming nothing. A bucket's auto_delete_objects is played
(test_auto_delete_objects.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud

STACK = "NotRehearsed"


def served_by(runtime: str, handler: str) -> dict[str, Any]:
    """A template, as aws-cdk-lib's AwsCustomResource makes one: a function, and a custom resource it serves."""
    return {
        "Resources": {
            "ServeFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": runtime,
                    "Handler": handler,
                    "Code": {"S3Bucket": "cdk-assets", "S3Key": "0123abcd.zip"},
                    "Role": "arn:aws:iam::111122223333:role/ServeRole",
                },
            },
            "ByNameLookup": {
                "Type": "Custom::AWS",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["ServeFunction", "Arn"]}, "Create": "{}"},
            },
        }
    }


@pytest.mark.parametrize(
    ("runtime", "handler"), [("nodejs22.x", "index.handler"), ("nodejs20.x", "__entrypoint__.handler")]
)
def test_a_custom_resource_of_other_node_code_is_refused_before_anything_is_made(tmp_path, runtime, handler):
    path = tmp_path / "template.json"
    path.write_text(json.dumps(served_by(runtime, handler)))
    lines: list[str] = []
    with LocalCloud(write=lines.append) as local:
        outcome = local.deploy_template(path, STACK)

        assert not outcome.succeeded
        expected = (
            f"ByNameLookup (Custom::AWS): its function ServeFunction runs Node.js code ({handler}), and the rehearsal "
            "runs only the Provider framework's"
        )
        assert outcome.reason == f"{STACK}: not rehearsed: {expected}"
        assert lines == [f"[00:00:00] CREATE not rehearsed {STACK}: {expected}"]
        assert local.stacks[STACK].state == {}


def test_a_nested_stack_is_refused_before_anything_is_made(tmp_path):
    """A nested stack reported done with nothing in it made would hide what its models do."""
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Models": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://s3.amazonaws.com/cdk-assets/models.nested.template.json"},
            },
        }
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    lines: list[str] = []
    with LocalCloud(write=lines.append) as local:
        outcome = local.deploy_template(path, STACK)

        assert not outcome.succeeded
        assert outcome.reason.startswith(f"{STACK}: not rehearsed: Models (AWS::CloudFormation::Stack): a nested stack")
        assert local.stacks[STACK].state == {}


def test_a_wait_condition_signalled_by_signal_resource_is_refused_before_anything_is_made(tmp_path):
    """A WaitCondition with a CreationPolicy and no Handle waits for SignalResource, which the rehearsal does not play:
    refused, rather than a KeyError of the missing Handle."""
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Ready": {
                "Type": "AWS::CloudFormation::WaitCondition",
                "CreationPolicy": {"ResourceSignal": {"Count": 1, "Timeout": "PT5M"}},
            },
        }
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    with LocalCloud(write=lambda _line: None) as local:
        outcome = local.deploy_template(path, STACK)

        assert not outcome.succeeded
        assert outcome.reason.startswith(
            f"{STACK}: not rehearsed: Ready (AWS::CloudFormation::WaitCondition): a wait condition without a Handle"
        )
        assert local.stacks[STACK].state == {}


def test_a_template_with_a_transform_is_refused_before_anything_is_made(tmp_path):
    """Fn::ForEach (AWS::LanguageExtensions) and SAM make the template CloudFormation deploys: the rehearsal plays
    none, and says so rather than read a loop as resources. Found by an outside review (h273): it crashed."""
    path = tmp_path / "foreach.yaml"
    path.write_text(
        "Transform: AWS::LanguageExtensions\n"
        "Resources:\n"
        "  Fn::ForEach::Handles:\n"
        "    - Name\n"
        "    - [A, B]\n"
        "    - Handle${Name}:\n"
        "        Type: AWS::CloudFormation::WaitConditionHandle\n"
    )
    with LocalCloud(write=lambda _line: None) as local:
        outcome = local.deploy_template(path, STACK)

        assert not outcome.succeeded
        assert outcome.reason == (
            f"{STACK}: not rehearsed: Transform AWS::LanguageExtensions: the rehearsal plays no transform; "
            "rehearse what it makes"
        )
        assert local.stacks[STACK].state == {}
