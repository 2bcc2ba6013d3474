"""The rehearsal's play of the CDK's cross-Region references, in moto's SSM, against aws-cdk-lib's own handlers: the
export writer and reader that aws-cdk-lib writes into a cloud assembly are run in Node.js on a stand-in SSM, and each
step's parameters and tags must be what the rehearsal's play leaves in moto."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization.rehearsal import cross_region_exports
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud

NAME = "/cdk/exports/Serving/Trainingsuseast1FnGetAttRouterCompletedJoboutputModelArn"
MODEL = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
RETRAINED = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/f6e5d4c3b2a1"
REGION = "us-west-2"

# aws-cdk-lib's handlers, with @aws-sdk/client-ssm replaced by an in-memory SSM that keeps parameters and their tags
# (a deleted parameter loses its tags; tagging a missing one fails with InvalidResourceId, as SSM's does). Each step
# is [which, event]; the answer is, after each step, the parameters, their tags, and the handler's Data or error.
HARNESS = r"""
const Module = require("node:module");
const util = require("node:util");
for (const level of ["log", "info", "debug", "warn", "error"]) {
  console[level] = (...args) => process.stderr.write(`${util.format(...args)}\n`);  // stdout is the answer
}
const params = {}, tags = {};
function missing(name) {
  const error = new Error(`${name} not found`);
  error.name = "InvalidResourceId";
  return error;
}
class SSM {
  async putParameter({ Name, Value }) { params[Name] = Value; tags[Name] = tags[Name] || {}; }
  async deleteParameters({ Names }) { for (const name of Names) { delete params[name]; delete tags[name]; } }
  async addTagsToResource({ ResourceId, Tags }) {
    if (!(ResourceId in params)) throw missing(ResourceId);
    for (const tag of Tags) tags[ResourceId][tag.Key] = tag.Value;
  }
  async removeTagsFromResource({ ResourceId, TagKeys }) {
    if (!(ResourceId in params)) throw missing(ResourceId);
    for (const key of TagKeys) delete tags[ResourceId][key];
  }
}
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === "@aws-sdk/client-ssm" ? { SSM } : load.call(this, request, parent, isMain);
};
const [writerDir, readerDir, stepsFile] = process.argv.slice(2);
const handlers = { writer: require(`${writerDir}/index.js`), reader: require(`${readerDir}/index.js`) };
(async () => {
  const states = [];
  for (const [which, event] of JSON.parse(require("node:fs").readFileSync(stepsFile, "utf8"))) {
    let data = null;
    try {
      data = (await handlers[which].handler(event))?.Data ?? null;
    } catch (error) {
      data = { error: error.message };
    }
    states.push({ params: { ...params }, tags: JSON.parse(JSON.stringify(tags)), data });
  }
  process.stdout.write(JSON.stringify(states));
})();
"""


@pytest.fixture(autouse=True)
def aws(moto_aws: None) -> None:
    """Every test here runs in moto."""


def writer(exports: dict[str, str]) -> dict[str, Any]:
    return {"WriterProps": {"region": REGION, "exports": exports}}


def reader(names: list[str], values: dict[str, str]) -> dict[str, Any]:
    """The reader's properties as CloudFormation sends them: each {{resolve:ssm:...}} resolved to the value now."""
    return {"ReaderProps": {"region": REGION, "prefix": "Serving", "imports": {name: values[name] for name in names}}}


def handler_folders(tmp_path: Path) -> tuple[Path, Path]:
    """The writer's and the reader's handler folders in the cloud assembly of two stacks of two Regions, one
    reading a value of the other."""
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    account = "111122223333"
    east = cdk.Stack(
        app, "Training", env=cdk.Environment(account=account, region="us-east-1"), cross_region_references=True
    )
    west = cdk.Stack(app, "Serving", env=cdk.Environment(account=account, region=REGION), cross_region_references=True)
    cdk.CfnOutput(west, "Source", value=s3.Bucket(east, "Data").bucket_arn)
    assembly = app.synth()

    def folder(stack: str, handler_prefix: str) -> Path:
        resources = assembly.get_stack_by_name(stack).template["Resources"]
        (key,) = [r["Properties"]["Code"]["S3Key"] for name, r in resources.items() if name.startswith(handler_prefix)]
        return Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"

    return (
        folder("Training", "CustomCrossRegionExportWriterCustomResourceProviderHandler"),
        folder("Serving", "CustomCrossRegionExportReaderCustomResourceProviderHandler"),
    )


Steps = list[tuple[str, str, dict[str, Any], dict[str, Any] | None]]


def retrained_steps() -> Steps:
    """(which, request type, properties, old properties): a model exported and imported, retrained, another export
    added and imported, the first no longer exported while imported, then both stacks deleted."""
    first = {NAME: MODEL, "/cdk/exports/Serving/Other": "v2"}
    retrained = {NAME: RETRAINED, "/cdk/exports/Serving/Third": "v3"}
    third = {"/cdk/exports/Serving/Third": "v3"}
    values = {NAME: MODEL, "/cdk/exports/Serving/Third": "v3"}  # what SSM holds when each reader step is sent
    return [
        ("writer", "Create", writer(first), None),
        ("reader", "Create", reader([NAME], values), None),
        ("writer", "Update", writer(retrained), writer(first)),
        ("reader", "Update", reader([NAME, "/cdk/exports/Serving/Third"], values), reader([NAME], values)),
        ("writer", "Update", writer(third), writer(retrained)),
        ("reader", "Update", reader(["/cdk/exports/Serving/Third"], values), reader([NAME, *third], values)),
        ("reader", "Delete", reader(["/cdk/exports/Serving/Third"], values), None),
        ("writer", "Delete", writer(third), None),
    ]


def released_steps() -> Steps:
    """A reader update that stops importing a parameter its writer still exports: the import is released."""
    values = {NAME: MODEL, "/cdk/exports/Serving/Other": "v2"}
    return [
        ("writer", "Create", writer(values), None),
        ("reader", "Create", reader(list(values), values), None),
        ("reader", "Update", reader([NAME], values), reader(list(values), values)),
    ]


def played(steps: Steps) -> list[dict[str, Any]]:
    """The rehearsal's play of the steps: after each, moto's parameters and tags, and the attributes answered."""
    ssm = boto3.client("ssm", region_name=REGION)
    states = []
    for which, request_type, properties, old in steps:
        resource_type = cross_region_exports.WRITER if which == "writer" else cross_region_exports.READER
        try:
            _, data = cross_region_exports.apply(request_type, resource_type, properties, old)
            answered: Any = data if which == "reader" and request_type != "Delete" else None
        except ssm.exceptions.InvalidResourceId as error:
            answered = {"error": str(error)}
        parameters = ssm.get_parameters_by_path(Path="/cdk/exports", Recursive=True)["Parameters"]
        states.append(
            {
                "params": {p["Name"]: p["Value"] for p in parameters},
                "tags": {
                    p["Name"]: {
                        t["Key"]: t["Value"]
                        for t in ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"])["TagList"]
                    }
                    for p in parameters
                },
                "data": answered,
            }
        )
    return states


@pytest.mark.parametrize("steps", [retrained_steps(), released_steps()], ids=["retrained", "released"])
def test_the_play_leaves_what_aws_cdk_libs_own_handlers_leave(tmp_path, steps):
    writer_folder, reader_folder = handler_folders(tmp_path)
    steps_file = tmp_path / "steps.json"
    steps_file.write_text(
        json.dumps(
            [
                [which, {"RequestType": t, "ResourceProperties": p, "OldResourceProperties": o}]
                for which, t, p, o in steps
            ]
        )
    )
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    run = subprocess.run(
        ["node", str(harness), str(writer_folder), str(reader_folder), str(steps_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    theirs = json.loads(run.stdout)
    assert all(state["data"] is None or "error" not in state["data"] for state in theirs), theirs
    assert played(steps) == theirs


def test_a_retrained_model_is_not_written_over_its_export_the_importing_stack_keeps_the_first():
    """As aws-cdk-lib's writer does (see the test above): the Region that copies the model reads the first ARN still."""
    cross_region_exports.apply("Create", cross_region_exports.WRITER, writer({NAME: MODEL}), None)
    _, values = cross_region_exports.apply("Create", cross_region_exports.READER, reader([NAME], {NAME: MODEL}), None)
    assert values == {NAME: MODEL}
    cross_region_exports.apply("Update", cross_region_exports.WRITER, writer({NAME: RETRAINED}), writer({NAME: MODEL}))
    ssm = boto3.client("ssm", region_name=REGION)
    assert ssm.get_parameter(Name=NAME)["Parameter"]["Value"] == MODEL


def consumer_of(out: Path, values: int) -> Path:
    """A stack of us-east-1 whose bucket's name (and, with values=2, its ARN) a stack of us-west-2 reads."""
    app = cdk.App(outdir=str(out))
    east = cdk.Environment(account="111122223333", region="us-east-1")
    producer = cdk.Stack(app, "Producer", env=east, cross_region_references=True)
    bucket = s3.Bucket(producer, "Data", removal_policy=cdk.RemovalPolicy.DESTROY)
    west = cdk.Environment(account="111122223333", region=REGION)
    consumer = cdk.Stack(app, "Consumer", env=west, cross_region_references=True)
    cdk.CfnOutput(consumer, "Name", value=bucket.bucket_name)
    if values > 1:
        cdk.CfnOutput(consumer, "Arn", value=bucket.bucket_arn)
    return Path(app.synth().directory)


def test_a_stack_that_reads_one_more_value_keeps_the_values_it_read(tmp_path):
    """aws-cdk-lib's handlers answer no physical id, and their entry point (nodejs-entrypoint) then keeps the
    resource's: an update of the writer or the reader is never a replacement, whose cleanup Delete would delete the
    parameters the stack still reads."""
    with LocalCloud(write=lambda _line: None) as local:
        first = local.deploy(consumer_of(tmp_path / "v1", 1))
        ssm = boto3.client("ssm", region_name=REGION)
        before = {parameter["Name"] for parameter in ssm.describe_parameters()["Parameters"]}
        second = local.deploy(consumer_of(tmp_path / "v2", 2))
        after = {parameter["Name"] for parameter in ssm.describe_parameters()["Parameters"]}
    assert all(outcome.succeeded for outcome in [*first.values(), *second.values()]), second
    assert len(before) == 1 and len(after) == 2 and before < after
