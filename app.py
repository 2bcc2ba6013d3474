#!/usr/bin/env python3
"""The example app, synthesized with no AWS account: a fine-tuned model (trained on local files, validated at synth)
deployed for on-demand inference and answering through a Step Functions state machine, evaluated
against its base model before production throughput is bought behind the evaluation's gate, a distilled model, a
model imported from SageMaker AI and an open-weight model imported from its weights; the
distilled model copied to a second Region and deployed there; the same kind of models declared as data in
examples/models.yaml; and a provider stack whose exported ServiceToken lets plain CloudFormation templates
(examples/cloudformation/) declare models."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_bedrock_customization import (
    Commitment,
    CopiedCustomModel,
    Customization,
    CustomizationProviderStack,
    CustomModel,
    CustomModelDeployment,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    InvocationLogs,
    ModelEvaluation,
    ModelsFromFile,
    ModelSource,
    ProviderKind,
    RequestMetadataFilter,
    S3Data,
)

EXAMPLES = Path(__file__).resolve().parent / "examples"
# The models are trained in one Region and the distilled router is copied to another (any account).
TRAINING_REGION, SERVING_REGION = "us-east-1", "us-west-2"
# The support assistant's base model, as invoked on demand (its customization base is the 128k context variant).
SUPPORT_BASE_MODEL = "amazon.nova-micro-v1:0"
# The judge of the support assistant's evaluation, through its cross-Region inference profile.
JUDGE = "us.amazon.nova-pro-v1:0"


class ExampleModelsStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id, env=cdk.Environment(region=TRAINING_REGION), cross_region_references=True)
        # Knobs for `make deploy-local`'s update step (cdk synth -c supportAssistantEpochs=3 -c team=...).
        epochs = int(self.node.try_get_context("supportAssistantEpochs") or 2)
        team = str(self.node.try_get_context("team") or "ml-platform")
        data = s3.Bucket(
            self,
            "TrainingData",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_prefix="access-logs/",
        )

        support_model = CustomModel(
            self,
            "SupportAssistant",
            base_model="amazon.nova-micro-v1:0:128k",
            customization=Customization.fine_tuning(),
            # Local files: checked against Nova's format and Bedrock's quotas at synth, shipped as assets.
            training_data=S3Data.from_local_file(EXAMPLES / "data" / "support-train.jsonl"),
            validation_data=[S3Data.from_local_file(EXAMPLES / "data" / "support-validation.jsonl")],
            output_data=S3Data.from_bucket(data, "support/output/"),
            hyper_parameters={"epochCount": epochs, "learningRate": 0.00001, "learningRateWarmupSteps": 10},
            custom_model_tags={"use-case": "support"},
        )

        distilled_model = CustomModel(
            self,
            "DistilledRouter",
            base_model="amazon.nova-micro-v1:0:128k",
            customization=Customization.distillation(
                "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-premier-v1:0",
                max_response_length_for_inference=1000,
            ),
            training_data=InvocationLogs(
                source=S3Data.from_bucket(data, "invocation-logs/"),
                request_metadata_filters=RequestMetadataFilter.equals("project", "router"),
            ),
            output_data=S3Data.from_bucket(data, "router/output/"),
        )

        support_deployment = support_model.add_deployment(
            "OnDemand", description="On-demand inference for the support assistant"
        )
        support_deployment.metric_invocation_client_errors().create_alarm(
            self,
            "SupportAssistantClientErrors",
            threshold=5,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Client errors of the support assistant's on-demand deployment, summed over 5 minutes",
        )

        self._answer_with(support_deployment)

        # Bedrock evaluates a custom model through a provisioned throughput: one model unit, no commitment (billed by
        # the hour, deleted with the stack). A judge scores it and the base model on the team's own prompts; what
        # serves production (the on-demand deployment the state machine invokes, and the production throughput, a
        # month's commitment) is made, or moved to a retrained model, only once the gate passes.
        evaluated = support_model.add_provisioned_throughput("EvaluationThroughput", model_units=1)
        evaluation = ModelEvaluation(
            self,
            "SupportEvaluation",
            model=evaluated,
            baseline_model=SUPPORT_BASE_MODEL,
            evaluator_model=JUDGE,
            datasets=[
                EvaluationDataset.from_local_file(
                    "support-questions",
                    EXAMPLES / "data" / "support-evaluation.jsonl",
                    task_type="General",
                    metric_names=["Builtin.Correctness", "Builtin.Helpfulness"],
                )
            ],
            output_data=S3Data.from_bucket(data, "support/evaluations/"),
        )
        evaluation.require("Builtin.Correctness", at_least=0.7)
        evaluation.require_better_than_baseline("Builtin.Helpfulness", by=0.05)
        production = support_model.add_provisioned_throughput(
            "ProductionThroughput", model_units=1, commitment=Commitment.ONE_MONTH
        )
        evaluation.guard(support_deployment, production)

        imported_model = ImportedCustomModel(
            self,
            "ImportedNova",
            source=ModelSource.from_model_package_arn(
                self.format_arn(service="sagemaker", resource="model-package", resource_name="nova-support/1")
            ),
            model_tags={"source": "sagemaker"},
        )

        # Open-weight weights in the Hugging Face layout (check them first: cdk-bedrock-customization validate-weights).
        open_weights = ImportedModel(
            self,
            "OpenWeightsLlama",
            model_data=S3Data.from_bucket(data, "open-weights/llama-3.2-1b-instruct/"),
            imported_model_tags={"source": "hugging-face"},
        )
        self.distilled_model = distilled_model

        cdk.Tags.of(self).add("team", team)
        cdk.CfnOutput(self, "SupportAssistantModelArn", value=support_model.output_model_arn)
        cdk.CfnOutput(self, "DistilledRouterModelArn", value=distilled_model.output_model_arn)
        cdk.CfnOutput(self, "SupportAssistantDeploymentArn", value=support_deployment.custom_model_deployment_arn)
        cdk.CfnOutput(self, "SupportAssistantCorrectness", value=evaluation.score("Builtin.Correctness"))
        cdk.CfnOutput(self, "SupportAssistantProductionArn", value=production.provisioned_model_arn)
        cdk.CfnOutput(self, "ImportedNovaModelArn", value=imported_model.model_arn)
        cdk.CfnOutput(self, "OpenWeightsLlamaModelArn", value=open_weights.model_arn)

    def _answer_with(self, deployment: CustomModelDeployment) -> None:
        """A state machine that answers a support question with the fine-tuned model: the deployment is an
        aws_bedrock.IModel, so Step Functions invokes it, and is granted exactly it."""
        ask = tasks.BedrockInvokeModel(
            self,
            "AskSupportAssistant",
            model=deployment,
            body=sfn.TaskInput.from_object(
                {
                    "messages": [{"role": "user", "content": [{"text": sfn.JsonPath.string_at("$.question")}]}],
                    "inferenceConfig": {"maxTokens": 512},
                }
            ),
            result_selector={"answer": sfn.JsonPath.string_at("$.Body.output.message.content[0].text")},
        )
        answers = sfn.StateMachine(
            self,
            "SupportAnswers",
            definition_body=sfn.DefinitionBody.from_chainable(ask),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "SupportAnswersLogs", retention=logs.RetentionDays.ONE_MONTH),
                level=sfn.LogLevel.ALL,
            ),
        )
        cdk.Validations.of(answers).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="Step Functions' log delivery and X-Ray actions take no resource (aws-cdk-lib's grants).",
            )
        )
        cdk.CfnOutput(self, "SupportAnswersStateMachineArn", value=answers.state_machine_arn)


class ServingRegionStack(cdk.Stack):
    """The distilled router, copied from the training Region into this one and deployed here.

    The copy imports the source model's ARN from the training stack (a cross-Region reference): while it does, a
    change that replaces the source model fails the training stack's update, as any CloudFormation export does.
    """

    def __init__(self, scope: cdk.App, construct_id: str, *, source_model: CustomModel) -> None:
        super().__init__(scope, construct_id, env=cdk.Environment(region=SERVING_REGION), cross_region_references=True)
        copy = CopiedCustomModel(self, "DistilledRouterCopy", source_model=source_model)
        deployment = copy.add_deployment("OnDemand", description="The distilled router, served in this Region")
        cdk.CfnOutput(self, "DistilledRouterCopyArn", value=copy.model_arn)
        cdk.CfnOutput(self, "DistilledRouterCopyDeploymentArn", value=deployment.custom_model_deployment_arn)


class ModelsFromFileStack(cdk.Stack):
    """The models of examples/models.yaml; `-c stage=prod` applies the file's prod overrides."""

    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stage = self.node.try_get_context("stage")
        models = ModelsFromFile(self, "Models", path=EXAMPLES / "models.yaml", stage=stage)
        cdk.CfnOutput(self, "SupportAssistantModelArn", value=models.models["support-assistant"].model_arn)
        cdk.CfnOutput(
            self, "SupportOnDemandArn", value=models.deployments["support-on-demand"].custom_model_deployment_arn
        )


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir)
    models = ExampleModelsStack(app, "BedrockCustomizationExample")
    ServingRegionStack(app, "BedrockCustomizationExampleServing", source_model=models.distilled_model)
    ModelsFromFileStack(app, "BedrockModelsFromFile")
    # Exports BedrockCustomizationProvider-ServiceToken; templates pass roles under /bedrock-customization/.
    CustomizationProviderStack(
        app,
        "BedrockCustomizationProvider",
        kind=ProviderKind.SINGLE_FUNCTION,
        passable_role_path="/bedrock-customization/",
    )
    return app


if __name__ == "__main__":
    build_app().synth()
