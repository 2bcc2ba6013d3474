"""Helpers for synth-time tests: stacks with a bucket, the model most tests put in them, and templates of them."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import CustomModel, S3Data

from constructs import Construct

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ENV = cdk.Environment(account="123456789012", region="us-east-1")
BASE_MODEL = "amazon.nova-micro-v1:0:128k"


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "TestStack", env=ENV)


@pytest.fixture
def bucket(stack: cdk.Stack) -> s3.Bucket:
    return s3.Bucket(stack, "Data")


def custom_model(
    scope: Construct, bucket: s3.IBucket, construct_id: str = "Model", *, data_prefix: str = "", **props: Any
) -> CustomModel:
    """A CustomModel fine-tuning BASE_MODEL on the bucket's {data_prefix}train.jsonl, its output under
    {data_prefix}output/; props add to these or replace them."""
    defaults: dict[str, Any] = {
        "base_model": BASE_MODEL,
        "training_data": S3Data.from_bucket(bucket, f"{data_prefix}train.jsonl"),
        "output_data": S3Data.from_bucket(bucket, f"{data_prefix}output/"),
    }
    return CustomModel(scope, construct_id, **(defaults | props))


def resources_of_type(template: Template, resource_type: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(resource_type)
    return found


def statements(template: Template, policy_logical_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the IAM policies whose logical id starts with the prefix."""
    policies = resources_of_type(template, "AWS::IAM::Policy")
    return [
        statement
        for logical_id, policy in policies.items()
        if logical_id.startswith(policy_logical_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def role_statements(template: Template, role_logical_prefix: str) -> list[dict[str, Any]]:
    """Every statement granted to the roles whose logical id starts with the prefix: those inline in the role's
    own Policies, and those of any AWS::IAM::Policy attached to it by Ref (both are what the role may do)."""
    resources = template.to_json()["Resources"]
    roles = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(role_logical_prefix)
    ]
    assert roles, f"no AWS::IAM::Role whose logical id starts with {role_logical_prefix!r}"
    policies = [resource["Properties"] for resource in resources.values() if resource["Type"] == "AWS::IAM::Policy"]
    found: list[dict[str, Any]] = []
    for logical_id in roles:
        for inline in resources[logical_id]["Properties"].get("Policies", []):
            found += inline["PolicyDocument"]["Statement"]
        for policy in policies:
            if {"Ref": logical_id} in policy.get("Roles", []):
                found += policy["PolicyDocument"]["Statement"]
    return found


def key_statements(template: Template, role_logical_prefix: str) -> list[tuple[list[str], Any]]:
    """(actions, resource) of each statement of those roles (see role_statements) that grants a KMS action."""
    found = []
    for statement in role_statements(template, role_logical_prefix):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(str(action).startswith("kms:") for action in actions):
            found.append((actions, statement["Resource"]))
    return found


def inline_policies(template: Template, role_logical_id: str) -> dict[str, list[dict[str, Any]]]:
    """The statements of each inline policy of a role, by policy name."""
    role = template.to_json()["Resources"][role_logical_id]
    return {
        inline["PolicyName"]: inline["PolicyDocument"]["Statement"] for inline in role["Properties"].get("Policies", [])
    }


def refuse_opening(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """open(path) is refused, as the system refuses a file without read permission (whoever runs the tests)."""
    real_open = open

    def opening(file: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", opening)


def read_buffer_bytes(path: Path) -> int:
    """The buffer open(path, "rb") makes: the file system's block size, or io.DEFAULT_BUFFER_SIZE where it reports
    none (Python 3.14 takes the larger of the two, the block size capped at 8 MiB; its default is 128 KiB, 8 KiB
    before)."""
    return max(io.DEFAULT_BUFFER_SIZE, min(os.stat(path).st_blksize, 8 * 1024 * 1024))
