"""CloudWatch metrics of what serves a model (deployments, provisioned throughput, imported models), shaped as
aws-cdk-lib's L2s shape theirs: ``metric(name, **options)`` and one named helper per metric, each a
``cloudwatch.Metric`` attached to the construct, for alarms and dashboards.

Source: the Amazon Bedrock user guide, "Monitor bedrock-runtime inference using CloudWatch metrics"
(monitoring-runtime-metrics; earlier "Monitor Amazon Bedrock with Amazon CloudWatch", monitoring-cw). The
bedrock-runtime endpoint publishes its runtime metrics in the ``AWS/Bedrock`` namespace, under the ``ModelId``
dimension (the earlier page's list of dimensions: "ModelId - all metrics"). The guide does not say what
``ModelId`` holds when a request names a provisioned throughput, a custom model deployment or an imported model by
its ARN: these helpers use the ARN the request names as its ``modelId`` (the one ``grant_invoke`` grants). That is
this library's choice, not a documented fact; where an account's metrics carry another value,
``dimensions_map={"ModelId": ...}`` replaces it.

Neither aws-cdk-lib's ``aws_bedrock`` (its canned metrics cover Agents and Guardrails only) nor the Bedrock alpha
module (metrics on Guardrail and Agent only) has runtime metrics for a model to reuse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple, TypedDict, Unpack, cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from . import _fn_sub

NAMESPACE = "AWS/Bedrock"
DIMENSION = "ModelId"


class RuntimeMetric(NamedTuple):
    """A metric of the guide's runtime metrics table, and the statistic its helper uses by default."""

    name: str
    unit: str  # as the guide's table gives it
    statistic: str


# The guide's table, for the metrics that have a helper. Its counts are listed in the unit "Count" (an earlier
# version: "SampleCount"), which a Sum adds up over the period; latency is in milliseconds, averaged.
INVOCATIONS = RuntimeMetric("Invocations", "Count", "Sum")
INVOCATION_LATENCY = RuntimeMetric("InvocationLatency", "MilliSeconds", "Average")
INVOCATION_CLIENT_ERRORS = RuntimeMetric("InvocationClientErrors", "Count", "Sum")
INVOCATION_SERVER_ERRORS = RuntimeMetric("InvocationServerErrors", "Count", "Sum")
INVOCATION_THROTTLES = RuntimeMetric("InvocationThrottles", "Count", "Sum")
INPUT_TOKEN_COUNT = RuntimeMetric("InputTokenCount", "Count", "Sum")
OUTPUT_TOKEN_COUNT = RuntimeMetric("OutputTokenCount", "Count", "Sum")
RUNTIME_METRICS = (
    INVOCATIONS,
    INVOCATION_LATENCY,
    INVOCATION_CLIENT_ERRORS,
    INVOCATION_SERVER_ERRORS,
    INVOCATION_THROTTLES,
    INPUT_TOKEN_COUNT,
    OUTPUT_TOKEN_COUNT,
)


class MetricOptions(TypedDict, total=False):
    """The keyword arguments of ``aws_cloudwatch.MetricOptions``."""

    account: str
    color: str
    dimensions_map: Mapping[str, str]
    id: str
    label: str
    period: cdk.Duration
    region: str
    stack_account: str
    stack_region: str
    statistic: str
    unit: cloudwatch.Unit
    visible: bool


_UNKNOWN = "<deploy-time>"


def _as_written(value: Any) -> str:
    """A resolved string as its template writes it, each part known only at deploy time (a Ref, an attribute, a
    parameter) as _UNKNOWN: through Fn::Join and Fn::Sub, however the ARN was built (an f-string with tokens,
    Fn.join, Fn.sub, format_arn)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, arguments),) = value.items()
        if function == "Fn::Join" and isinstance(arguments, list) and len(arguments) == 2:
            delimiter, parts = arguments
            if isinstance(delimiter, str) and isinstance(parts, list):
                return delimiter.join(_as_written(part) for part in parts)
        if function == "Fn::Sub":
            text, variables = (arguments, {}) if isinstance(arguments, str) else _sub_arguments(arguments)
            if isinstance(text, str):
                # ${Name}: its value in the variables, as the template writes it; a parameter's or attribute's unknown.
                return _fn_sub.REFERENCE.sub(lambda found: _reference_as_written(found, variables), text)
    return _UNKNOWN


def _reference_as_written(found: re.Match[str], variables: Mapping[str, Any]) -> str:
    literal, name = _fn_sub.read(found)
    return "${" + name + "}" if literal else _as_written(variables.get(name, _UNKNOWN))


def _sub_arguments(arguments: Any) -> tuple[Any, dict[str, Any]]:
    """Fn::Sub's [text, variables]; anything else is not a text to read (None)."""
    if isinstance(arguments, list) and len(arguments) == 2 and isinstance(arguments[1], dict):
        return arguments[0], arguments[1]
    return None, {}


def _elsewhere(stack: cdk.Stack, arn: str) -> MetricOptions:
    """The account and Region of a model whose ARN names another environment, where it is invoked and CloudWatch
    keeps its runtime metrics (Metric.attach_to would name the stack's): each that the ARN writes out, where it
    differs from the stack's (a literal Region beside a token account counts too); none for the stack's own."""
    fields = _as_written(stack.resolve(arn)).split(":")
    if len(fields) < 6 or fields[0] != "arn":
        return {}
    named = {"region": (fields[3], stack.region), "account": (fields[4], stack.account)}
    found = {key: own for key, (own, stacks) in named.items() if own and _UNKNOWN not in own and own != stacks}
    return cast(MetricOptions, found)


class InvocationMetrics:
    """CloudWatch metrics of the model invoked through this construct's ARN (``_invoked_arn``).

    Every metric is in the ``AWS/Bedrock`` namespace with the dimension ``ModelId`` = that ARN (see the module's
    note: the guide does not document the value for this kind of resource), over 5 minutes unless ``period`` says
    otherwise. The keyword arguments are those of ``aws_cloudwatch.MetricOptions``; ``dimensions_map`` replaces the
    ``ModelId`` dimension.
    """

    @property
    def _invoked_arn(self) -> str:
        """The ARN a request names as its modelId to invoke the model through this construct."""
        raise NotImplementedError

    def metric(self, metric_name: str, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """The named metric of the ``AWS/Bedrock`` namespace for the model invoked through this construct.

        :param metric_name: a metric of the guide's runtime metrics table (monitoring-runtime-metrics).
        :param props: ``aws_cloudwatch.MetricOptions``. @default statistic Average, over 5 minutes (as
            ``aws_cloudwatch.Metric``)
        """
        resource = cast(cdk.Resource, self)  # a mixin of Resources (InvocableModel)
        arn = self._invoked_arn
        options: MetricOptions = {"dimensions_map": {DIMENSION: arn}, **_elsewhere(resource.stack, arn), **props}
        metric = cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric_name, **options)
        # Otherwise its account and Region follow the construct's stack, as those of aws-cdk-lib's L2s do.
        return metric.attach_to(resource)

    def metric_invocations(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Invocations: requests to Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream. The
        guide's current text counts requests Bedrock accepted, including those that later failed, and not those
        throttled; its earlier text counted successful requests.

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Sum over 5 minutes
        """
        return self._runtime_metric(INVOCATIONS, props)

    def metric_invocation_latency(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """InvocationLatency, in milliseconds: from the request sent to the last token received.

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Average over 5 minutes
        """
        return self._runtime_metric(INVOCATION_LATENCY, props)

    def metric_invocation_client_errors(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """InvocationClientErrors: invocations that ended in a client-side error.

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Sum over 5 minutes
        """
        return self._runtime_metric(INVOCATION_CLIENT_ERRORS, props)

    def metric_invocation_server_errors(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """InvocationServerErrors: invocations that ended in an AWS server-side error.

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Sum over 5 minutes
        """
        return self._runtime_metric(INVOCATION_SERVER_ERRORS, props)

    def metric_invocation_throttles(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """InvocationThrottles: invocations throttled (counted neither as Invocations nor as errors; how many depends
        on the SDK's retries).

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Sum over 5 minutes
        """
        return self._runtime_metric(INVOCATION_THROTTLES, props)

    def metric_input_tokens(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """InputTokenCount: tokens in the input.

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Sum over 5 minutes
        """
        return self._runtime_metric(INPUT_TOKEN_COUNT, props)

    def metric_output_tokens(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """OutputTokenCount: tokens in the output.

        :param props: ``aws_cloudwatch.MetricOptions``, as ``metric`` takes them. @default Sum over 5 minutes
        """
        return self._runtime_metric(OUTPUT_TOKEN_COUNT, props)

    def _runtime_metric(self, runtime_metric: RuntimeMetric, props: MetricOptions) -> cloudwatch.Metric:
        options: MetricOptions = {"statistic": runtime_metric.statistic, **props}
        return self.metric(runtime_metric.name, **options)
