#!/usr/bin/env python3
"""The CDK app that tests/engine/test_engine.py deploys on ministack, shaped by context: served_model (the ARN of a
custom model made beforehand, which the single function deploys and provisions), epochs (a change replaces the
jobs of the framework stack and of the single function), team (a tag on every stack).

ministack creates a stack's resources one at a time and fires the single function's polling rule once a minute, in
real time: so each single-function resource is in a stack of its own, and the stacks deploy side by side.
"""

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import (
    Completion,
    CustomizationProvider,
    CustomizationProviderStack,
    CustomModel,
    ImportedCustomModel,
    ModelSource,
    ProviderKind,
    S3Data,
)

BASE_MODEL = "amazon.nova-micro-v1:0:128k"
# The emulator is started with --failing-job DOOMED: every job whose name holds it fails.
DOOMED = "Doomed"
# The plain template's Bedrock roles are under this path (README, "Plain CloudFormation").
PASSABLE_ROLE_PATH = "/bedrock-customization/"
# How long the event-driven job's wait condition waits (see test_engine.py: ministack never lets it be signalled).
EVENT_WAIT = cdk.Duration.seconds(30)

app = cdk.App()
epochs = int(app.node.try_get_context("epochs") or 1)
team = str(app.node.try_get_context("team") or "ml-platform")
served_model = str(app.node.try_get_context("served_model") or "arn:aws:bedrock:us-east-1:000000000000:custom-model/x")


def stack_with_provider(name: str, kind: ProviderKind) -> cdk.Stack:
    stack = cdk.Stack(app, name)
    # The framework can poll every few seconds; the single function polls through rate(1 minute), its least.
    interval = cdk.Duration.seconds(2) if kind is ProviderKind.FRAMEWORK else cdk.Duration.minutes(1)
    CustomizationProvider.of(stack, kind=kind, query_interval=interval)
    cdk.Tags.of(stack).add("team", team)
    return stack


def bucket(stack: cdk.Stack) -> s3.Bucket:
    return s3.Bucket(stack, "Data", removal_policy=cdk.RemovalPolicy.DESTROY)


def model(
    stack: cdk.Stack, construct_id: str, bucket: s3.IBucket, *, epochs: int = 1, completion: Completion | None = None
) -> CustomModel:
    trained = CustomModel(
        stack,
        construct_id,
        base_model=BASE_MODEL,
        training_data=S3Data.from_bucket(bucket, f"{construct_id}/train.jsonl"),
        output_data=S3Data.from_bucket(bucket, f"{construct_id}/output/"),
        hyper_parameters={"epochCount": epochs},
        completion=completion or Completion.polling(),
        removal_policy=cdk.RemovalPolicy.DESTROY,  # so that a destroy leaves nothing in the emulator
    )
    cdk.CfnOutput(stack, f"{construct_id}ModelArn", value=trained.output_model_arn)
    cdk.CfnOutput(stack, f"{construct_id}JobArn", value=trained.job_arn)
    return trained


def imported(stack: cdk.Stack) -> ImportedCustomModel:
    package = stack.format_arn(service="sagemaker", resource="model-package", resource_name="engine-nova/1")
    model = ImportedCustomModel(
        stack,
        "Imported",
        source=ModelSource.from_model_package_arn(package),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    cdk.CfnOutput(stack, "ImportedModelArn", value=model.model_arn)
    return model


def output(stack: cdk.Stack, name: str, value: str) -> None:
    cdk.CfnOutput(stack, name, value=value)


# Everything on the framework: a polled job (replaced when epochs changes), its deployment and throughput, an import.
framework = stack_with_provider("EngineFramework", ProviderKind.FRAMEWORK)
trained = model(framework, "Tuned", bucket(framework), epochs=epochs)
output(framework, "DeploymentArn", trained.add_deployment("OnDemand").custom_model_deployment_arn)
output(
    framework, "ThroughputArn", trained.add_provisioned_throughput("Throughput", model_units=1).provisioned_model_arn
)
imported(framework)

# The same kinds of resource on the single function, one to a stack; the deployment and throughput serve a model
# made beforehand.
single_job = stack_with_provider("EngineSingleJob", ProviderKind.SINGLE_FUNCTION)
model(single_job, "Tuned", bucket(single_job), epochs=epochs)
single_import = stack_with_provider("EngineSingleImport", ProviderKind.SINGLE_FUNCTION)
imported(single_import)
single_deployment = stack_with_provider("EngineSingleDeployment", ProviderKind.SINGLE_FUNCTION)
existing = CustomModel.from_custom_model_arn(single_deployment, "Served", served_model)
output(single_deployment, "DeploymentArn", existing.add_deployment("OnDemand").custom_model_deployment_arn)
single_throughput = stack_with_provider("EngineSingleThroughput", ProviderKind.SINGLE_FUNCTION)
existing = CustomModel.from_custom_model_arn(single_throughput, "Served", served_model)
throughput_arn = existing.add_provisioned_throughput("Throughput", model_units=1).provisioned_model_arn
output(single_throughput, "ThroughputArn", throughput_arn)

# The provider stack whose exported ServiceToken the plain template (examples/cloudformation/) uses.
CustomizationProviderStack(
    app,
    "EngineProvider",
    kind=ProviderKind.FRAMEWORK,
    passable_role_path=PASSABLE_ROLE_PATH,
    query_interval=cdk.Duration.seconds(2),
)

# A create that fails: a model and its throughput are made, then a job fails; the rollback removes them.
rollback = stack_with_provider("EngineRollback", ProviderKind.FRAMEWORK)
rollback_data = bucket(rollback)
kept = model(rollback, "Kept", rollback_data)
throughput = kept.add_provisioned_throughput("Throughput", model_units=1)
doomed = model(rollback, DOOMED, rollback_data)
doomed.node.add_dependency(throughput)

# An event-driven job: its wait condition times out on ministack (finding 4), and the stack rolls back.
events = stack_with_provider("EngineEvents", ProviderKind.FRAMEWORK)
model(events, "Awaited", bucket(events), completion=Completion.event_driven(timeout=EVENT_WAIT))

app.synth()
