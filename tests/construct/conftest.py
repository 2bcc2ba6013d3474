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


def inline_policies(template: Template, role_logical_id: str) -> dict[str, list[dict[str, Any]]]:
    """The statements of each inline policy of a role, by policy name."""
    role = template.to_json()["Resources"][role_logical_id]
    return {
        inline["PolicyName"]: inline["PolicyDocument"]["Statement"] for inline in role["Properties"].get("Policies", [])
    }
