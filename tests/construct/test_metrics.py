"""CloudWatch metrics of what serves a model: deployments, provisioned throughput and imported models, in alarms and
dashboards as their templates say."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_bedrock_customization import Completion, ImportedModel, ProvisionedThroughput, S3Data, _metrics

from .conftest import ENV, custom_model, resources_of_type, role_statements
from .test_native_cdk import BY_ARN

# The runtime metrics table of the Amazon Bedrock user guide, "Monitor bedrock-runtime inference using CloudWatch
# metrics" (monitoring-runtime-metrics), by hand: name -> unit. Counts are "Count" in its current text
# ("SampleCount" in an earlier one). Every one is published in AWS/Bedrock under the ModelId dimension.
GUIDE_RUNTIME_METRICS = {
    "Invocations": "Count",
    "InvocationLatency": "MilliSeconds",
    "InvocationClientErrors": "Count",
    "InvocationServerErrors": "Count",
    "InvocationThrottles": "Count",
    "InputTokenCount": "Count",
    "LegacyModelInvocations": "Count",
    "OutputTokenCount": "Count",
    "OutputImageCount": "Count",
}
# No helper: legacy models and image generation are nothing this library serves (metric(name) reaches them).
WITHOUT_HELPER = {"LegacyModelInvocations", "OutputImageCount"}
# helper -> (the guide's metric name, its default statistic: Sum for counts, Average for latency)
HELPERS = {
    "metric_invocations": ("Invocations", "Sum"),
    "metric_invocation_latency": ("InvocationLatency", "Average"),
    "metric_invocation_client_errors": ("InvocationClientErrors", "Sum"),
    "metric_invocation_server_errors": ("InvocationServerErrors", "Sum"),
    "metric_invocation_throttles": ("InvocationThrottles", "Sum"),
    "metric_input_tokens": ("InputTokenCount", "Sum"),
    "metric_output_tokens": ("OutputTokenCount", "Sum"),
}


def deployment(stack: cdk.Stack, bucket: Any) -> tuple[Any, dict[str, Any]]:
    served = custom_model(stack, bucket).add_deployment("OnDemand")
    return served, {"Fn::GetAtt": [stack.get_logical_id(served.resource), "customModelDeploymentArn"]}


def throughput(stack: cdk.Stack, bucket: Any) -> tuple[Any, dict[str, Any]]:
    served = custom_model(stack, bucket).add_provisioned_throughput("Throughput", model_units=1)
    return served, {"Fn::GetAtt": [stack.get_logical_id(served.resource), "provisionedModelArn"]}


def imported(stack: cdk.Stack, bucket: Any) -> tuple[Any, dict[str, Any]]:
    served = ImportedModel(stack, "Llama", model_data=S3Data.from_bucket(bucket, "weights/llama/"))
    # The import is awaited: the model's ARN is read, once it has completed, by the job's result reader
    # (Custom::BedrockModelImportJobResult, see test_model_import).
    return served, {"Fn::GetAtt": [stack.get_logical_id(served._completed), "importedModelArn"]}


SERVERS: dict[str, Callable[[cdk.Stack, Any], tuple[Any, dict[str, Any]]]] = {
    "deployment": deployment,
    "provisioned throughput": throughput,
    "imported model": imported,
}


def alarms_by_id(template: Template) -> dict[str, dict[str, Any]]:
    return {logical_id[: -len("0123ABCD")]: alarm["Properties"] for logical_id, alarm in _alarms(template).items()}


def _alarms(template: Template) -> dict[str, Any]:
    return resources_of_type(template, "AWS::CloudWatch::Alarm")


@pytest.mark.parametrize("kind", SERVERS)
def test_an_alarm_on_each_helper_watches_the_guides_metric_under_the_arn_the_model_is_invoked_by(
    stack, bucket, kind
) -> None:
    served, arn = SERVERS[kind](stack, bucket)
    for helper in HELPERS:
        getattr(served, helper)().create_alarm(stack, helper, threshold=1, evaluation_periods=1)
    alarms = alarms_by_id(Template.from_stack(stack))
    assert len(alarms) == len(HELPERS)
    for helper, (metric_name, statistic) in HELPERS.items():
        alarm = alarms[helper.replace("_", "")]
        assert alarm["Namespace"] == "AWS/Bedrock"
        assert alarm["MetricName"] == metric_name
        assert alarm["Dimensions"] == [{"Name": "ModelId", "Value": arn}]
        assert alarm["Statistic"] == statistic
        assert alarm["Period"] == 300  # 5 minutes, as aws-cdk-lib's metrics


@pytest.mark.parametrize("kind", SERVERS)
def test_the_metrics_name_the_arn_that_grant_invoke_grants(stack, bucket, kind) -> None:
    served, arn = SERVERS[kind](stack, bucket)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    served.grant_invoke(caller)
    (statement,) = role_statements(Template.from_stack(stack), "Caller")
    assert statement["Resource"] == arn
    assert stack.resolve(served.metric_invocations().dimensions) == {"ModelId": arn}


def test_the_options_of_metric_options_override_the_defaults(stack, bucket) -> None:
    served, arn = deployment(stack, bucket)
    metric = served.metric_invocation_latency(period=cdk.Duration.minutes(1), statistic="p99")
    metric.create_alarm(stack, "Slow", threshold=5000, evaluation_periods=3)
    (alarm,) = (resource["Properties"] for resource in _alarms(Template.from_stack(stack)).values())
    assert alarm["MetricName"] == "InvocationLatency"
    assert alarm["ExtendedStatistic"] == "p99" and "Statistic" not in alarm
    assert alarm["Period"] == 60
    assert alarm["Dimensions"] == [{"Name": "ModelId", "Value": arn}]
    labelled = served.metric_invocations(label="Support assistant requests", color=cloudwatch.Color.GREEN)
    assert (labelled.label, labelled.color, labelled.statistic) == ("Support assistant requests", "#2ca02c", "Sum")


def test_dimensions_map_replaces_the_model_id(stack, bucket) -> None:
    served, _ = throughput(stack, bucket)
    metric = served.metric_invocations(dimensions_map={"ModelId": "my-throughput"})
    assert metric.dimensions == {"ModelId": "my-throughput"}
    assert metric.statistic == "Sum"


def test_metric_names_any_metric_of_the_namespace_averaged_like_aws_cdk_libs(stack, bucket) -> None:
    served, arn = imported(stack, bucket)
    metric = served.metric("OutputImageCount")
    assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/Bedrock", "OutputImageCount", "Average")
    assert metric.period.to_seconds() == 300
    assert stack.resolve(metric.dimensions) == {"ModelId": arn}


def test_a_dashboard_graphs_them(stack, bucket) -> None:
    served, arn = deployment(stack, bucket)
    cloudwatch.Dashboard(stack, "Serving").add_widgets(
        cloudwatch.GraphWidget(
            title="Support assistant",
            left=[served.metric_invocations(), served.metric_invocation_client_errors()],
            right=[served.metric_invocation_latency(statistic="p90")],
        )
    )
    ((_, dashboard),) = resources_of_type(Template.from_stack(stack), "AWS::CloudWatch::Dashboard").items()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    # The body is JSON around the tokens: each metric names the namespace, its name, the dimension, then the ARN.
    assert parts.count(arn) == 3
    body = "".join(part if isinstance(part, str) else "<ARN>" if part == arn else "<TOKEN>" for part in parts)
    widget = json.loads(body)["widgets"][0]["properties"]
    assert widget["metrics"] == [
        ["AWS/Bedrock", "Invocations", "ModelId", "<ARN>", {"stat": "Sum"}],
        ["AWS/Bedrock", "InvocationClientErrors", "ModelId", "<ARN>", {"stat": "Sum"}],
        ["AWS/Bedrock", "InvocationLatency", "ModelId", "<ARN>", {"stat": "p90", "yAxis": "right"}],
    ]
    assert widget["title"] == "Support assistant"


@pytest.mark.parametrize("kind", SERVERS)
def test_a_model_of_the_stack_has_its_metrics_in_the_stacks_account_and_region(stack, bucket, kind) -> None:
    """As aws-cdk-lib's L2s' (Metric.attach_to: "uses the account and region from the Stack the given construct is
    defined in"), so an alarm or dashboard of another Region's stack names them."""
    served, _arn = SERVERS[kind](stack, bucket)
    for metric in (served.metric_invocations(), served.metric_invocation_latency(), served.metric("Invocations")):
        stat = metric.to_metric_config().metric_stat
        assert (stat.account, stat.region) == (ENV.account, ENV.region)


@pytest.mark.parametrize("kind", BY_ARN)
def test_a_model_referenced_by_an_arn_of_another_environment_has_its_metrics_there(stack, kind) -> None:
    """A model is invoked in the Region its ARN names (no other Region's endpoint serves it), where CloudWatch keeps
    its runtime metrics: a dashboard names that account and Region for the metric (the dashboard body's "accountId"
    and "region" rendering properties), and aws-cdk-lib refuses an alarm in this stack's Region on it rather than
    one that watches a Region where the model gets no traffic."""
    make, arn = BY_ARN[kind]
    referenced = make(stack)
    cloudwatch.Dashboard(stack, "Serving").add_widgets(cloudwatch.GraphWidget(left=[referenced.metric_invocations()]))
    ((_, dashboard),) = resources_of_type(Template.from_stack(stack), "AWS::CloudWatch::Dashboard").items()
    body = "".join(part for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1] if isinstance(part, str))
    metrics = json.loads(body.replace('"region":""', '"region":"<stack>"'))["widgets"][0]["properties"]["metrics"]
    assert metrics == [
        [
            "AWS/Bedrock",
            "Invocations",
            "ModelId",
            arn,
            {"accountId": "444455556666", "region": "eu-west-1", "stat": "Sum"},
        ]
    ]
    with pytest.raises(
        RuntimeError, match="Cannot create an Alarm in region 'us-east-1' based on metric 'Invocations'"
    ):
        referenced.metric_invocations().create_alarm(stack, "Invocations", threshold=1, evaluation_periods=1)


# ARNs partly written out: the fields written out are known at synth (format_arn's Region too), a token's are not.
PARTLY_LITERAL = {
    "region-with-token-account": (
        f"arn:aws:bedrock:eu-west-1:{cdk.Aws.ACCOUNT_ID}:provisioned-model/a1b2c3d4e5f6",
        (ENV.account, "eu-west-1"),
    ),
    "account-with-token-region": (
        f"arn:aws:bedrock:{cdk.Aws.REGION}:444455556666:provisioned-model/a1b2c3d4e5f6",
        ("444455556666", ENV.region),
    ),
    "format-arn": ("format_arn", (ENV.account, "eu-west-1")),  # its partition a token too
    "fn-join": (
        cdk.Fn.join(":", ["arn", cdk.Aws.PARTITION, "bedrock", "eu-west-1", cdk.Aws.ACCOUNT_ID, "provisioned-model/a"]),
        (ENV.account, "eu-west-1"),
    ),
    "fn-sub": (
        cdk.Fn.sub("arn:${AWS::Partition}:bedrock:eu-west-1:444455556666:provisioned-model/a1"),
        ("444455556666", "eu-west-1"),
    ),
    "fn-sub-variables": (
        cdk.Fn.sub("arn:aws:bedrock:${Where}:444455556666:provisioned-model/a1", {"Where": "eu-west-1"}),
        ("444455556666", "eu-west-1"),
    ),
    "fn-sub-token-body": (cdk.Fn.sub(f"arn:aws:bedrock:eu-west-1:{cdk.Aws.ACCOUNT_ID}:x/a"), (ENV.account, ENV.region)),
    "fn-sub-region": (
        cdk.Fn.sub("arn:aws:bedrock:${AWS::Region}:${AWS::AccountId}:provisioned-model/a1"),
        (ENV.account, ENV.region),
    ),
    "all-token": ("parameter", (ENV.account, ENV.region)),
}


@pytest.mark.parametrize("given", PARTLY_LITERAL)
def test_a_models_arn_with_tokens_has_its_metrics_where_its_written_out_fields_say(stack, given) -> None:
    """A model is invoked in the Region its ARN names: a Region written out beside a token account (as
    f"...:{Aws.ACCOUNT_ID}:..." or Stack.format_arn(region=...) write them) is where an alarm must watch it, and
    aws-cdk-lib refuses one elsewhere; an ARN that is a token throughout (a parameter) is taken for the stack's."""
    arn, (account, region) = PARTLY_LITERAL[given]
    if arn == "parameter":
        arn = cdk.CfnParameter(stack, "ThroughputArn").value_as_string
    elif arn == "format_arn":
        arn = stack.format_arn(service="bedrock", resource="provisioned-model", resource_name="a1", region="eu-west-1")
    referenced = ProvisionedThroughput.from_provisioned_model_arn(stack, "Throughput", arn)
    stat = referenced.metric_invocations().to_metric_config().metric_stat
    assert (stat.account, stat.region) == (account, region)
    if region != ENV.region:
        with pytest.raises(RuntimeError, match="Cannot create an Alarm in region 'us-east-1'"):
            referenced.metric_invocations().create_alarm(stack, "Invocations", threshold=1, evaluation_periods=1)


def test_an_import_that_is_not_awaited_has_no_metrics(stack, bucket) -> None:
    served = ImportedModel(
        stack, "Llama", model_data=S3Data.from_bucket(bucket, "weights/llama/"), completion=Completion.no_wait()
    )
    with pytest.raises(ValueError, match=r"importedModelArn is not available with Completion.no_wait\(\)"):
        served.metric_invocations()


def test_the_helpers_metric_names_are_exactly_those_the_guide_lists() -> None:
    names = {metric_name for metric_name, _ in HELPERS.values()}
    assert names == set(GUIDE_RUNTIME_METRICS) - WITHOUT_HELPER
    # The module's own table says the same names, units and statistics.
    assert {metric.name: metric.unit for metric in _metrics.RUNTIME_METRICS} == {
        name: unit for name, unit in GUIDE_RUNTIME_METRICS.items() if name not in WITHOUT_HELPER
    }
    assert {metric.name: metric.statistic for metric in _metrics.RUNTIME_METRICS} == dict(HELPERS.values())
    assert (_metrics.NAMESPACE, _metrics.DIMENSION) == ("AWS/Bedrock", "ModelId")
