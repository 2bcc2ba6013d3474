"""Stacks in a Stage (a nested cloud assembly, which `cdk deploy '**'` deploys too) and stacks given another name
(stack_name=): the rehearsal deploys them under the CloudFormation stack names the manifest gives them."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomModel, S3Data
from cdk_bedrock_customization.rehearsal.__main__ import rehearse
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud, SharedStackNames, stacks_of


def models_stack(scope: cdk.App | cdk.Stage, construct_id: str, **settings: object) -> None:
    stack = cdk.Stack(scope, construct_id, **settings)  # type: ignore[arg-type]
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "training-data")
    CustomModel(
        stack,
        "Support",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_bucket(bucket, "train.jsonl"),
        output_data=S3Data.from_bucket(bucket, "output/"),
        hyper_parameters={"epochCount": 2},
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def test_a_stages_stacks_and_a_renamed_stack_are_rehearsed_under_their_cloudformation_names(tmp_path):
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    models_stack(app, "TeamModels", stack_name="team-a-models")
    models_stack(cdk.Stage(app, "Prod"), "Models")
    assembly = Path(app.synth().directory)
    assert [stack.name for stack in stacks_of(assembly)] == ["team-a-models", "Prod-Models"]

    lines: list[str] = []
    with LocalCloud(write=lines.append) as local:
        outcomes = local.deploy(assembly)
        assert {name: outcome.succeeded for name, outcome in outcomes.items()} == {
            "team-a-models": True,
            "Prod-Models": True,
        }
        # The handler names a job from its stack's name, as in AWS.
        names = sorted(str(job["jobName"]) for job in local.bedrock.jobs())
        assert [name.split("-Support")[0] for name in names] == ["Prod-Models", "team-a-models"]
        deleted = local.delete()
        assert all(outcome.succeeded for outcome in deleted.values()) and set(deleted) == set(outcomes)


def test_stacks_of_one_name_in_two_regions_are_refused_rather_than_rehearsed_as_one(tmp_path, capsys):
    """CloudFormation keeps a stack name unique per account and Region only; the rehearsal plays one of each, where
    the second stack would update (and empty) the first: it says so, and rehearses nothing."""
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    for construct_id, region in (("East", "us-east-1"), ("West", "us-west-2")):
        env = cdk.Environment(account="111122223333", region=region)
        models_stack(app, construct_id, stack_name="models", env=env)
    assembly = Path(app.synth().directory)
    with pytest.raises(SharedStackNames, match=r"stacks share a name \(models\)"):
        stacks_of(assembly)

    assert rehearse([("create", assembly)], LocalCloud(write=lambda _line: None)) == 1
    assert "give each a name of its own (stack_name=)" in capsys.readouterr().err


@pytest.mark.parametrize("account", ["111122223333", None], ids=["one-environment", "environment-agnostic"])
def test_stacks_of_one_name_in_one_account_and_region_are_refused_as_one_stack_in_aws_too(tmp_path, account):
    """There, CloudFormation's own rule makes them one stack: the message must not say AWS keeps them apart."""
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    for construct_id in ("First", "Second"):
        env = cdk.Environment(account=account, region="us-east-1" if account else None)
        models_stack(app, construct_id, stack_name="models", env=env)
    with pytest.raises(SharedStackNames, match=r"share a name \(models\) in one account and Region") as refusal:
        stacks_of(Path(app.synth().directory))
    assert "AWS keeps them apart" not in str(refusal.value)
