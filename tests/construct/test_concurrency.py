"""A stack never starts more customization jobs at once than its limit (default 2), computed from the template."""

from __future__ import annotations

import itertools
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_bedrock_customization import (
    Completion,
    CustomizationProvider,
    CustomModel,
    ImportedCustomModel,
    ImportedModel,
    ModelSource,
    ProviderKind,
    S3Data,
)
from cdk_bedrock_customization._job_queue import NESTED_JOBS_WARNING_ID
from cdk_bedrock_customization.provider import UNWAITED_JOBS_WARNING_ID

from .conftest import ENV, custom_model

JOB = "Custom::BedrockModelCustomizationJob"
WAIT = "AWS::CloudFormation::WaitCondition"
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/{}"


def add_models(stack: cdk.Stack, bucket: s3.IBucket, completions: list[Completion]) -> list[CustomModel]:
    return [
        custom_model(stack, bucket, f"Model{index}", data_prefix=f"model{index}/", completion=completion)
        for index, completion in enumerate(completions)
    ]


def depends_on(template: dict[str, Any]) -> dict[str, set[str]]:
    """Every resource each resource waits for, directly or not: DependsOn, Ref and Fn::GetAtt."""
    direct: dict[str, set[str]] = {}
    for logical_id, resource in template.items():
        text = json.dumps(resource.get("Properties", {}))
        refs = {other for other in template if f'"Ref": "{other}"' in text or f'"Fn::GetAtt": ["{other}"' in text}
        direct[logical_id] = set(resource.get("DependsOn", [])) | refs
    closure: dict[str, set[str]] = {}

    def visit(logical_id: str) -> set[str]:
        if logical_id not in closure:
            closure[logical_id] = set()
            for other in direct[logical_id]:
                closure[logical_id] |= {other} | visit(other)
        return closure[logical_id]

    for logical_id in template:
        visit(logical_id)
    return closure


def peak_concurrent_jobs(template: dict[str, Any]) -> int:
    """The most jobs that the dependency graph lets run at once. A job runs from its resource's creation to
    its end: its wait condition when event-driven, its own resource when polled. Two jobs can overlap
    unless one's start waits, directly or not, for the other's end."""
    waits = {  # a wait condition's job among what it depends on (beside the notifier's Ready handle, which sorts first)
        job: logical_id
        for logical_id, resource in template.items()
        if resource["Type"] == WAIT
        for job in resource["DependsOn"]
        if template[job]["Type"] == JOB
    }
    jobs = {logical_id: waits.get(logical_id, logical_id) for logical_id, r in template.items() if r["Type"] == JOB}
    assert all(jobs[job] != job for job in waits)
    closure = depends_on(template)

    def overlap(first: str, second: str) -> bool:
        return jobs[first] not in closure[second] and jobs[second] not in closure[first]

    for size in range(len(jobs), 0, -1):
        for group in itertools.combinations(jobs, size):
            if all(overlap(a, b) for a, b in itertools.combinations(group, 2)):
                return size
    return 0


def template_of(stack: cdk.Stack) -> dict[str, Any]:
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


@pytest.mark.parametrize(
    "completions",
    [
        [Completion.event_driven()] * 5,
        [Completion.polling()] * 5,
        [Completion.event_driven(), Completion.polling()] * 2 + [Completion.event_driven()],
    ],
    ids=["event-driven", "polling", "mixed"],
)
def test_five_models_never_run_more_than_two_jobs_at_once(stack, bucket, completions):
    add_models(stack, bucket, completions)
    # Exactly two: the order does not serialize more than the limit asks.
    assert peak_concurrent_jobs(template_of(stack)) == 2


def test_the_limit_can_be_set(stack, bucket):
    CustomizationProvider.of(stack, max_concurrent_jobs=3)
    add_models(stack, bucket, [Completion.event_driven()] * 5)
    assert peak_concurrent_jobs(template_of(stack)) == 3


def test_the_order_is_the_order_of_declaration_and_waits_for_the_end_not_the_start(stack, bucket):
    models = add_models(stack, bucket, [Completion.event_driven()] * 3)
    template = template_of(stack)
    third = template[stack.get_logical_id(models[2].resource)]
    first_id = stack.get_logical_id(models[0].resource)
    (first_wait,) = [k for k, r in template.items() if r["Type"] == WAIT and first_id in r["DependsOn"]]
    ordering = [d for d in third["DependsOn"] if template[d]["Type"] in (JOB, WAIT)]
    assert ordering == [first_wait]


def test_adding_a_sixth_model_changes_no_logical_id(bucket):
    def logical_ids(models: int) -> set[str]:
        stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
        add_models(stack, s3.Bucket(stack, "Data"), [Completion.event_driven()] * models)
        return set(template_of(stack))

    five, six = logical_ids(5), logical_ids(6)
    assert five < six
    # the sixth job, its service role (its grants inline), wait condition and handle, and reader
    assert len(six - five) == 5


def test_jobs_that_are_not_waited_for_warn_when_they_can_exceed_the_limit(stack, bucket):
    add_models(stack, bucket, [Completion.event_driven()] * 2 + [Completion.no_wait()] * 2)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("more than 2 at once"))
    assert [w.id for w in warnings] == ["/TestStack/BedrockCustomizationProvider"]
    assert UNWAITED_JOBS_WARNING_ID in json.dumps([w.entry.data for w in warnings])


def test_a_job_not_waited_for_after_more_waited_ones_than_the_limit_warns(stack, bucket):
    """Three waited jobs, two at once (the limit), then one not waited for, which nothing orders: 3 may run at once."""
    add_models(stack, bucket, [Completion.event_driven()] * 3 + [Completion.no_wait()])
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("more than 2 at once"))
    assert UNWAITED_JOBS_WARNING_ID in json.dumps([warning.entry.data for warning in warnings])


def test_imports_not_waited_for_warn_by_their_own_limit_whatever_the_customization_jobs(stack, bucket):
    """Bedrock runs one model import job at a time (DESIGN fact 16): an import with Completion.no_wait() and a waited
    one may run together, whether or not the stack has customization jobs, which count against a quota of their own."""
    model_data = S3Data.from_bucket(bucket, "weights/")
    for index, completion in enumerate([Completion.no_wait(), Completion.event_driven()]):
        ImportedModel(stack, f"Import{index}", model_data=model_data, completion=completion)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("more than 1 at once"))
    assert [w.id for w in warnings] == ["/TestStack/BedrockCustomizationProvider"]
    assert "model import jobs" in json.dumps([w.entry.data for w in warnings])


def test_an_import_not_waited_for_beside_customization_jobs_alone_does_not_warn(stack, bucket):
    """The only import: the customization jobs, of another quota, do not make it one too many."""
    add_models(stack, bucket, [Completion.event_driven()] * 2)
    ImportedModel(stack, "Import", model_data=S3Data.from_bucket(bucket, "weights/"), completion=Completion.no_wait())
    assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("at once"))


def nested_jobs_warnings(stack: cdk.Stack) -> list[Any]:
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("nested stacks'"))
    return [w for w in warnings if NESTED_JOBS_WARNING_ID in json.dumps(w.entry.data)]


def test_jobs_of_a_stack_and_its_nested_stack_warn_when_together_they_can_exceed_the_limit(stack, bucket):
    """A nested stack deploys within its parent's operation, beside the parent's jobs, each stack ordering its own
    (an outside review: two waited jobs in each ran four at once against a quota of two)."""
    add_models(stack, bucket, [Completion.event_driven()] * 2)
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    (warning,) = nested_jobs_warnings(stack)
    assert warning.id == "/TestStack"
    assert "customization jobs and its nested stacks' may run 4 at once, above the quota of 2" in json.dumps(
        warning.entry.data
    )


def test_jobs_of_a_stack_nested_two_levels_down_count_beside_the_top_stacks(stack, bucket):
    """One stack operation deploys a nested stack's nested stacks too: 2 jobs at the top and 2 two levels down run
    4 at once against Bedrock's default quota of 2."""
    add_models(stack, bucket, [Completion.event_driven()] * 2)
    sub = cdk.NestedStack(cdk.NestedStack(stack, "Team"), "Sub")
    add_models(sub, s3.Bucket(sub, "SubData"), [Completion.event_driven()] * 2)
    (warning,) = nested_jobs_warnings(stack)
    assert "may run 4 at once, above the quota of 2" in json.dumps(warning.entry.data)


@pytest.mark.parametrize("nested_waits_for_parent", [False, True], ids=["beside", "depends-on-parent-models"])
def test_a_parents_job_not_waited_for_runs_beside_its_nested_stacks_jobs(stack, bucket, nested_waits_for_parent):
    """A job with Completion.no_wait() trains on after its resource is made, and nothing can wait for its end: with
    the nested stack's two, 3 at once against Bedrock's default quota of 2, even when the nested stack depends on
    every model of its parent."""
    parents = add_models(stack, bucket, [Completion.event_driven(), Completion.no_wait()])
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    if nested_waits_for_parent:
        nested.node.add_dependency(*parents)
    assert nested_jobs_warnings(stack)


def test_a_parents_only_job_not_waited_for_counts_beside_its_nested_stacks_jobs(stack, bucket):
    add_models(stack, bucket, [Completion.no_wait()])
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    (warning,) = nested_jobs_warnings(stack)
    assert "may run 3 at once, above the quota of 2" in json.dumps(warning.entry.data)


def test_jobs_of_a_nested_stack_within_the_limit_with_its_parents_do_not_warn(stack, bucket):
    add_models(stack, bucket, [Completion.event_driven()])
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()])
    ImportedModel(nested, "Import", model_data=S3Data.from_bucket(bucket, "weights/"))  # imports: a quota of their own
    assert nested_jobs_warnings(stack) == []


def test_no_nested_stacks_warning_when_each_stack_was_given_its_share(stack, bucket):
    """Bedrock's quota of 2 concurrent customization jobs (Bedrock user guide, quotas), shared out as the warning
    says: 1 for the parent, 1 for its nested stack."""
    CustomizationProvider.of(stack, max_concurrent_jobs=1)
    add_models(stack, bucket, [Completion.event_driven()] * 2)
    nested = cdk.NestedStack(stack, "Team")
    CustomizationProvider.of(nested, max_concurrent_jobs=1)
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    assert nested_jobs_warnings(stack) == []


def test_the_nested_stacks_warning_stays_when_the_given_shares_add_up_past_the_quota(stack, bucket):
    """Bedrock's quota of 2 concurrent customization jobs, given to each stack whole: together they run 4."""
    CustomizationProvider.of(stack, max_concurrent_jobs=2)
    add_models(stack, bucket, [Completion.event_driven()] * 2)
    nested = cdk.NestedStack(stack, "Team")
    CustomizationProvider.of(nested, max_concurrent_jobs=2)
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    (warning,) = nested_jobs_warnings(stack)
    assert "may run 4 at once, above the quota of 2" in json.dumps(warning.entry.data)


def test_no_nested_stacks_warning_when_each_stack_runs_within_the_quota_whatever_its_limit(stack, bucket):
    """A parent given 1 with one job, a nested stack on the default with one: 2 at once, Bedrock's quota."""
    CustomizationProvider.of(stack, max_concurrent_jobs=1)
    add_models(stack, bucket, [Completion.event_driven()])
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()])
    assert nested_jobs_warnings(stack) == []


def test_the_nested_stacks_warning_stays_when_one_stack_runs_on_the_default_limit(stack, bucket):
    # The parent runs 1 at once (its limit), the nested stack 2 (the default): 3, past Bedrock's quota of 2.
    CustomizationProvider.of(stack, max_concurrent_jobs=1)
    add_models(stack, bucket, [Completion.event_driven()] * 2)
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    (warning,) = nested_jobs_warnings(stack)
    assert "may run 3 at once, above the quota of 2" in json.dumps(warning.entry.data)


@pytest.mark.parametrize(
    ("completion", "end"), [(Completion.event_driven(), WAIT), (Completion.polling(), JOB)], ids=["event", "polling"]
)
def test_no_nested_stacks_warning_when_the_nested_stack_depends_on_its_parents_jobs(stack, bucket, completion, end):
    """As a user writes it: the nested stack's node depends on each model, so its AWS::CloudFormation::Stack
    resource waits for the end of each of the parent's jobs (CloudFormation's DependsOn)."""
    parents = add_models(stack, bucket, [completion] * 2)
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [completion] * 2)
    nested.node.add_dependency(*parents)
    assert nested_jobs_warnings(stack) == []
    template = Template.from_stack(stack).to_json()["Resources"]
    (nested_resource,) = [r for r in template.values() if r["Type"] == "AWS::CloudFormation::Stack"]
    ends = [logical_id for logical_id, r in template.items() if r["Type"] == end]
    assert len(ends) == 2 and set(ends) <= set(nested_resource["DependsOn"])


def test_the_nested_stacks_warning_stays_when_the_nested_stack_waits_for_some_of_its_parents_jobs(stack, bucket):
    """On one of the two only, or on a job's start (its resource) rather than its end: they still run side by side."""
    parents = add_models(stack, bucket, [Completion.event_driven()] * 2)
    nested = cdk.NestedStack(stack, "Team")
    add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
    nested.node.add_dependency(parents[0])
    resource = nested.nested_stack_resource
    assert resource is not None
    resource.add_resource_dependency(parents[1].resource)
    (warning,) = nested_jobs_warnings(stack)
    assert "may run 4 at once, above the quota of 2" in json.dumps(warning.entry.data)


def test_the_nested_stacks_warning_stays_for_two_nested_stacks_that_wait_for_their_parent_beside_each_other(
    stack, bucket
):
    parents = add_models(stack, bucket, [Completion.event_driven()])
    for team in ("Red", "Blue"):
        nested = cdk.NestedStack(stack, team)
        add_models(nested, s3.Bucket(nested, "TeamData"), [Completion.event_driven()] * 2)
        nested.node.add_dependency(*parents)
    (warning,) = nested_jobs_warnings(stack)
    assert "may run 4 at once, above the quota of 2" in json.dumps(warning.entry.data)


def test_no_warning_while_the_limit_holds(stack, bucket):
    add_models(stack, bucket, [Completion.event_driven(), Completion.no_wait()])
    assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("at once"))


@pytest.mark.parametrize("limit", [0, 1.5, True])
def test_a_bad_limit_is_an_error_naming_it_and_leaves_no_provider_behind(stack, bucket, limit):
    with pytest.raises(ValueError, match=f"max_concurrent_jobs: {limit!r} is not a whole number of at least 1"):
        CustomizationProvider.of(stack, max_concurrent_jobs=limit)
    # Refused before anything was made: the next model makes the stack's provider, with the defaults.
    assert stack.node.try_find_child("BedrockCustomizationProvider") is None
    add_models(stack, bucket, [Completion.event_driven()])
    assert CustomizationProvider.of(stack).max_concurrent_jobs == 2


@pytest.mark.parametrize("setting", ["query_interval", "total_timeout", "max_concurrent_jobs"])
def test_a_setting_known_only_at_deploy_is_refused_naming_it(stack, bucket, setting):
    """Each sets, at synth, how the provider polls (a Step Functions retry count, an EventBridge rate) or how jobs are
    ordered: a token (a CfnParameter's value) cannot. Refused, naming it, and nothing is left behind."""
    parameter = cdk.CfnParameter(stack, "Setting", type="Number").value_as_number
    value = parameter if setting == "max_concurrent_jobs" else cdk.Duration.seconds(parameter)
    with pytest.raises(ValueError, match=f"^{setting}: a value known only at deploy \\(a token\\)"):
        CustomizationProvider.of(stack, **{setting: value})
    assert stack.node.try_find_child("BedrockCustomizationProvider") is None
    add_models(stack, bucket, [Completion.event_driven()])


@pytest.mark.parametrize(
    ("interval", "shown"),
    [(cdk.Duration.seconds(0), "0 seconds"), (cdk.Duration.millis(1500), "1 second 500 millis")],
)
def test_a_query_interval_of_no_whole_seconds_is_an_error_naming_it(stack, interval, shown):
    # Step Functions takes a positive whole number of seconds between polls (IntervalSeconds).
    with pytest.raises(ValueError, match=f"^query_interval: {shown} is not a whole number of seconds, at least 1$"):
        CustomizationProvider.of(stack, query_interval=interval)


def test_imports_are_ordered_the_same_way(stack):
    models = [
        ImportedCustomModel(stack, f"Import{n}", source=ModelSource.from_model_package_arn(PACKAGE_ARN.format(n)))
        for n in range(3)
    ]
    template = template_of(stack)
    ids = [stack.get_logical_id(model.resource) for model in models]
    assert "DependsOn" not in template[ids[0]] and "DependsOn" not in template[ids[1]]
    assert template[ids[2]]["DependsOn"] == [ids[0]]


@pytest.mark.parametrize("lower_first", [True, False], ids=["lower-limit-first", "higher-limit-first"])
def test_the_models_of_two_providers_in_one_stack_wait_for_one_another(stack, bucket, lower_first):
    """Bedrock's quota is the account's: a second provider in the stack must not start a second chain of jobs, and
    the lower of the two limits (the stack's own provider's default, 2) holds, whichever provider's models come
    first."""
    second = CustomizationProvider(stack, "Second", kind=ProviderKind.SINGLE_FUNCTION, max_concurrent_jobs=3)
    own, others = [f"Model{index}" for index in range(3)], [f"Other{index}" for index in range(3)]
    for name in own + others if lower_first else others + own:
        custom_model(stack, bucket, name, data_prefix=f"{name}/", provider=None if name in own else second)
    assert peak_concurrent_jobs(template_of(stack)) == 2


def test_a_lower_limit_given_later_waits_for_the_end_of_event_driven_jobs_ordered_before_it(stack, bucket):
    """Three event-driven jobs under a limit of 3, then a provider of limit 1: one job at a time from then on, so
    the later one starts only once each earlier one has ended (its wait condition), not once it has started."""
    first = CustomizationProvider(stack, "First", kind=ProviderKind.SINGLE_FUNCTION, max_concurrent_jobs=3)
    for index in range(3):
        custom_model(stack, bucket, f"Early{index}", data_prefix=f"early{index}/", provider=first)
    second = CustomizationProvider(stack, "Second", kind=ProviderKind.SINGLE_FUNCTION, max_concurrent_jobs=1)
    custom_model(stack, bucket, "Late", data_prefix="late/", provider=second)
    assert peak_concurrent_jobs(template_of(stack)) == 1


def test_models_of_another_stacks_provider_and_of_their_own_wait_for_one_another(stack):
    app = stack.node.root
    shared = CustomizationProvider.of(cdk.Stack(app, "Home", env=ENV))
    models = cdk.Stack(app, "Models", env=ENV)
    data = s3.Bucket(models, "Data")
    for index in range(3):
        custom_model(models, data, f"Shared{index}", data_prefix=f"shared{index}/", provider=shared)
    add_models(models, data, [Completion.event_driven()] * 3)
    assert peak_concurrent_jobs(template_of(models)) == 2
