"""Fact 11's limits, checked at synth: what AWS would refuse at deploy time fails ``cdk synth`` with what to do.

The limits below are written from their sources, not read from the code under test:
- CloudFormation quotas: 500 resources per stack, a template body of at most 1 MB from S3;
- Lambda quotas: 4 KB for all of a function's environment variables;
- EventBridge (botocore's events model): a target's Input at most 8192 characters (TargetInput), a rule's Name at
  most 64 (RuleName); Lambda's FunctionName at most 64 (botocore's lambda model, FunctionName of CreateFunction).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    CustomizationProvider,
    CustomModel,
    CustomModelDeployment,
    ProviderKind,
    S3Data,
    _iam_sizes,
)
from cdk_bedrock_customization.limits import check_resource_count, template_problems
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import custom_model

RESOURCES_PER_STACK = 500
TEMPLATE_BYTES = 1_000_000
ENVIRONMENT_BYTES = 4096
MAX_TARGET_INPUT = 8192  # botocore's events model, TargetInput (checked below)
JOB = "Custom::BedrockModelCustomizationJob"
VALID_JOB = {  # what CreateModelCustomizationJob requires that the handler does not generate
    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:handler",
    "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
    "roleArn": "arn:aws:iam::123456789012:role/customization",
    "trainingDataConfig": {"s3Uri": "s3://training-data/train.jsonl"},
    "outputDataConfig": {"s3Uri": "s3://training-data/output/"},
}


def _botocore_max(service: str, shape: str) -> int:
    model = botocore.session.get_session().get_service_model(service)
    return int(model.shape_for(shape).metadata["max"])


def function(variables: dict[str, Any] | None = None, name: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"Handler": "index.handler", "Runtime": "python3.14"}
    if variables is not None:
        properties["Environment"] = {"Variables": variables}
    if name is not None:
        properties["FunctionName"] = name
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


def rule(name: str | None = None, target_input: Any = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"ScheduleExpression": "rate(1 hour)"}
    if name is not None:
        properties["Name"] = name
    if target_input is not None:
        properties["Targets"] = [
            {"Id": "Target0", "Arn": "arn:aws:lambda:us-east-1:1:function:f", "Input": target_input}
        ]
    return {"Type": "AWS::Events::Rule", "Properties": properties}


def problems_of(*resources: dict[str, Any], polled: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    template = {"Resources": {f"Resource{i}": resource for i, resource in enumerate(resources)}}
    return template_problems(template, polled)


def variables_of_json_size(size: int) -> dict[str, str]:
    """One variable whose JSON map, {"VALUE":"..."}, has exactly size bytes."""
    overhead = len('{"VALUE":""}')
    return {"VALUE": "x" * (size - overhead)}


def test_the_limits_come_from_botocore_where_it_has_them():
    assert _botocore_max("events", "TargetInput") == 8192
    assert _botocore_max("events", "RuleName") == 64
    assert _botocore_max("lambda", "FunctionName") >= 64  # an ARN may be longer; a name is at most 64


def test_a_function_environment_over_4_kb_is_refused():
    at_limit, over = variables_of_json_size(ENVIRONMENT_BYTES), variables_of_json_size(ENVIRONMENT_BYTES + 1)
    assert len(json.dumps(at_limit, separators=(",", ":"))) == ENVIRONMENT_BYTES
    assert problems_of(function(at_limit)) == []
    ((logical_id, problem, fix),) = problems_of(function(over))
    assert logical_id == "Resource0"
    assert "4,097 bytes" in problem and "4,096" in problem
    assert fix


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text("ABCZ_", min_size=1, max_size=8), st.text(max_size=900), max_size=8))
def test_any_environment_is_refused_exactly_when_its_json_is_over_4_kb(variables):
    size = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=True).encode()) if variables else 0
    found = problems_of(function(variables))
    assert bool(found) == (size > ENVIRONMENT_BYTES)


# The shortest id a stack deploys with: arn:<partition>:cloudformation:<Region>:<account>:stack/<name>/<36-character
# id>, in us-east-1 (no Region's name is shorter) with a one-character name. Written as a Ref, it takes 22 characters.
SHORTEST_STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/S/" + "0" * 36


# The stack id as a template may write it: each deploys as the stack's id.
STACK_ID_WRITTEN = {
    "ref": {"Ref": "AWS::StackId"},
    "sub": {"Fn::Sub": "${AWS::StackId}"},
    "sub-with-variables": {"Fn::Sub": ["${Id}", {"Id": {"Ref": "AWS::StackId"}}]},
    "join-of-sub": {"Fn::Join": ["", [{"Fn::Sub": "${AWS::StackId}"}]]},
}


@pytest.mark.parametrize("written", list(STACK_ID_WRITTEN.values()), ids=list(STACK_ID_WRITTEN))
@pytest.mark.parametrize("deployed_size", [ENVIRONMENT_BYTES, ENVIRONMENT_BYTES + 1])
def test_an_environment_holding_the_stack_id_is_counted_as_deployed(deployed_size, written):
    """Lambda measures the deployed values: an environment under 4 KB as written may be over it in AWS."""
    assert len(SHORTEST_STACK_ID) == 90
    deployed = {"VALUE": "", "STACK_ID": SHORTEST_STACK_ID}
    padding = "x" * (deployed_size - len(json.dumps(deployed, separators=(",", ":"))))
    found = problems_of(function({"VALUE": padding, "STACK_ID": written}))
    assert bool(found) == (deployed_size > ENVIRONMENT_BYTES)
    if found:
        assert f"{deployed_size:,} bytes" in found[0][1]


@pytest.mark.parametrize(
    "written",
    [
        lambda text: {"Fn::Join": ["", [text, {"Ref": "AWS::StackId"}]]},
        lambda text: {"Fn::Sub": text + "${AWS::StackId}"},
    ],
    ids=["join", "sub"],
)
@pytest.mark.parametrize("deployed_length", [MAX_TARGET_INPUT, MAX_TARGET_INPUT + 1])
@pytest.mark.parametrize("letter", ["i", "é"], ids=["ascii", "non-ascii"])
def test_a_target_input_holding_the_stack_id_is_counted_in_characters_as_deployed(deployed_length, written, letter):
    """EventBridge's TargetInput is at most 8192 characters (botocore's model: a string's length), deployed."""
    found = problems_of(rule(target_input=written(letter * (deployed_length - len(SHORTEST_STACK_ID)))))
    assert bool(found) == (deployed_length > MAX_TARGET_INPUT)
    if found:
        assert f"{deployed_length:,} characters" in found[0][1]


def test_a_non_ascii_target_input_is_counted_in_characters():
    assert problems_of(rule(target_input="é" * MAX_TARGET_INPUT)) == []
    assert problems_of(rule(target_input="é" * (MAX_TARGET_INPUT + 1)))


_LITERALS = st.one_of(st.text(max_size=60), st.integers(), st.booleans(), st.none())
_PSEUDO = st.sampled_from(["AWS::StackId", "AWS::Region", "AWS::NoValue", "AWS::URLSuffix", "Parameter"])


def _intrinsics(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda name: {"Ref": name}, st.one_of(_PSEUDO, children)),
        st.builds(lambda parts: {"Fn::Join": ["", parts]}, st.lists(children, max_size=4)),
        st.builds(lambda argument: {"Fn::Join": argument}, children),
        st.builds(lambda text: {"Fn::Sub": text}, st.one_of(st.text(alphabet="${}!AWS:StackId", max_size=9), children)),
        st.builds(lambda text, names: {"Fn::Sub": [text, names]}, st.text(max_size=20), children),
        st.builds(lambda argument: {"Fn::If": argument}, st.lists(children, max_size=3)),
        st.builds(lambda argument: {"Fn::GetAtt": argument}, children),
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
    )


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.recursive(_LITERALS, _intrinsics, max_leaves=12), max_size=6),
    st.recursive(_LITERALS, _intrinsics, max_leaves=12),
)
def test_the_check_of_an_environment_or_target_input_never_raises(variables, target_input):
    """Whatever a template writes there (a malformed intrinsic included), synth gets problems or none, never a
    traceback from the check."""
    problems_of(function(variables), rule(target_input=target_input))


def test_a_rule_name_over_64_characters_is_refused():
    assert problems_of(rule(name="r" * 64)) == []
    ((_, problem, _),) = problems_of(rule(name="r" * 65))
    assert "65 characters" in problem and "64" in problem


def test_a_function_name_over_64_characters_is_refused():
    assert problems_of(function(name="f" * 64)) == []
    ((_, problem, _),) = problems_of(function(name="f" * 65))
    assert "FunctionName" in problem


def test_a_target_input_over_8192_characters_is_refused():
    assert problems_of(rule(target_input="i" * 8192)) == []
    ((_, problem, _),) = problems_of(rule(target_input="i" * 8193))
    assert "8,193 characters" in problem and "8,192" in problem


def test_a_template_over_1_mb_is_refused():
    filler = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "t" * 100}}
    resources = {f"Topic{i:05d}": filler for i in range(9_000)}
    size = len(json.dumps({"Resources": resources}, separators=(",", ":")))
    assert size > TEMPLATE_BYTES
    ((logical_id, problem, fix),) = template_problems({"Resources": resources})
    assert logical_id == ""
    assert f"{size:,} bytes" in problem
    assert "split" in fix


def test_large_properties_of_a_polled_resource_are_refused_only_on_the_single_function_provider():
    """crhelper carries the request in the polling rule's target input (8192 characters)."""
    tags = [{"key": f"tag-{i:03d}", "value": "v" * 200} for i in range(30)]
    job = {"Type": JOB, "Properties": {**VALID_JOB, "jobTags": tags}}
    assert problems_of(job) == []
    ((_, problem, fix),) = problems_of(job, polled=frozenset({JOB}))
    assert "polling" in problem and "Provider framework" in fix
    small = {"Type": JOB, "Properties": {**VALID_JOB, "jobTags": tags[:2]}}
    assert problems_of(small, polled=frozenset({JOB})) == []


# --- at synth ------------------------------------------------------------------------------------------------


def default_models(stack: cdk.Stack, count: int) -> None:
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "training-data")
    for number in range(count):
        custom_model(stack, bucket, f"Model{number}", data_prefix=f"model-{number}/")


def test_ninety_default_models_fit_in_one_stack_at_five_resources_each():
    counts = {}
    for models in (1, 2, 90):
        app = cdk.App()
        stack = cdk.Stack(app, "Platform")
        default_models(stack, models)
        counts[models] = len(app.synth().get_stack_by_name("Platform").template["Resources"])
    assert counts[2] - counts[1] <= 5
    assert (counts[90] - counts[1]) / 89 <= 5
    assert counts[90] <= RESOURCES_PER_STACK


def test_a_stack_over_500_resources_fails_at_synth_with_what_to_do():
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    default_models(stack, 101)
    with pytest.raises(RuntimeError, match=r"Platform has \d+ resources; CloudFormation allows 500") as raised:
        app.synth()
    assert "split the models between stacks" in str(raised.value)
    assert "role=" in str(raised.value)


def test_a_nested_stacks_resources_are_counted_in_its_own_template_not_its_parents():
    """The quota is per template: the parent holds one AWS::CloudFormation::Stack for its nested stack. The counts
    are read from the synthesized templates."""
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    default_models(stack, 50)
    nested = cdk.NestedStack(stack, "More")
    default_models(nested, 60)
    assembly = app.synth()
    parent = assembly.get_stack_by_name("Platform")
    (child,) = [
        json.loads((Path(assembly.directory) / name).read_text())
        for name in os.listdir(assembly.directory)
        if name.endswith(".nested.template.json")
    ]
    assert len(parent.template["Resources"]) <= RESOURCES_PER_STACK
    assert len(child["Resources"]) <= RESOURCES_PER_STACK
    assert len(parent.template["Resources"]) + len(child["Resources"]) > RESOURCES_PER_STACK


def test_a_nested_stacks_template_is_checked_as_its_parents_is():
    """A nested stack's template is a file of its own in the cloud assembly, with the same 1 MB quota."""
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    nested = cdk.NestedStack(stack, "More")
    default_models(nested, 1)
    cdk.CfnResource(nested, "Padding", type="AWS::SNS::Topic").add_metadata("padding", "x" * TEMPLATE_BYTES)
    with pytest.raises(RuntimeError, match=r"\.nested\.template\.json: the template has [\d,]+ bytes; CloudFormation"):
        app.synth()


@pytest.mark.parametrize("staged", [False, True], ids=["in-the-app", "in-a-stage"])
def test_a_function_of_the_stack_with_too_large_an_environment_fails_at_synth(staged):
    """A stack of a cdk.Stage (as CDK Pipelines deploys them) is checked as a stack of the app is."""
    app = cdk.App()
    stack = cdk.Stack(cdk.Stage(app, "Prod") if staged else app, "Platform")
    default_models(stack, 1)
    lambda_.Function(
        stack,
        "Settings",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        environment=variables_of_json_size(ENVIRONMENT_BYTES + 100),
    )
    with pytest.raises(RuntimeError, match=r"ERROR Settings\w+: its environment variables take at least 4,196 bytes"):
        app.synth()


@pytest.mark.parametrize("provider_stack", ["Platform", "Providers"], ids=["its-own-stack", "another-stack"])
def test_the_single_function_provider_refuses_properties_too_large_to_poll(provider_stack):
    """Each request it polls is a target's Input, at most 8192 characters (botocore's TargetInput), checked only by
    AWS: a model of a stack that uses another stack's provider is polled as that stack's own are."""
    assert botocore.session.get_session().get_service_model("events").shape_for("TargetInput").metadata["max"] == 8192
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    provider_home = stack if provider_stack == "Platform" else cdk.Stack(app, provider_stack)
    provider = CustomizationProvider.of(provider_home, kind=ProviderKind.SINGLE_FUNCTION)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "training-data")
    # 30 tags of 200 characters: the request alone is over 8192 characters.
    custom_model(stack, bucket, job_tags={f"tag-{i:03d}": "v" * 200 for i in range(30)}, provider=provider)
    with pytest.raises(RuntimeError, match=r"ERROR Model\w+: its properties would make a polling request") as raised:
        app.synth()
    assert "use the Provider framework" in str(raised.value)


def test_a_model_made_to_wait_for_one_declared_after_it_is_refused_as_a_cycle_naming_what_to_do():
    """The job queue starts a stack's jobs in declaration order: node.add_dependency against it makes a cycle, which
    CloudFormation refuses (cfn-lint E3004) and aws-cdk-lib only warns of."""
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    default_models(stack, 3)
    first, third = stack.node.find_child("Model0"), stack.node.find_child("Model2")
    first.node.add_dependency(third)
    with pytest.raises(
        RuntimeError, match=r"ERROR \w+: circular dependency: (\w+) -> .* -> \1, which CloudFormation"
    ) as raised:
        app.synth()
    assert "declare first the one to train first" in str(raised.value)


@pytest.mark.parametrize(
    "reference",
    [
        {"DependsOn": ["A"]},
        {"DependsOn": "A"},
        {"Properties": {"Value": {"Ref": "A"}}},
        {"Properties": {"Value": [{"Fn::GetAtt": ["A", "Arn"]}]}},
        {"Properties": {"Value": {"Fn::GetAtt": "A.Arn"}}},
        {"Properties": {"Value": {"Fn::Sub": "x-${A.Arn}-${AWS::Region}"}}},
        {"Properties": {"Value": {"Fn::Sub": ["${Name}", {"Name": {"Ref": "A"}}]}}},
        # CloudFormation reads the name without the spaces around it (cfn-lint#236).
        {"Properties": {"Value": {"Fn::Sub": "x-${ A.Arn }"}}},
        # An unclosed "${" (any number of them) hides no reference after it.
        {"Properties": {"Value": {"Fn::Sub": "${x" * 10_000 + "${A}"}}},
    ],
    ids=[
        "depends-on",
        "depends-on-one",
        "ref",
        "get-att",
        "get-att-string",
        "sub",
        "sub-variables",
        "sub-spaced",
        "sub-after-unclosed",
    ],
)
def test_every_way_of_referring_to_a_resource_closes_a_cycle(reference):
    resources = {"A": {"Type": "AWS::SNS::Topic", "DependsOn": ["C"]}, "B": {"Type": "AWS::SNS::Topic", **reference}}
    resources["C"] = {"Type": "AWS::SNS::Topic", "DependsOn": "B"}
    ((logical_id, problem, _),) = template_problems({"Resources": resources})
    assert (logical_id, problem) == ("A", "circular dependency: A -> C -> B -> A, which CloudFormation refuses")
    del resources["C"]["DependsOn"]
    assert template_problems({"Resources": resources}) == []


def test_a_cycle_is_named_by_the_resources_on_it_not_the_path_that_led_to_it():
    """Start depends on the cycle Loop1 -> Loop2 -> Loop1 but is not on it (as cfn-lint's E3004 names a cycle)."""
    resources = {
        "Start": {"Type": "AWS::SNS::Topic", "DependsOn": ["Loop1"]},
        "Loop1": {"Type": "AWS::SNS::Topic", "DependsOn": ["Loop2"]},
        "Loop2": {"Type": "AWS::SNS::Topic", "DependsOn": ["Loop1"]},
    }
    problems = [problem for _, problem, _ in template_problems({"Resources": resources})]
    assert problems == ["circular dependency: Loop1 -> Loop2 -> Loop1, which CloudFormation refuses"]


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Sub": ["${A}-suffix", {"A": "orders"}]},  # the Fn::Sub page: a variable of its own map, not resource A
        {"Fn::Sub": "${!A}"},  # a literal
        {"Fn::Sub": "${ !A}"},  # a literal too (cdklabs/decdk#358)
        {"Fn::Sub": "${AWS::Region}"},
    ],
    ids=["own-variable", "literal", "spaced-literal", "pseudo-parameter"],
)
def test_a_name_that_refers_to_no_resource_closes_no_cycle(value):
    resources = {
        "A": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Ref": "B"}}},
        "B": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": value}},
    }
    assert template_problems({"Resources": resources}) == []


def test_the_template_size_is_the_files_as_uploaded_when_known():
    """The CDK writes templates indented: the file's bytes, not its compact JSON, are what CloudFormation reads."""
    small = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    assert template_problems(small, size=TEMPLATE_BYTES) == []
    ((logical_id, problem, _),) = template_problems(small, size=TEMPLATE_BYTES + 1)
    assert logical_id == "" and "1,000,001 bytes" in problem


# --- IAM's policy sizes ------------------------------------------------------------------------------------------
# The IAM user guide, "IAM and AWS STS quotas": "Role policy size cannot exceed 10,240 characters" (a role's inline
# policies together), "Managed policy size: Cannot exceed 6,144 characters"; white space is not counted.
ROLE_POLICY_CHARACTERS = 10_240
MANAGED_POLICY_CHARACTERS = 6_144
ENV = cdk.Environment(account="123456789012", region="us-east-1")


def test_the_policy_size_counted_is_at_most_what_iam_counts_once_the_stack_is_deployed():
    """Pseudo parameters count as their shortest (a stack id as a 1-character stack's in a 9-character Region, as
    us-east-1), another resource's attribute as nothing: the deployed document, without white space, is as long plus
    that attribute."""
    partition_and_account = ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/*"]
    condition = {"aws:ResourceTag/t": {"Ref": "AWS::StackId"}, "x": {"Fn::GetAtt": ["Role", "Arn"]}}
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": {"Fn::Join": ["", partition_and_account]},
                "Condition": {"StringEquals": condition},
            }
        ]
    }
    role_arn = "arn:aws:iam::123456789012:role/s-Role-ABCDEFGHIJKL"
    deployed = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::123456789012:role/*",
                "Condition": {
                    "StringEquals": {
                        "aws:ResourceTag/t": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/"
                        "0f8c2a10-9a3e-11ef-8e3a-0a1b2c3d4e5f",
                        "x": role_arn,
                    }
                },
            }
        ]
    }
    iam_counts = len("".join(json.dumps(deployed).split()))
    assert _iam_sizes.policy_characters(document) == iam_counts - len(role_arn)


# IAM's quotas page: policy documents hold "horizontal tab (U+0009), linefeed (U+000A), carriage return (U+000D), and
# characters in the range U+0020 to U+00FF".
IAM_TEXT = st.text(st.sampled_from(["\t", "\n", "\r", *map(chr, range(0x20, 0x100))]), max_size=12)
DEPLOYED = st.one_of(
    st.tuples(st.just({"Ref": "AWS::Region"}), st.sampled_from(["us-east-1", "ap-southeast-2", "il-central-1"])),
    st.tuples(st.just({"Ref": "AWS::AccountId"}), st.just("123456789012")),
    st.tuples(st.just({"Ref": "BucketName"}), IAM_TEXT),  # a parameter: any value
    st.tuples(st.just({"Fn::GetAtt": ["Role", "Arn"]}), IAM_TEXT),
    st.tuples(st.just({"Fn::ImportValue": "Providers:Role"}), IAM_TEXT),
    st.tuples(IAM_TEXT, st.none()),  # a literal: as deployed
)


@given(parts=st.lists(DEPLOYED, max_size=8), keys=st.lists(IAM_TEXT, min_size=8, max_size=8))
def test_the_policy_size_counted_is_never_more_than_iam_counts_for_any_document(parts, keys):
    """A document of IAM's characters, its values literal or known only at deploy, joined or alone: what the check
    counts is at most what IAM counts of the deployed document (its characters without white space)."""
    joined = {"Fn::Join": ["", [template for template, _ in parts]]}
    document = {"Statement": [{key: template for key, (template, _) in zip(keys, parts, strict=False)}, joined]}
    values = [template if value is None else value for template, value in parts]
    deployed = {"Statement": [dict(zip(keys, values, strict=False)), "".join(values)]}
    iam_counts = len("".join(json.dumps(deployed, ensure_ascii=False).split()))
    assert _iam_sizes.policy_characters(document) <= iam_counts


def deployed_pseudo_parameters() -> list[tuple[str, str]]:
    """Each pseudo parameter's values in each partition, from botocore's partitions.json (the SDKs' endpoint data)."""
    partitions = botocore.session.get_session().get_component("data_loader").load_data("partitions")["partitions"]
    values = []
    for partition in partitions:
        values += [("AWS::Partition", partition["id"]), ("AWS::URLSuffix", partition["outputs"]["dnsSuffix"])]
        values += [("AWS::Region", region) for region in partition["regions"]]
    return values


@pytest.mark.parametrize(("pseudo_parameter", "value"), deployed_pseudo_parameters())
def test_a_pseudo_parameter_counts_no_more_than_its_value_in_any_partition(pseudo_parameter, value):
    document = {"Resource": {"Fn::Join": [":", ["arn", {"Ref": pseudo_parameter}, "s3"]]}}
    iam_counts = len("".join(json.dumps({"Resource": f"arn:{value}:s3"}).split()))
    assert _iam_sizes.policy_characters(document) <= iam_counts


STATEMENT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


# What CloudFormation makes of a template's document (its user guide: AWS::NoValue "removes the corresponding resource
# property"; Fn::If returns one of two values, either of which may be AWS::NoValue; Fn::Join over a list parameter),
# written out by hand as the shortest document it can deploy.
@pytest.mark.parametrize(
    ("document", "deployed"),
    [
        ({"Statement": [{**STATEMENT, "Condition": {"Ref": "AWS::NoValue"}}]}, {"Statement": [STATEMENT]}),
        (
            {"Statement": [STATEMENT, *[{"Fn::If": ["IsProd", STATEMENT, {"Ref": "AWS::NoValue"}]}] * 5]},
            {"Statement": [STATEMENT]},
        ),
        (
            {"Statement": [{**STATEMENT, "Resource": {"Fn::If": ["IsProd", "*", {"Ref": "AWS::NoValue"}]}}]},
            {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]},
        ),
        (
            {"Statement": [{**STATEMENT, "Resource": {"Fn::Join": ["", {"Ref": "ResourceArns"}]}}]},
            {"Statement": [{**STATEMENT, "Resource": ""}]},
        ),
        (
            {"Statement": [{**STATEMENT, "Resource": {"Fn::Join": [",", {"Fn::Split": [",", {"Ref": "Arns"}]}]}}]},
            {"Statement": [{**STATEMENT, "Resource": ""}]},
        ),
        (
            {"Statement": [{**STATEMENT, "Resource": {"Fn::Join": ["/", ["arn", {"Ref": "AWS::NoValue"}, "b"]]}}]},
            {"Statement": [{**STATEMENT, "Resource": "arn/b"}]},
        ),
    ],
    ids=["no-value-property", "if-statements", "if-property", "join-of-a-parameter", "join-of-a-split", "join-item"],
)
def test_what_cloudformation_may_leave_out_of_a_document_is_not_counted(document, deployed):
    iam_counts = len("".join(json.dumps(deployed).split()))
    assert _iam_sizes.policy_characters(document) <= iam_counts


def test_a_document_given_as_json_text_counts_as_its_characters():
    """CloudFormation's Json type takes the document as text too (cfn-lint accepts it): IAM reads that text, not a
    string of it with its quotes escaped again."""
    document = {"Version": "2012-10-17", "Statement": [{**STATEMENT, "Resource": 'arn:aws:s3:::b/"quoted"'}]}
    iam_counts = len("".join(json.dumps(document).split()))
    assert _iam_sizes.policy_characters(json.dumps(document, indent=2)) == iam_counts
    joined = {"Fn::Join": ["", ['{"Statement": [{"Resource": "', {"Ref": "AWS::Partition"}, '"}]}']]}
    assert _iam_sizes.policy_characters(joined) == len('{"Statement":[{"Resource":"aws"}]}')
    unknown = {"Fn::Join": ["", ['{"Statement": ', {"Fn::GetAtt": ["Policy", "Statements"]}, "}"]]}
    assert _iam_sizes.policy_characters(unknown) == 0  # not JSON without its unknown part: nothing can be told


def role_with(policies: Any, **resources: Any) -> dict[str, Any]:
    big = {**STATEMENT, "Resource": [f"arn:aws:s3:::my-training-data/{'k' * 90}{i:03d}" for i in range(50)]}
    return {
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {},
                    "Policies": policies([{"PolicyName": "Big", "PolicyDocument": {"Statement": [big]}}]),
                },
            },
            **resources,
        },
    }


def test_policies_cloudformation_may_not_make_are_not_counted_and_are_refused_once_made():
    """A role's policies given by an Fn::If, and a policy or role whose Condition may be false: CloudFormation may not
    make them, so they are not counted (nor do they fail the check); made unconditionally, they are refused."""
    beside = {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "More", "Roles": [{"Ref": "Role"}]}}
    beside["Properties"]["PolicyDocument"] = role_with(list)["Resources"]["Role"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]
    maybe = {"Fn::If": ["IsProd", {"Ref": "Role"}, {"Ref": "AWS::NoValue"}]}
    conditional_policy = {**beside, "Condition": "IsProd"}
    conditional_role = role_with(list, More=beside)
    conditional_role["Resources"]["Role"]["Condition"] = "IsProd"
    maybe_attached = {**beside, "Properties": {**beside["Properties"], "Roles": [maybe]}}
    for template in [
        role_with(lambda policies: {"Fn::If": ["IsProd", policies * 2, {"Ref": "AWS::NoValue"}]}),
        role_with(lambda policies: [*policies, {"Fn::If": ["IsProd", policies[0], {"Ref": "AWS::NoValue"}]}]),
        role_with(list, More=conditional_policy),
        role_with(list, More=maybe_attached),
        conditional_role,
    ]:
        assert list(_iam_sizes.iam_problems({"S.template.json": template})) == []
    ((_, logical_id, problem),) = _iam_sizes.iam_problems({"S.template.json": role_with(list, More=beside)})
    assert logical_id == "Role" and "2 inline policies take at least 1" in problem


def name_from_arn(arn: Any) -> dict[str, Any]:
    """A role's name from its ARN as aws-cdk-lib writes it (Arn.extractResourceName; Role.from_role_arn): the ARN's
    sixth field, role/<name>, after its slash. IAM's identifiers page: a role with a path has the ARN
    arn:aws:iam::<account>:role/<path>/<name>, whose name this is not."""
    return {"Fn::Select": [1, {"Fn::Split": ["/", {"Fn::Select": [5, {"Fn::Split": [":", arn]}]}]}]}


def test_a_policy_on_a_role_named_from_its_arn_or_passed_to_a_nested_stack_counts_on_it_when_surely_that_role():
    """A policy names the role by the name taken from its ARN, given in its template or passed by each
    AWS::CloudFormation::Stack that makes its nested stack: counted on the role, but not where it may be another role
    (a role with a path, a parameter with a Default, stacks passing different roles) or none (a Stack resource with a
    Condition), nor for a template not nested (its parameter is anyone's)."""
    document = role_with(list)["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]
    role_arn = {"Fn::GetAtt": ["Role", "Arn"]}

    def policy(role: Any) -> dict[str, Any]:
        return {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "More", "PolicyDocument": document, "Roles": [role]},
        }

    def nested(parameter: dict[str, Any], name: str = "PChild.nested.template.json", **stacks: Any) -> dict[str, Any]:
        child = {"Parameters": {"RoleArn": parameter}, "Resources": {"More": policy(name_from_arn({"Ref": "RoleArn"}))}}
        return {"P.template.json": role_with(list, **stacks), name: child}

    stack = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://example.com/child.json"}}
    stack["Properties"]["Parameters"] = {"RoleArn": role_arn}
    other = {
        **stack,
        "Properties": {**stack["Properties"], "Parameters": {"RoleArn": {"Fn::GetAtt": ["Other", "Arn"]}}},
    }
    with_path = role_with(list, More=policy(name_from_arn(role_arn)))
    with_path["Resources"]["Role"]["Properties"]["Path"] = "/teams/"
    string = {"Type": "String"}
    for templates in [
        {"S.template.json": role_with(list, More=policy(name_from_arn(role_arn)))},
        nested(string, Child=stack),
        nested(string, Child=stack, Again=stack),
    ]:
        ((name, logical_id, problem),) = _iam_sizes.iam_problems(templates)
        assert (name, logical_id) == (next(iter(templates)), "Role") and "2 inline policies take at least" in problem
    for templates in [
        {"S.template.json": with_path},
        nested({**string, "Default": "arn:aws:iam::123456789012:role/other"}, Child=stack),
        nested(string, Child={**stack, "Condition": "IsProd"}),
        nested(string, Child=stack, Second=other, Other=role_with(list)["Resources"]["Role"]),
        nested(string, "PChild.template.json", Child=stack),
    ]:
        assert list(_iam_sizes.iam_problems(templates)) == []


def synthesizes_unless(refused: bool, app: cdk.App, refusal: str) -> None:
    """The app synthesizes, or, when refused, its synth fails with the refusal (a pattern)."""
    if not refused:
        app.synth()
        return
    with pytest.raises(RuntimeError, match=refusal):
        app.synth()


def dataset_uri(folder: str, length: int) -> str:
    prefix = f"s3://my-training-data/{folder}/"
    return prefix + "a" * (length - len(prefix) - len(".jsonl")) + ".jsonl"


@pytest.mark.parametrize(("validators", "refused"), [(10, True), (3, False)])
def test_a_service_role_whose_datasets_pass_iams_role_policy_size_is_refused_at_synth(validators, refused):
    """Each dataset is named twice (its object, and its prefix for ListBucket): ten validation datasets of 400-character
    URIs (botocore: Validators holds 10, an S3Uri 1,024 characters) pass 10,240 characters."""
    app = cdk.App()
    stack = cdk.Stack(app, "Platform", env=ENV)
    CustomModel(
        stack,
        "Support",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_uri(dataset_uri("train", 400)),
        validation_data=[S3Data.from_uri(dataset_uri(f"v{i}", 400)) for i in range(validators)],
        output_data=S3Data.from_uri("s3://my-training-data/out/"),
        hyper_parameters={"epochCount": 2},
    )
    synthesizes_unless(
        refused,
        app,
        r"ERROR SupportServiceRole\w+: the role's 1 inline policies take at least 10,\d{3} characters together; "
        r"IAM allows 10,240",
    )


@pytest.mark.parametrize(("stacks", "refused"), [(10, True), (9, False)])
def test_stacks_sharing_one_provider_past_iams_role_policy_size_are_refused_at_synth(stacks, refused):
    """Each stack that uses another stack's provider adds an inline policy to its handler role (the README's "about nine
    stacks per provider when each trains a model": 10 do not fit, 9 do)."""
    app = cdk.App()
    provider = CustomizationProvider.of(cdk.Stack(app, "Providers", env=ENV))
    for number in range(stacks):
        team = cdk.Stack(app, f"TeamModels{number:02d}", env=ENV)
        bucket = s3.Bucket.from_bucket_name(team, "Data", f"data-{number}")
        custom_model(team, bucket, provider=provider)
    synthesizes_unless(
        refused,
        app,
        rf"ERROR BedrockCustomizationProviderHandlerRole\w+: the role's {stacks + 1} inline policies take at least "
        r"[1-9]\d,\d{3} characters together; IAM allows 10,240",
    )


@pytest.mark.parametrize(("deployments", "refused"), [(95, True), (40, False)])
def test_a_handler_policy_past_iams_managed_policy_size_is_refused_at_synth(deployments, refused):
    """Models served by ARN are each named in the handler's grant: past 10,000 characters aws-cdk-lib moves the
    statement into a managed policy of its own, which IAM caps at 6,144."""
    app = cdk.App()
    stack = cdk.Stack(app, "Serving", env=ENV)
    for number in range(deployments):
        arn = f"arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/{number:012d}"
        CustomModelDeployment(
            stack, f"OnDemand{number}", model=CustomModel.from_custom_model_arn(stack, f"M{number}", arn)
        )
    synthesizes_unless(refused, app, r"the managed policy takes at least \d{1,2},\d{3} characters; IAM allows 6,144")


def app_with_copies_in_a_nested_stack(app: cdk.App, nested_id: str, copies: int) -> cdk.App:
    """app with a stack whose nested stack copies models (each its own source ARN) on the parent's provider."""
    parent = cdk.Stack(app, "Parent", env=ENV)
    provider = CustomizationProvider.of(parent)
    models = cdk.NestedStack(parent, nested_id)
    for number in range(copies):
        CopiedCustomModel(
            models,
            f"Copy{number}",
            source_model="arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/"
            f"abcdefgh{number:04d}",
            completion=Completion.no_wait(),
            provider=provider,
        )
    return app


@pytest.mark.parametrize(("copies", "refused"), [(100, True), (70, False)])
def test_a_nested_stacks_grants_on_its_parents_provider_count_on_the_parents_handler_role(copies, refused):
    """A nested stack's models on its parent's provider: their grants go in a policy of the nested stack's on the
    parent's handler role (named from the ARN the parent passes in). Each copy names its source model's ARN (92
    characters, 95 with its quotes and comma) beside about 2,800 characters of the two policies' other statements (the
    provider's own grants on every kind of resource among them): 100 copies pass IAM's 10,240 characters; 70 copies
    take about 9,450, with what is known only at deploy (the nested stack's id, the log group's ARN) about 200 more."""
    synthesizes_unless(
        refused,
        app_with_copies_in_a_nested_stack(cdk.App(), "Models", copies),
        r"ERROR BedrockCustomizationProviderHandlerRole\w+: the role's 2 inline policies take at least 1\d,\d{3} "
        r"characters together; IAM allows 10,240",
    )


def test_a_nested_template_an_earlier_synth_left_in_the_folder_is_not_counted(tmp_path):
    """cdk synth writes into a folder it keeps (aws-cdk-lib's CloudAssemblyBuilder only ensures it exists): after a
    nested stack is renamed, its earlier template stays beside the new one, and is not this app's. 60 copies in each
    fit the parent's handler role; counted twice they would not (see the test above: 100 do not)."""

    app_with_copies_in_a_nested_stack(cdk.App(outdir=str(tmp_path)), "Team", 60).synth()
    # The renamed stack's app: Team's template is still in the folder.
    app_with_copies_in_a_nested_stack(cdk.App(outdir=str(tmp_path)), "Teams", 60).synth()
    assert len(list(tmp_path.glob("*.nested.template.json"))) == 2


@pytest.mark.parametrize(("models", "refused"), [(27, True), (26, False)])
def test_grants_to_a_models_role_count_on_that_role(models, refused):
    """Models sharing the first one's service role (role=first.role), each granted its data through CustomModel.role
    (a view of the role by its ARN: the policy names the role by the name taken from that ARN). Written out without
    white space, as IAM counts it, with every name literal: the role's own policy (the first model's datasets) takes
    561 characters; the grants policy 38, and 376 for each other model: {"Action":["s3:GetObject*","s3:GetBucket*",
    "s3:List*"],"Effect":"Allow","Resource":["arn:aws:s3:::my-training-data","arn:aws:s3:::my-training-data/run-001/*"]}
    (159) and {"Action":["s3:PutObject","s3:PutObjectLegalHold","s3:PutObjectRetention","s3:PutObjectTagging",
    "s3:PutObjectVersionTagging","s3:Abort*"],"Effect":"Allow","Resource":"arn:aws:s3:::my-training-data/run-001/
    output/*"} (215), with their two commas. 26 models take 9,999 characters, 27 take 10,375: past IAM's 10,240."""
    app = cdk.App()
    stack = cdk.Stack(app, "SharedRole", env=ENV)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "my-training-data")
    first = custom_model(stack, bucket, "M0", data_prefix="run-000/")
    for number in range(1, models):
        custom_model(stack, bucket, f"M{number}", data_prefix=f"run-{number:03d}/", role=first.role)
        bucket.grant_read(first.role, f"run-{number:03d}/*")
        bucket.grant_put(first.role, f"run-{number:03d}/output/*")
    synthesizes_unless(
        refused,
        app,
        r"ERROR M0ServiceRole\w+: the role's 2 inline policies take at least 10,375 characters together; IAM allows "
        r"10,240",
    )


# --- At a quota, allowed; one past it, refused (IAM and CloudFormation quotas pages: "cannot exceed") -------------

ROLE_POLICY_CHARACTERS = 10_240  # a role's inline policies together; IAM does not count white space
MANAGED_POLICY_CHARACTERS = 6_144


def policy_of(characters: int, tail: dict[str, str] | None = None) -> dict[str, Any]:
    """A policy document of exactly that many characters without white space, counted here; a tail (a pseudo
    parameter) is joined to its resource, uncounted."""
    document: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ""}],
    }
    resource = "arn:aws:s3:::b/"
    resource += "k" * (characters - len(json.dumps(document, separators=(",", ":"))) - len(resource))
    document["Statement"][0]["Resource"] = resource if tail is None else {"Fn::Join": ["", [resource, tail]]}
    if tail is None:
        assert len("".join(json.dumps(document).split())) == characters
    return document


def role_of_one_policy(document: dict[str, Any]) -> dict[str, Any]:
    policies = [{"PolicyName": "P", "PolicyDocument": document}]
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": policies}}
    return {"Resources": {"Role": role}}


@pytest.mark.parametrize(
    ("template", "refused"),
    [
        (role_of_one_policy(policy_of(ROLE_POLICY_CHARACTERS)), False),
        (role_of_one_policy(policy_of(ROLE_POLICY_CHARACTERS + 1)), True),
        (
            {
                "Resources": {
                    "Policy": {
                        "Type": "AWS::IAM::ManagedPolicy",
                        "Properties": {"PolicyDocument": policy_of(MANAGED_POLICY_CHARACTERS)},
                    }
                }
            },
            False,
        ),
        (
            {
                "Resources": {
                    "Policy": {
                        "Type": "AWS::IAM::ManagedPolicy",
                        "Properties": {"PolicyDocument": policy_of(MANAGED_POLICY_CHARACTERS + 1)},
                    }
                }
            },
            True,
        ),
    ],
    ids=["role-at-quota", "role-past-it", "managed-at-quota", "managed-past-it"],
)
def test_a_policy_at_iams_quota_is_allowed_and_one_past_it_refused(template, refused):
    assert bool(list(_iam_sizes.iam_problems({"S.template.json": template}))) is refused


def test_a_region_counts_at_least_as_its_shortest_name():
    """Every Region of botocore's partitions has at least 9 characters: a document one Region short of the quota is
    past it once deployed, in any Region."""
    partitions = botocore.session.get_session().get_component("data_loader").load_data("partitions")["partitions"]
    shortest = min(len(region) for partition in partitions for region in partition["regions"])
    document = policy_of(ROLE_POLICY_CHARACTERS + 1 - shortest, tail={"Ref": "AWS::Region"})
    assert list(_iam_sizes.iam_problems({"S.template.json": role_of_one_policy(document)}))


@pytest.mark.parametrize(("count", "refused"), [(RESOURCES_PER_STACK, False), (RESOURCES_PER_STACK + 1, True)])
def test_a_stack_at_500_resources_beside_a_nested_stack_is_allowed_and_one_more_refused(count, refused):
    """The nested stack's resources are in its own template: its AWS::CloudFormation::Stack is the parent's last."""
    stack = cdk.Stack(cdk.App(), "Platform")
    for number in range(count - 1):
        cdk.CfnResource(stack, f"Topic{number}", type="AWS::SNS::Topic")
    nested = cdk.NestedStack(stack, "Nested")
    for number in range(3):
        cdk.CfnResource(nested, f"Topic{number}", type="AWS::SNS::Topic")
    assert bool(check_resource_count(stack)) is refused
