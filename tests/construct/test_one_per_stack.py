"""The stack's provider and notifier are found in the construct tree, at their construct ids: one of each per
stack, whoever made it, and settings given once it exists are refused rather than ignored."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomizationProvider, JobCompletionNotifier, ProviderKind
from cdk_bedrock_customization.completion import NOTIFIER_ID
from cdk_bedrock_customization.provider import PROVIDER_ID

from constructs import Construct

from .conftest import custom_model


def test_a_provider_made_directly_at_its_id_is_the_one_of_finds() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    made = CustomizationProvider(stack, PROVIDER_ID, max_concurrent_jobs=3)
    nested = Construct(stack, "Nested")
    assert CustomizationProvider.of(stack) is made
    assert CustomizationProvider.of(nested) is made
    assert stack.node.find_child(PROVIDER_ID) is made


def test_of_creates_one_per_stack_and_finds_it_again() -> None:
    app = cdk.App()
    first, second = cdk.Stack(app, "First"), cdk.Stack(app, "Second")
    provider = CustomizationProvider.of(first)
    assert CustomizationProvider.of(first) is provider
    assert CustomizationProvider.of(second) is not provider
    assert JobCompletionNotifier.of(first) is JobCompletionNotifier.of(Construct(first, "Deep"))
    assert first.node.find_child(NOTIFIER_ID) is JobCompletionNotifier.of(first)


def test_settings_given_once_it_exists_are_refused_naming_them() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    JobCompletionNotifier.of(stack)
    with pytest.raises(
        ValueError, match=r"already has its JobCompletionNotifier, .* pass settings \['backstop_interval'\]"
    ):
        JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.minutes(5))


@pytest.mark.parametrize(
    ("made_by", "setting", "value"),
    [
        (CustomizationProvider, "max_concurrent_jobs", 1),
        (JobCompletionNotifier, "check_interval", cdk.Duration.minutes(2)),
    ],
)
def test_settings_after_a_model_made_it_say_that_the_model_did_and_to_call_of_before_it(made_by, setting, value):
    """The user made no call: an event-driven model made the stack's provider and notifier with their defaults."""
    stack = cdk.Stack(cdk.App(), "S")
    custom_model(stack, s3.Bucket.from_bucket_name(stack, "Data", "training-data-bucket"))
    with pytest.raises(ValueError) as refused:
        made_by.of(stack, **{setting: value})
    assert "made with its defaults by the stack's first model" in str(refused.value)
    assert f"pass settings ['{setting}'] to {made_by.__name__}.of before the stack's first model" in str(refused.value)


def test_another_construct_at_the_id_is_an_error_naming_it() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    Construct(stack, PROVIDER_ID)
    with pytest.raises(ValueError, match=f"S/{PROVIDER_ID}: taken by a construct that is not a CustomizationProvider"):
        CustomizationProvider.of(stack)


def test_settings_refused_in_a_nested_stack_name_it_by_its_path() -> None:
    """A nested stack's name is a token until deploy time: its path tells the user which stack it is."""
    nested = cdk.NestedStack(cdk.Stack(cdk.App(), "Top"), "Models")
    CustomizationProvider.of(nested)
    with pytest.raises(ValueError, match=r"^Top/Models already has its CustomizationProvider, ") as refused:
        CustomizationProvider.of(nested, max_concurrent_jobs=1)
    assert "${Token" not in str(refused.value)


def test_the_settings_it_was_made_with_may_be_given_again() -> None:
    """Two parts of an app may both ask for the single-function provider, or for one backstop: what they ask for is
    in force, and nothing is ignored. A Duration of the same length is the same setting."""
    stack = cdk.Stack(cdk.App(), "S")
    provider = CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, max_concurrent_jobs=1)
    assert CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION) is provider
    assert CustomizationProvider.of(stack, max_concurrent_jobs=1, kind=ProviderKind.SINGLE_FUNCTION) is provider
    notifier = JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.hours(1))
    assert JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.minutes(60)) is notifier


def test_another_setting_than_it_was_made_with_is_refused_naming_both() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION)
    with pytest.raises(ValueError) as refused:
        CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, max_concurrent_jobs=1)
    assert str(refused.value) == (
        "S already has its CustomizationProvider, made by an earlier CustomizationProvider.of with settings "
        "['kind']; settings ['max_concurrent_jobs'] given now differ: give each once, to CustomizationProvider.of "
        "before the stack's first model"
    )
    JobCompletionNotifier.of(stack, check_interval=cdk.Duration.minutes(2))
    with pytest.raises(ValueError, match=r"settings \['check_interval'\] given now differ"):
        JobCompletionNotifier.of(stack, check_interval=cdk.Duration.minutes(3))


def test_a_setting_known_only_at_deploy_is_the_same_only_as_itself() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    minutes = cdk.CfnParameter(stack, "Minutes", type="Number").value_as_number
    interval = cdk.Duration.minutes(minutes)
    notifier = JobCompletionNotifier.of(stack, check_interval=interval)
    assert JobCompletionNotifier.of(stack, check_interval=interval) is notifier
    with pytest.raises(ValueError, match=r"settings \['check_interval'\] given now differ"):
        JobCompletionNotifier.of(stack, check_interval=cdk.Duration.minutes(minutes))


def test_a_setting_given_as_none_is_its_default_and_no_setting() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    notifier = JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.hours(2), check_interval=None)
    assert JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.hours(2), check_interval=None) is notifier
    assert JobCompletionNotifier.of(stack, check_interval=None) is notifier
