"""``cdk-bedrock-customization emulate-bedrock``: the Bedrock stand-in served over HTTP, moving on in real time.

Most tests serve it in this process on a clock the test moves (``ManualClock``: no world thread runs; the test
ticks the worlds), and talk to it with real boto3 clients over HTTP, the library's handler included (through
AWS_ENDPOINT_URL_BEDROCK, as a local AWS emulator's functions would). The command itself runs as a process, as a
harness runs it, with ``--job-seconds 0`` and waits bounded by a deadline only.

Expected statuses, events and errors are written from Bedrock's API reference, the EventBridge event the notifier
reads (notifier.EVENT_SOURCE, EVENT_DETAIL_TYPE) and the stand-in's documented rules, not computed here.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from bedrock_custom_resource import contract, index, notifier
from botocore.exceptions import ClientError
from cdk_bedrock_customization import cli
from cdk_bedrock_customization.emulation import bedrock_emulator
from cdk_bedrock_customization.emulation.bedrock_emulator import BedrockEmulator, RealClock, operation_of
from cdk_bedrock_customization.emulation.http_emulator import serving
from cdk_bedrock_customization.emulation.patches import Patches
from moto import mock_aws

from tests.handler.conftest import BASE_MODEL, ROLE_ARN, CloudFormationEvents, fine_tuning_properties
from tests.support.bedrock_emulator import EventBridgeRecorder, client, emulator_process, until

JOB_SECONDS = 60.0
COMMAND = (sys.executable, "-m", "cdk_bedrock_customization.cli", "emulate-bedrock")
S3_SOURCE = {"s3DataSource": {"s3Uri": "s3://model-bucket/llama/"}}


class ManualClock(RealClock):
    """Time moves only when the test says so, and the worlds only when the test ticks them (no thread)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        super().__init__(lambda: self.seconds)

    def spawn(self, target: Any, *args: Any, name: str | None = None) -> Any:
        return None

    def wait(self, ready: Any, timeout: float | None = None) -> bool:
        return True  # there is no world thread to wait for


@dataclass
class Emulator:
    url: str
    emulator: BedrockEmulator
    clock: ManualClock
    events: list[dict[str, Any]] = field(default_factory=list)

    def at(self, seconds: float) -> None:
        """Move time to seconds, and the worlds with it."""
        self.clock.seconds = seconds
        self.emulator.tick()

    def client(self, service: str = "bedrock", region: str = "us-east-1", **config: Any) -> Any:
        return client(service, self.url, region, **config)

    def statuses(self) -> list[str]:
        return [event["detail"]["jobStatus"] for event in self.events]


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator in this process on a ManualClock, each step taking JOB_SECONDS; jobs named *broken* fail.
    Inside mock_aws only so that moto's state is reset afterwards (its stubber ignores 127.0.0.1)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    clock, events = ManualClock(), []
    with mock_aws(), serving(0, JOB_SECONDS, events.append, ["broken"], clock) as (url, emulator):
        yield Emulator(url, emulator, clock, events)


def test_a_fault_of_the_emulator_is_an_internal_server_exception_with_the_models_status(emulated, monkeypatch):
    """botocore's model: InternalServerException is HTTP 500, which the SDKs' standard retry mode retries (a 400 it
    would not)."""
    model = botocore.session.get_session().get_service_model("bedrock")
    expected = model.shape_for("InternalServerException").metadata["error"]["httpStatusCode"]
    assert expected == 500

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(bedrock_emulator, "serve", broken)
    with pytest.raises(ClientError) as caught:
        emulated.client(retries={"mode": "standard", "total_max_attempts": 1}).list_custom_models()
    assert caught.value.response["Error"]["Code"] == "InternalServerException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == expected


def job_request(name: str = "support-job", **overrides: Any) -> dict[str, Any]:
    return {
        "jobName": name,
        "customModelName": f"{name}-model",
        "roleArn": ROLE_ARN,
        "baseModelIdentifier": BASE_MODEL,
        "trainingDataConfig": {"s3Uri": "s3://my-data-bucket/train.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://my-data-bucket/output/"},
        "hyperParameters": {"epochCount": "1"},
        "customModelTags": [{"key": "team", "value": "ml"}],
    } | overrides


def sub_tasks(job: dict[str, Any]) -> dict[str, str]:
    return {name: detail["status"] for name, detail in job["statusDetails"].items()}


def tags(bedrock: Any, arn: str) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in bedrock.list_tags_for_resource(resourceARN=arn)["tags"]}


# --- time, in process -----------------------------------------------------------------------------------


def test_a_job_trains_for_its_seconds_then_makes_its_model_and_emits_each_status(emulated):
    bedrock = emulated.client()
    arn = bedrock.create_model_customization_job(**job_request())["jobArn"]
    emulated.at(0)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert (job["status"], sub_tasks(job)["validationDetails"], sub_tasks(job)["trainingDetails"]) == (
        "InProgress",
        "InProgress",
        "NotStarted",
    )
    emulated.at(30)  # validation takes half the job's seconds
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert (job["status"], sub_tasks(job)["trainingDetails"]) == ("InProgress", "InProgress")
    emulated.at(59.9)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "InProgress"
    assert bedrock.list_custom_models()["modelSummaries"] == []

    emulated.at(60)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Completed"
    model = bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])
    assert (model["modelName"], model["jobArn"]) == ("support-job-model", arn)
    assert tags(bedrock, job["outputModelArn"]) == {"team": "ml"}
    assert emulated.statuses() == ["InProgress", "Completed"]
    completed = emulated.events[-1]
    assert (completed["source"], completed["detail-type"]) == (notifier.EVENT_SOURCE, notifier.EVENT_DETAIL_TYPE)
    assert (completed["resources"], completed["detail"]["jobArn"]) == ([arn], arn)
    assert completed["detail"]["outputModelArn"] == job["outputModelArn"]


def test_a_job_named_to_fail_fails_with_a_message(emulated):
    bedrock = emulated.client()
    arn = bedrock.create_model_customization_job(**job_request("broken-job"))["jobArn"]
    emulated.at(0)
    emulated.at(60)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and job["failureMessage"]
    assert "outputModelArn" not in job
    assert emulated.statuses() == ["InProgress", "Failed"]
    assert emulated.events[-1]["detail"]["failureMessage"] == job["failureMessage"]


def test_a_stopped_job_is_stopping_for_its_seconds(emulated):
    bedrock = emulated.client()
    arn = bedrock.create_model_customization_job(**job_request())["jobArn"]
    emulated.at(0)
    emulated.at(10)
    bedrock.stop_model_customization_job(jobIdentifier=arn)
    emulated.at(10)
    emulated.at(69)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopping"
    emulated.at(70)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopped"
    assert emulated.statuses() == ["InProgress", "Stopping", "Stopped"]


def test_imports_deployments_and_throughput_come_up_after_their_seconds(emulated):
    bedrock = emulated.client()
    model_arn = bedrock.create_custom_model(modelName="imported", modelSourceConfig=S3_SOURCE, roleArn=ROLE_ARN)[
        "modelArn"
    ]
    import_arn = bedrock.create_model_import_job(
        jobName="import-job", importedModelName="llama", roleArn=ROLE_ARN, modelDataSource=S3_SOURCE
    )["jobArn"]
    emulated.at(0)
    assert bedrock.get_custom_model(modelIdentifier=model_arn)["modelStatus"] == "Creating"
    assert bedrock.get_model_import_job(jobIdentifier=import_arn)["status"] == "InProgress"
    emulated.at(60)
    assert bedrock.get_custom_model(modelIdentifier=model_arn)["modelStatus"] == "Active"
    imported = bedrock.get_model_import_job(jobIdentifier=import_arn)
    assert imported["status"] == "Completed"
    assert bedrock.get_imported_model(modelIdentifier=imported["importedModelArn"])["modelName"] == "llama"

    deployment = bedrock.create_custom_model_deployment(modelDeploymentName="serve", modelArn=model_arn)
    throughput = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="units", modelId=model_arn
    )
    emulated.at(60)
    deployment_arn, throughput_arn = deployment["customModelDeploymentArn"], throughput["provisionedModelArn"]
    assert bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment_arn)["status"] == "Creating"
    assert bedrock.get_provisioned_model_throughput(provisionedModelId=throughput_arn)["status"] == "Creating"
    emulated.at(120)
    assert bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment_arn)["status"] == "Active"
    assert bedrock.get_provisioned_model_throughput(provisionedModelId=throughput_arn)["status"] == "InService"
    # botocore's model: UpdateProvisionedModelThroughput is a PATCH (the library's rename of a throughput).
    assert contract.service_model().operation_model("UpdateProvisionedModelThroughput").http["method"] == "PATCH"
    bedrock.update_provisioned_model_throughput(provisionedModelId=throughput_arn, desiredProvisionedModelName="new")
    emulated.at(180)
    assert bedrock.get_provisioned_model_throughput(provisionedModelId=throughput_arn)["provisionedModelName"] == "new"
    assert emulated.events == []  # Bedrock emits state change events for customization jobs only


def test_a_copy_job_makes_its_model_in_its_own_region(emulated):
    east, west = emulated.client(), emulated.client(region="us-west-2")
    job_arn = east.create_model_customization_job(**job_request())["jobArn"]
    emulated.at(0)
    emulated.at(60)
    source = east.get_model_customization_job(jobIdentifier=job_arn)["outputModelArn"]
    copy_arn = west.create_model_copy_job(sourceModelArn=source, targetModelName="west-copy")["jobArn"]
    emulated.at(60)
    assert west.get_model_copy_job(jobArn=copy_arn)["status"] == "InProgress"
    emulated.at(120)
    copied = west.get_model_copy_job(jobArn=copy_arn)
    assert copied["status"] == "Completed"
    assert copied["targetModelArn"].startswith("arn:aws:bedrock:us-west-2:")
    assert west.get_custom_model(modelIdentifier=copied["targetModelArn"])["modelName"] == "west-copy"
    assert [model["modelName"] for model in east.list_custom_models()["modelSummaries"]] == ["support-job-model"]


def test_an_evaluation_job_reads_and_writes_the_emulators_own_s3(emulated):
    s3 = emulated.client("s3")
    s3.create_bucket(Bucket="eval-bucket")
    s3.put_object(Bucket="eval-bucket", Key="qa.jsonl", Body=b'{"prompt": "Say hello", "referenceResponse": "Hi"}\n')
    bedrock = emulated.client()
    dataset = {"name": "qa", "datasetLocation": {"s3Uri": "s3://eval-bucket/qa.jsonl"}}
    arn = bedrock.create_evaluation_job(
        jobName="eval-one",
        roleArn=ROLE_ARN,
        evaluationConfig={
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": "QuestionAndAnswer", "dataset": dataset, "metricNames": ["Builtin.Accuracy"]}
                ]
            }
        },
        inferenceConfig={"models": [{"bedrockModel": {"modelIdentifier": "amazon.nova-micro-v1:0"}}]},
        outputDataConfig={"s3Uri": "s3://eval-bucket/results/"},
    )["jobArn"]
    emulated.at(0)
    emulated.at(60)
    assert bedrock.get_evaluation_job(jobIdentifier=arn)["status"] == "Completed"
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="eval-bucket", Prefix="results/eval-one/")["Contents"]]
    assert [key for key in keys if key.endswith("_output.jsonl")], keys


# --- the stand-in's rules, over HTTP --------------------------------------------------------------------


def test_a_repeated_client_request_token_returns_what_it_made_and_makes_nothing(emulated):
    bedrock = emulated.client()
    first = bedrock.create_model_customization_job(**job_request(clientRequestToken="token-1"))["jobArn"]
    again = bedrock.create_model_customization_job(**job_request(clientRequestToken="token-1"))["jobArn"]
    assert again == first
    assert len(bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]) == 1
    model_arn = bedrock.create_custom_model(modelName="imported", modelSourceConfig=S3_SOURCE, roleArn=ROLE_ARN)[
        "modelArn"
    ]
    emulated.at(0)
    emulated.at(60)
    deployments = [
        bedrock.create_custom_model_deployment(modelDeploymentName="serve", modelArn=model_arn, clientRequestToken="t")
        for _ in range(2)
    ]
    assert deployments[0]["customModelDeploymentArn"] == deployments[1]["customModelDeploymentArn"]


def test_a_second_concurrent_import_job_exceeds_the_quota(emulated):
    bedrock = emulated.client()
    bedrock.create_model_import_job(jobName="one", importedModelName="one", roleArn=ROLE_ARN, modelDataSource=S3_SOURCE)
    with pytest.raises(ClientError) as refused:
        bedrock.create_model_import_job(
            jobName="two", importedModelName="two", roleArn=ROLE_ARN, modelDataSource=S3_SOURCE
        )
    assert refused.value.response["Error"]["Code"] == "ServiceQuotaExceededException"


def test_a_request_is_validated_as_the_stand_in_validates_it(emulated):
    """botocore's own checks are off, so that the request reaches the emulator as it is."""
    bedrock = emulated.client(parameter_validation=False)
    with pytest.raises(ClientError) as refused:
        bedrock.create_custom_model_deployment(modelDeploymentName="not a name!", modelArn="not-an-arn")
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "'modelDeploymentName'" in error["Message"] and "'modelArn'" in error["Message"]
    with pytest.raises(ClientError) as missing:
        bedrock.get_model_customization_job(jobIdentifier="no-such-job")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_tags_are_added_read_and_removed(emulated):
    bedrock = emulated.client()
    arn = bedrock.create_model_customization_job(**job_request(jobTags=[{"key": "a", "value": "1"}]))["jobArn"]
    bedrock.tag_resource(resourceARN=arn, tags=[{"key": "b", "value": "2"}])
    assert tags(bedrock, arn) == {"a": "1", "b": "2"}
    bedrock.untag_resource(resourceARN=arn, tagKeys=["a"])
    assert tags(bedrock, arn) == {"b": "2"}


def test_an_unsigned_request_and_an_unknown_path_are_refused(emulated):
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{emulated.url}/custom-models", timeout=30)
    assert unsigned.value.code == 403
    bedrock = emulated.client()
    with pytest.raises(ClientError) as unknown:
        bedrock.meta.events.register("before-sign.bedrock.ListCustomModels", _to_unknown_path)
        bedrock.list_custom_models()
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_missing_custom_model_or_job_is_not_found_with_the_models_status(emulated):
    """botocore's model: ResourceNotFoundException is HTTP 404, for the operations moto answers too (moto's is 400)."""
    model = botocore.session.get_session().get_service_model("bedrock")
    expected = model.shape_for("ResourceNotFoundException").metadata["error"]["httpStatusCode"]
    assert expected == 404
    bedrock = emulated.client()
    model_arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0/abcdefghijkl"
    for call in (
        lambda: bedrock.get_custom_model(modelIdentifier=model_arn),
        lambda: bedrock.delete_custom_model(modelIdentifier=model_arn),
        lambda: bedrock.get_model_customization_job(jobIdentifier="no-such-job"),
    ):
        with pytest.raises(ClientError) as missing:
            call()
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == expected


def test_a_head_answers_the_length_a_get_would(emulated):
    """RFC 9110 8.6: a HEAD's Content-Length, if sent, is the length a GET would send; botocore's HeadObject
    ContentLength is that header."""
    s3 = emulated.client("s3")
    s3.create_bucket(Bucket="head-bucket")
    s3.put_object(Bucket="head-bucket", Key="ten", Body=b"0123456789")
    assert s3.head_object(Bucket="head-bucket", Key="ten")["ContentLength"] == 10
    assert s3.get_object(Bucket="head-bucket", Key="ten")["Body"].read() == b"0123456789"  # the connection goes on


def test_serving_patches_moto_only_while_it_serves():
    """The stand-in's compensations patch moto's classes in this process while it serves; afterwards moto, for
    every other user of the process, is moto's own."""
    from moto.bedrock.exceptions import ResourceNotFoundException
    from moto.bedrock.models import BedrockBackend
    from moto.core.botocore_stubber import BotocoreStubber

    def moto_as_it_is() -> tuple[Any, ...]:
        return (
            BotocoreStubber.__call__,
            BedrockBackend._list_arns,
            BedrockBackend.tag_resource,
            ResourceNotFoundException.code,
        )

    before = moto_as_it_is()
    with serving(0, JOB_SECONDS):
        during = moto_as_it_is()
    assert [a == b for a, b in zip(before, during, strict=True)] == [False] * 4
    assert moto_as_it_is() == before


def test_a_compensation_of_a_moto_attribute_that_is_gone_fails_loudly():
    """unittest.mock's patch.object refuses a missing attribute (create=False): a compensation of a moto method
    renamed in a later release must fail, not add an attribute nothing calls."""

    class Moto:
        kept = "moto's"

    patches = Patches()
    try:
        with pytest.raises(AttributeError):
            patches.setattr(Moto, "renamed", "the compensation")
        patches.setattr(Moto, "kept", "the compensation")
        assert Moto.kept == "the compensation"
    finally:
        patches.undo()
    assert not hasattr(Moto, "renamed") and Moto.kept == "moto's"


def test_every_operation_of_the_service_model_is_told_by_its_method_and_path():
    """Labels filled with a percent-encoded ARN, as botocore writes one into a path."""
    model = contract.service_model()
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = re.sub(r"\{[^}]+\}", "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ax%2Fy", http["requestUri"])
        assert operation_of(http["method"], f"https://bedrock.us-east-1.amazonaws.com{path}") == name, path


def test_a_chunked_body_is_refused_with_411(emulated):
    """botocore sends a Content-Length; a chunked body is not read, and the connection closes.

    The request goes out in one write: sent as http.client sends it (the headers, then each chunk), a chunk that
    arrives after the server closed fails the client's write with EPIPE, sooner or later depending on how busy the
    machine is."""
    netloc = urlsplit(emulated.url).netloc
    request = (
        f"POST /custom-models/create-custom-model HTTP/1.1\r\nHost: {netloc}\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    host, port = netloc.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request.encode())
        response = http.client.HTTPResponse(connection)
        response.begin()
        assert (response.status, response.getheader("Connection")) == (411, "close")


def _to_unknown_path(request: Any, **_kwargs: Any) -> None:
    request.url = request.url.replace("/custom-models", "/no-such-resources")


def test_the_handler_deploys_a_job_through_aws_endpoint_url_bedrock(emulated, monkeypatch):
    """The library's own function, its client pointed here as a local AWS emulator points it."""
    for name, value in {
        "AWS_ENDPOINT_URL_BEDROCK": emulated.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    events = CloudFormationEvents()
    create = events.create(fine_tuning_properties())
    physical_id = index.on_event(create)["PhysicalResourceId"]
    emulated.at(0)
    assert index.is_complete({**create, "PhysicalResourceId": physical_id})["IsComplete"] is False
    emulated.at(60)
    done = index.is_complete({**create, "PhysicalResourceId": physical_id})
    assert done["IsComplete"] is True
    bedrock = emulated.client()
    assert bedrock.get_custom_model(modelIdentifier=done["Data"]["outputModelArn"])["jobArn"] == physical_id
    index.on_event(events.delete(physical_id))
    assert bedrock.list_custom_models()["modelSummaries"] == []


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_prints_its_url_serves_emits_and_stops_on_sigterm():
    with (
        EventBridgeRecorder() as events,
        emulator_process(COMMAND, "--port", "0", "--job-seconds", "0", "--events-endpoint", events.url) as emulator,
    ):
        bedrock = client("bedrock", emulator.url)
        assert bedrock.list_custom_models()["modelSummaries"] == []
        arn = bedrock.create_model_customization_job(**job_request())["jobArn"]
        job = until(
            lambda: (
                (found := bedrock.get_model_customization_job(jobIdentifier=arn))["status"] == "Completed" and found
            ),
            "the job to complete",
        )
        assert bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])["modelName"] == "support-job-model"
        until(lambda: [d for d in events.details() if d["jobStatus"] == "Completed"], "the Completed event")
        assert emulator.stop(signal.SIGTERM) == 0
        stderr = emulator.stderr()
    # Its docstring: what the world does is logged to stderr (and nothing else is).
    assert re.search(r"^emulate-bedrock: .*\bsupport-job\b.*\bCompleted\b", stderr, re.MULTILINE), stderr
    assert all(line.startswith("emulate-bedrock: ") for line in stderr.splitlines()), stderr
    assert set(events.targets) == {"AWSEvents.PutEvents"}
    (entry,) = [e for e in events.entries if json.loads(e["Detail"])["jobStatus"] == "Completed"]
    assert (entry["Source"], entry["DetailType"], entry["Resources"]) == (
        notifier.EVENT_SOURCE,
        notifier.EVENT_DETAIL_TYPE,
        [arn],
    )
    assert json.loads(entry["Detail"])["outputModelArn"] == job["outputModelArn"]


def test_the_command_stops_on_sigint():
    with emulator_process(COMMAND, "--port", "0") as emulator:
        assert client("bedrock", emulator.url).list_custom_models()["modelSummaries"] == []
        assert emulator.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("refuse", [False, True], ids=["unreachable", "refused"])
def test_an_event_that_cannot_be_delivered_is_logged_and_the_job_goes_on(refuse):
    with contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(EventBridgeRecorder(refuse=True)).url if refuse else _nothing_listens()
        emulator = stack.enter_context(emulator_process(COMMAND, "--job-seconds", "0", "--events-endpoint", endpoint))
        bedrock = client("bedrock", emulator.url)
        arn = bedrock.create_model_customization_job(**job_request())["jobArn"]
        until(
            lambda: bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Completed",
            "the job to complete",
        )
        assert emulator.stop() == 0  # after delivering (or failing to deliver) what was emitted
        stderr = emulator.stderr()
    warning = "refused the Model Customization Job State Change event" if refuse else "could not put the Model"
    assert warning in stderr and endpoint in stderr, stderr


def _nothing_listens() -> str:
    """The URL of a local port that was free a moment ago, and that nothing listens on."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{free.getsockname()[1]}"


def test_a_port_in_use_is_refused_with_exit_code_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run([*COMMAND, "--port", port], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["emulate-bedrock", "rehearse"])
def test_without_moto_it_says_which_extra_to_install(command):
    """Bad usage (exit 2), not a success a CI step would pass on without rehearsing anything."""
    code = "import sys; sys.modules['moto'] = None; from cdk_bedrock_customization.cli import main; "
    code += f"sys.exit(main([{command!r}]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "pip install 'cdk-bedrock-customization[rehearse]'" in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "70000"),
        ("--port", "-1"),
        ("--port", "http"),
        ("--job-seconds", "-1"),
        ("--job-seconds", "nan"),
        ("--job-seconds", "soon"),
        ("--events-endpoint", "ftp://events.local"),
        ("--events-endpoint", "events.local:4566"),
    ],
)
def test_a_bad_option_is_refused_naming_it_and_its_value(option, value, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["emulate-bedrock", f"{option}={value}"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}:" in error and repr(value) in error, error
