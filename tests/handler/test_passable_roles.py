"""A provider stack's handler passes only the roles its templates were allowed (PASSABLE_ROLES), and
ignores CloudFormation's own properties."""

from __future__ import annotations

import pytest
from bedrock_custom_resource import environment, index
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import ACCOUNT, CloudFormationEvents, fine_tuning_properties, kept_by_a_single_function_provider

PASSABLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization/*"


@pytest.fixture
def provider_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(environment.PASSABLE_ROLES_VARIABLE, PASSABLE)


def test_a_role_under_the_passable_path_is_passed(
    bedrock: BedrockStandIn, events: CloudFormationEvents, provider_stack
):
    role = f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization/support-ServiceRole-1A2B"
    index.on_event(events.create(fine_tuning_properties(roleArn=role)))
    (job,) = bedrock.jobs()
    assert job["roleArn"] == role


@pytest.mark.parametrize(
    "role",
    [
        f"arn:aws:iam::{ACCOUNT}:role/admin",
        f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization-lookalike/role",
        "arn:aws:iam::999999999999:role/bedrock-customization/other-account",
        f"arn:aws:iam::{ACCOUNT}:role/{'platform-team/' * 10}Models-AlphaServiceRole0123456789ABCDEF",  # long
    ],
)
def test_any_other_role_is_refused_by_name_before_anything_is_created(
    bedrock: BedrockStandIn, events: CloudFormationEvents, provider_stack, role
):
    with pytest.raises(ValueError, match="roleArn") as refused:
        index.on_event(events.create(fine_tuning_properties(roleArn=role)))
    assert role in str(refused.value)
    # In what a single-function provider's reason keeps (crhelper's 256 characters, the cut noted), the pattern is told.
    assert PASSABLE in kept_by_a_single_function_provider(str(refused.value))
    assert bedrock.jobs() == []
    assert bedrock.calls_to("CreateModelCustomizationJob") == []


NAME_PREFIX = f"arn:aws:iam::{ACCOUNT}:role/bedrock-*"


def test_a_name_prefix_passes_roles_of_the_path_slash_only(
    bedrock: BedrockStandIn, events: CloudFormationEvents, monkeypatch: pytest.MonkeyPatch
):
    """passable_role_name_prefix is of roles with the path / (a role's ARN is role/<path><name>): a role whose path
    merely starts with the prefix is refused, though IAM's * in role/bedrock-* would match it."""
    monkeypatch.setenv(environment.PASSABLE_ROLES_VARIABLE, NAME_PREFIX)
    in_a_path = f"arn:aws:iam::{ACCOUNT}:role/bedrock-sandbox/AdminLikeRole"
    with pytest.raises(ValueError, match="roleArn") as refused:
        index.on_event(events.create(fine_tuning_properties(roleArn=in_a_path)))
    assert in_a_path in str(refused.value)
    assert bedrock.calls_to("CreateModelCustomizationJob") == []
    named = f"arn:aws:iam::{ACCOUNT}:role/bedrock-support-ServiceRole"
    index.on_event(events.create(fine_tuning_properties(roleArn=named)))
    assert [job["roleArn"] for job in bedrock.jobs()] == [named]


def test_without_a_passable_pattern_any_role_is_passed(bedrock: BedrockStandIn, events: CloudFormationEvents):
    index.on_event(events.create(fine_tuning_properties(roleArn=f"arn:aws:iam::{ACCOUNT}:role/admin")))
    assert len(bedrock.jobs()) == 1


def test_service_timeout_is_cloudformations_property_not_a_bedrock_member(
    bedrock: BedrockStandIn, events: CloudFormationEvents
):
    index.on_event(events.create(fine_tuning_properties(ServiceTimeout="3600")))
    (request,) = bedrock.calls_to("CreateModelCustomizationJob")
    assert "ServiceTimeout" not in request
