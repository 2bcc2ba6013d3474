"""ModelsFromFile: a models file's entries as this library's constructs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template
from bedrock_custom_resource import contract
from cdk_bedrock_customization import (
    Commitment,
    Completion,
    Customization,
    CustomModel,
    CustomModelDeployment,
    ImportedCustomModel,
    InvocationLogs,
    ModelsFromFile,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
    cli,
)
from cdk_bedrock_customization.models_file import ModelsFileError
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs import Construct

from .conftest import ENV, role_statements
from .test_models_file import GOOD, LINE, nested_aliases

JOB = "Custom::BedrockModelCustomizationJob"
EXAMPLE_DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
FILE = """\
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: data/support-train.jsonl
    output_data: s3://my-bucket/support/output/
    hyper_parameters: {epochCount: 2}
    completion: polling
    custom_model_tags: {use-case: support}
    removal_policy: retain
  router:
    customization: distillation
    base_model: amazon.nova-micro-v1:0:128k
    teacher_model: us.amazon.nova-premier-v1:0
    invocation_logs: {source: s3://my-bucket/logs/, use_prompt_response: true}
    output_data: s3://my-bucket/router/output/
    removal_policy: destroy
imported_models:
  nova:
    model_package_arn: arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1
deployments:
  support-on-demand:
    model: support
    description: support bot
    removal_policy: retain_on_update_or_delete
provisioned_throughput:
  nova-pt:
    model: nova
    model_units: 1
    commitment: one_month
stages:
  prod:
    provisioned_throughput:
      nova-pt: {model_units: 3}
"""


@pytest.fixture
def models_file(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "support-train.jsonl").write_bytes((EXAMPLE_DATA / "support-train.jsonl").read_bytes())
    path = tmp_path / "models.yaml"
    path.write_text(FILE)
    return path


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack", env=ENV)


def resources(stack: cdk.Stack) -> dict[str, Any]:
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def test_a_file_synthesizes_the_same_template_as_the_equivalent_python(models_file):
    from_file = new_stack()
    ModelsFromFile(from_file, "Models", path=models_file)

    in_python = new_stack()
    scope = Construct(in_python, "Models")
    from aws_cdk import aws_s3_assets as s3_assets

    # In ModelsFromFile's order: imported models first (a model may continue training one), then the models.
    nova = ImportedCustomModel(
        scope,
        "nova",
        source=ModelSource.from_model_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1"),
    )
    asset = s3_assets.Asset(scope, "supportTrainingData", path=str(models_file.parent / "data" / "support-train.jsonl"))
    support = CustomModel(
        scope,
        "support",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_bucket(asset.bucket, asset.s3_object_key),
        output_data=S3Data.from_uri("s3://my-bucket/support/output/"),
        hyper_parameters={"epochCount": 2},
        completion=Completion.polling(),
        custom_model_tags={"use-case": "support"},
        customization=Customization.fine_tuning(),
        job_tags={},
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    CustomModel(
        scope,
        "router",
        base_model="amazon.nova-micro-v1:0:128k",
        customization=Customization.distillation("us.amazon.nova-premier-v1:0"),
        training_data=InvocationLogs(source=S3Data.from_uri("s3://my-bucket/logs/"), use_prompt_response=True),
        output_data=S3Data.from_uri("s3://my-bucket/router/output/"),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    CustomModelDeployment(
        scope,
        "support-on-demand",
        model=support,
        description="support bot",
        removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
    ProvisionedThroughput(scope, "nova-pt", model=nova, model_units=1, commitment=Commitment.ONE_MONTH)

    assert resources(from_file) == resources(in_python)


def test_entries_are_reachable_by_key_and_usable(models_file):
    stack = new_stack()
    models = ModelsFromFile(stack, "Models", path=models_file)
    assert set(models.models) == {"support", "router", "nova"}
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    models.deployments["support-on-demand"].grant_invoke(role)
    models.provisioned_throughput["nova-pt"].grant_invoke(role)
    assert stack.resolve(models.models["support"].model_arn)["Fn::GetAtt"][1] == "outputModelArn"


def test_a_stage_applies_its_overrides(models_file):
    def units(stage: str | None) -> int:
        stack = new_stack()
        ModelsFromFile(stack, "Models", path=models_file, stage=stage)
        (throughput,) = [
            r for r in resources(stack).values() if r["Type"] == "Custom::BedrockProvisionedModelThroughput"
        ]
        return int(throughput["Properties"]["modelUnits"])

    assert (units(None), units("prod")) == (1, 3)


def test_the_local_dataset_asset_and_the_roles_grant_name_the_same_object(models_file):
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=models_file)
    synthesized = Template.from_stack(stack)
    template = synthesized.to_json()["Resources"]
    (job,) = [
        r
        for k, r in template.items()
        if r["Type"] == "Custom::BedrockModelCustomizationJob" and k.startswith("Modelssupport")
    ]
    uri = json.dumps(job["Properties"]["trainingDataConfig"]["s3Uri"])
    asset_key = next(part for part in uri.split('"') if part.endswith(".jsonl")).rsplit("/", 1)[-1]
    reads = [s for s in role_statements(synthesized, "ModelssupportServiceRole") if s["Action"] == "s3:GetObject"]
    (read,) = reads
    assert json.dumps(read["Resource"]).endswith(f'/{asset_key}"]]}}')  # exactly that object, no wildcard
    assert "*" not in json.dumps(read["Resource"])


def test_a_role_given_by_arn_is_used_as_it_is_and_synth_warns_that_it_needs_the_local_dataset(models_file):
    """The asset's key is the file's hash, which the role's owner could not name ahead. A policy the stack added to a
    role named by ARN would be overwritten by another stack's of the same name (aws-cdk-lib's FromRoleArnOptions,
    defaultPolicyName: "the policy created in whichever stack is deployed last overwriting the policies created by
    the others"), as two stages of one file would be: the role is left as it is, and synth says what it needs."""
    models_file.write_text(
        FILE.replace(
            "    removal_policy: retain\n",
            "    removal_policy: retain\n    role: arn:aws:iam::123456789012:role/team-bedrock\n",
            1,
        )
    )
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=models_file)
    policies = [r for r in resources(stack).values() if r["Type"] == "AWS::IAM::Policy"]
    assert [r for r in policies if "team-bedrock" in r["Properties"].get("Roles", [])] == []
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is used as it is"))
    assert [(warning.id, warning.entry.data) for warning in warnings] == [
        (
            "/Stack/Models/support",
            "models.support.role: arn:aws:iam::123456789012:role/team-bedrock is used as it is, so it is not granted "
            "read on the local datasets shipped as file assets (data/support-train.jsonl): grant it s3:GetObject on "
            "the CDK's file assets (the bootstrap bucket), or leave role out for one made with exactly the grants "
            "the job needs [ack: cdk-bedrock-customization:roleNotGrantedLocalDatasets]",
        )
    ]


def test_a_role_given_by_arn_for_data_in_s3_is_not_warned_of(models_file):
    models_file.write_text(
        FILE.replace(
            "    completion: polling\n", "    completion: polling\n    role: arn:aws:iam::123456789012:role/r\n"
        ).replace("data/support-train.jsonl", "s3://my-bucket/support/train.jsonl")
    )
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=models_file)
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is used as it is")) == []


def test_a_bad_file_stops_the_synth_with_its_lines(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        textwrap.dedent("""\
        models:
          support:
            base_model: amazon.nova-micro-v1:0:128k
            training_data: missing.jsonl
            output_data: s3://my-bucket/output/
        """)
    )
    with pytest.raises(
        ModelsFileError, match=rf"{path}:4:20: models.support.training_data: 'missing.jsonl' is neither"
    ):
        ModelsFromFile(new_stack(), "Models", path=path)


# Issue 15: whatever the file holds, a bad file stops the synth with one error that lists the command's lines.
BAD_FILES = {
    "stage-adds-an-incomplete-entry": (GOOD + "    deployments:\n      prod-only: {description: x}\n", "prod"),
    "stage-names-a-missing-model": (GOOD + "    deployments:\n      support-on-demand: {model: suport}\n", "prod"),
    "date-key": (GOOD.replace("  support-on-demand:", "  2024-06-01:"), None),
    "list-key": (GOOD.replace("  support-on-demand:", "  [a, b]:"), None),
    "mapping-key": (GOOD.replace("  support-on-demand:", "  {a: 1}:"), None),
    "integer-key": (GOOD.replace("  support-on-demand:", "  12:"), None),
    "huge-integer": (GOOD.replace("model_units: 1", "model_units: " + "9" * 4301), None),
    "syntax": ("models: [unclosed\n  b: 1\n", None),
    "aliases": (nested_aliases(7, 10), None),
    "long-value": (
        GOOD.replace("    model: support\n", "    model: support\n    description: " + "d" * 5000 + "\n"),
        None,
    ),
    "two-sources": (
        GOOD.replace("    model_package_arn:", "    source_uri: s3://customer-escrow/nova/\n    model_package_arn:"),
        None,
    ),
    "dangling": (GOOD.replace("    model: support\n", "    model: supprt\n"), None),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_raises_one_error_listing_the_commands_lines(tmp_path, capsys, name):
    text, stage = BAD_FILES[name]
    path = tmp_path / "models.yaml"
    path.write_text(text)
    assert cli.main(["validate", str(path), *(["--stage", stage] if stage else [])]) == 1
    printed = capsys.readouterr().out.splitlines()
    stack = new_stack()
    with pytest.raises(ModelsFileError) as raised:
        ModelsFromFile(stack, "Models", path=path, stage=stage)
    assert str(raised.value).splitlines() == printed
    assert all(LINE.match(line) for line in printed)
    assert Template.from_stack(stack).to_json().get("Resources", {}) == {}  # nothing was created


def test_a_completion_timeout_of_any_allowed_length_builds(models_file):
    """Hours become whole seconds, at least one: 0.0001 hours (0.36 s) is a 1-second wait, not an error."""
    models_file.write_text(FILE.replace("    completion: polling\n", "    completion_timeout_hours: 0.0001\n"))
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=models_file)
    (wait,) = [
        r
        for k, r in resources(stack).items()
        if r["Type"] == "AWS::CloudFormation::WaitCondition" and k.startswith("ModelssupportWaitingForJob")
    ]
    assert wait["Properties"]["Timeout"] == "1"


def test_a_long_chain_of_models_builds_in_order(tmp_path):
    """Each model continues training the one before: ordered without recursion, checked without repeated walks."""
    entries = ["models:", "  m0:", "    base_model: amazon.nova-micro-v1:0:128k"]
    entries += ["    training_data: s3://my-bucket/t.jsonl", "    output_data: s3://my-bucket/o/"]
    entries += ["    completion: polling"]
    for n in range(1, 1200):
        entries += [f"  m{n}:", f"    base_model: m{n - 1}", "    training_data: s3://my-bucket/t.jsonl"]
        entries += ["    output_data: s3://my-bucket/o/", "    completion: polling"]
    path = tmp_path / "models.yaml"
    path.write_text("\n".join(reversed_entries(entries)) + "\n")
    from cdk_bedrock_customization.from_file import _in_dependency_order
    from cdk_bedrock_customization.models_file import ModelsFile

    models = dict(ModelsFile.load(path).entries("models"))
    order = _in_dependency_order(models)
    assert order == [f"m{n}" for n in range(1200)]


def reversed_entries(lines: list[str]) -> list[str]:
    """The models of a models file listed last first (each entry is five lines after the first line)."""
    head, body = lines[:1], lines[1:]
    entries = [body[i : i + 5] for i in range(0, len(body), 5)]
    return head + [line for entry in reversed(entries) for line in entry]


def test_a_model_continuing_another_of_the_file_knows_their_foundation_model(tmp_path):
    """As in Python (CustomModel(base_model=other)): the file's model is given the other model, not only its ARN (a
    token), so its foundation model is known at synth, and a model trained further from it in Python can have its
    local dataset checked against that model's format."""
    path = tmp_path / "models.yaml"
    path.write_text(
        """\
models:
  first:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/first/
  second:
    base_model: first
    customization: continued_pre_training
    training_data: s3://my-bucket/more.jsonl
    output_data: s3://my-bucket/second/
"""
    )
    stack = new_stack()
    built = ModelsFromFile(stack, "Models", path=path)
    assert built.models["second"].foundation_model == "amazon.nova-micro-v1:0:128k"
    CustomModel(
        stack,
        "Further",
        base_model=built.models["second"],
        training_data=S3Data.from_local_file(str(EXAMPLE_DATA / "support-train.jsonl")),
        output_data=S3Data.from_uri("s3://my-bucket/further/"),
    )
    resources(stack)


def test_a_model_continues_training_an_imported_model_of_the_file_by_its_key(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        """\
models:
  continued:
    customization: continued_pre_training
    base_model: nova
    training_data: s3://my-bucket/more.jsonl
    output_data: s3://my-bucket/continued/output/
imported_models:
  nova:
    model_package_arn: arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1
"""
    )
    stack = new_stack()
    built = ModelsFromFile(stack, "Models", path=path)
    template = resources(stack)
    imported_id = stack.get_logical_id(built.models["nova"].resource)
    (job,) = [r for r in template.values() if r["Type"] == "Custom::BedrockModelCustomizationJob"]
    assert job["Properties"]["baseModelIdentifier"] == {"Fn::GetAtt": [imported_id, "modelArn"]}


@pytest.mark.parametrize("bucket", ["bucket..one", "bucket.-one", "bucket-.one", "192.168.1.1"])
def test_a_bucket_name_s3_refuses_is_an_error_at_its_field_before_anything_is_made(tmp_path, bucket):
    """The service model's S3Uri pattern lets these through; aws-cdk-lib refused them mid-synth with no file, line or
    field, and `validate` passed the file. Now both name the field, as for any bad value."""
    path = tmp_path / "models.yaml"
    path.write_text(
        f"""\
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://{bucket}/out/
"""
    )
    with pytest.raises(ModelsFileError, match=rf"{path}:5:18: models.support.output_data: 's3://{bucket}/out/' names"):
        ModelsFromFile(new_stack(), "Models", path=path)
    assert cli.main(["validate", str(path)]) == 1


def test_an_s3_uri_in_free_text_is_not_taken_for_a_bucket(tmp_path):
    """Only the request's S3 URI members (by their shape) are bucket names: a tag value or a hyper-parameter, even one
    named s3Uri, may say anything."""
    path = tmp_path / "models.yaml"
    path.write_text(
        """\
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/out/
    job_tags: {source: "s3://my..old-bucket/x"}
    hyper_parameters: {s3Uri: "s3://10.0.0.1/x"}
"""
    )
    assert cli.main(["validate", str(path)]) == 0


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"[a-z0-9][-.a-z0-9]{1,61}[a-z0-9]", fullmatch=True)
    | st.sampled_from(["1.2.3.4", "1234.1.1.1", "1.2.3.4.5", "a.-b", "a..b"])
)
def test_bucket_names_are_refused_as_aws_cdk_lib_refuses_them(name):
    """The offline check agrees with aws-cdk-lib's Bucket.validate_bucket_name (as Bucket.from_bucket_name calls it:
    legacy names allowed) on every name the service model's S3Uri pattern allows."""
    from aws_cdk import aws_s3 as s3
    from cdk_bedrock_customization._entry_checks import _bucket_name_problems

    try:
        s3.Bucket.validate_bucket_name(name, True)
        refused_by_cdk = False
    except RuntimeError:
        refused_by_cdk = True
    assert bool(list(_bucket_name_problems(contract.shape("S3Uri"), f"s3://{name}/key"))) == refused_by_cdk
