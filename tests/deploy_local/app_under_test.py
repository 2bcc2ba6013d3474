#!/usr/bin/env python3
"""A CDK app for the local deployment tests, shaped by CDK context:
models (how many), completion (event_driven | polling), removal (retain | retain_on_update_or_delete | destroy),
provider (framework | single_function | none: only what a model adds, none without models),
epochs (the models' epochCount: a change replaces their jobs),
committed_units (model units of a one-month committed throughput on each model: a change is refused),
hourly_units (model units of a throughput billed by the hour on each model, DESTROY: a change replaces it),
separate_provider (the models use the provider of another stack, RehearsalProviders), data_bucket (the name of an
existing bucket the training data is in, rather than a bucket of the stack: one that outlives the stack),
failing_after (seconds: a wait condition that nothing signals fails the deployment then, while the jobs run),
epochs_parameter (the epochCount is a CfnParameter whose default is epochs: a value known only at deploy),
timeout_hours (an event-driven completion's timeout, other than the default 12 hours),
model_id (the models' construct id before their number, Model by default: another moves them to new logical ids),
keep_logical_ids_of (a model_id whose jobs' logical ids the models keep, as a user keeps them with
override_logical_id once the constructs are renamed)."""

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import Commitment, Completion, CustomizationProvider, CustomModel, ProviderKind, S3Data

from constructs import Construct

app = cdk.App()
stack = cdk.Stack(app, "RehearsalUnderTest")
data_bucket = app.node.try_get_context("data_bucket")
bucket = (
    s3.Bucket.from_bucket_name(stack, "Data", str(data_bucket))
    if data_bucket
    else s3.Bucket(stack, "Data", enforce_ssl=True)
)
timeout_hours = app.node.try_get_context("timeout_hours")
completion = (
    Completion.event_driven(cdk.Duration.hours(int(timeout_hours)))
    if timeout_hours
    else getattr(Completion, str(app.node.try_get_context("completion") or "event_driven"))()
)
removal = getattr(cdk.RemovalPolicy, str(app.node.try_get_context("removal") or "retain").upper())
provider_stack = cdk.Stack(app, "RehearsalProviders") if app.node.try_get_context("separate_provider") else stack
provider_kind = str(app.node.try_get_context("provider") or "framework")
provider = (
    None
    if provider_kind == "none"
    else CustomizationProvider.of(provider_stack, kind=ProviderKind[provider_kind.upper()])
)
epochs: int | str = int(app.node.try_get_context("epochs") or 1)
if app.node.try_get_context("epochs_parameter"):
    epochs = cdk.CfnParameter(stack, "Epochs", default=str(epochs)).value_as_string
committed_units = int(app.node.try_get_context("committed_units") or 0)
hourly_units = int(app.node.try_get_context("hourly_units") or 0)
model_id = str(app.node.try_get_context("model_id") or "Model")
kept_logical_ids_of = app.node.try_get_context("keep_logical_ids_of")
for index in range(int(app.node.try_get_context("models") or 1)):
    model = CustomModel(
        stack,
        f"{model_id}{index}",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_bucket(bucket, f"model{index}/train.jsonl"),
        output_data=S3Data.from_bucket(bucket, f"model{index}/output/"),
        hyper_parameters={"epochCount": epochs},
        completion=completion,
        removal_policy=removal,
        provider=provider,
    )
    if kept_logical_ids_of:
        # The logical id the job had under the old construct id: a stack's logical ids follow the construct path.
        probe = cdk.Stack(cdk.App(), "Probe")
        old_job = cdk.CfnResource(Construct(probe, f"{kept_logical_ids_of}{index}"), "Resource", type="Custom::Old")
        cast(cdk.CfnResource, model.node.default_child).override_logical_id(probe.get_logical_id(old_job))
    cdk.CfnOutput(stack, f"Model{index}Arn", value=model.output_model_arn)
    if committed_units:
        model.add_provisioned_throughput(
            f"Throughput{index}", model_units=committed_units, commitment=Commitment.ONE_MONTH
        )
    if hourly_units:
        model.add_provisioned_throughput(f"Throughput{index}", model_units=hourly_units)
failing_after = app.node.try_get_context("failing_after")
if failing_after:
    never_signalled = cdk.CfnWaitConditionHandle(stack, "NeverSignalledHandle")
    cdk.CfnWaitCondition(stack, "NeverSignalled", handle=never_signalled.ref, timeout=str(failing_after), count=1)
app.synth()
