"""Helpers for synth-time tests: stacks with a bucket, and templates of them."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ENV = cdk.Environment(account="123456789012", region="us-east-1")


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "TestStack", env=ENV)


@pytest.fixture
def bucket(stack: cdk.Stack) -> s3.Bucket:
    return s3.Bucket(stack, "Data")


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
