"""The rehearsal's play of the CDK's cross-Region references, in moto's SSM, against the behaviour of aws-cdk-lib's
cross-region-ssm-writer-handler: a value that another Region's stack imports cannot be changed or deleted."""

from __future__ import annotations

import boto3
import pytest
from cdk_bedrock_customization.rehearsal import cross_region_exports

NAME = "/cdk/exports/Serving/Trainingsuseast1FnGetAttRouterCompletedJoboutputModelArn"
MODEL = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
RETRAINED = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/f6e5d4c3b2a1"


@pytest.fixture(autouse=True)
def aws(moto_aws: None) -> None:
    """Every test here runs in moto."""


def writer(value: str) -> dict[str, object]:
    return {"WriterProps": {"region": "us-west-2", "exports": {NAME: value}}}


def reader() -> dict[str, object]:
    return {
        "ReaderProps": {"region": "us-west-2", "prefix": "Serving", "imports": {NAME: f"{{{{resolve:ssm:{NAME}}}}}"}}
    }


def test_the_reader_answers_what_the_writer_put_in_the_importing_region():
    cross_region_exports.apply("Create", cross_region_exports.WRITER, writer(MODEL), None)
    _, values = cross_region_exports.apply("Create", cross_region_exports.READER, reader(), None)
    assert values == {NAME: MODEL}
    parameter = boto3.client("ssm", region_name="us-west-2").get_parameter(Name=NAME)["Parameter"]
    assert parameter["Value"] == MODEL


def test_an_imported_value_cannot_be_changed_or_deleted_until_the_import_is_gone():
    cross_region_exports.apply("Create", cross_region_exports.WRITER, writer(MODEL), None)
    cross_region_exports.apply("Create", cross_region_exports.READER, reader(), None)
    with pytest.raises(
        cross_region_exports.ExportInUse, match=f"Exports cannot be updated: \n{NAME} is in use by stack\\(s\\) Serving"
    ):
        cross_region_exports.apply("Update", cross_region_exports.WRITER, writer(RETRAINED), writer(MODEL))
    with pytest.raises(cross_region_exports.ExportInUse):
        cross_region_exports.apply("Delete", cross_region_exports.WRITER, writer(MODEL), None)
    ssm = boto3.client("ssm", region_name="us-west-2")
    assert ssm.get_parameter(Name=NAME)["Parameter"]["Value"] == MODEL  # unchanged

    cross_region_exports.apply("Delete", cross_region_exports.READER, reader(), None)
    cross_region_exports.apply("Update", cross_region_exports.WRITER, writer(RETRAINED), writer(MODEL))
    assert ssm.get_parameter(Name=NAME)["Parameter"]["Value"] == RETRAINED


def test_an_unchanged_value_is_written_again_without_complaint():
    cross_region_exports.apply("Create", cross_region_exports.WRITER, writer(MODEL), None)
    cross_region_exports.apply("Create", cross_region_exports.READER, reader(), None)
    cross_region_exports.apply("Update", cross_region_exports.WRITER, writer(MODEL), writer(MODEL))
