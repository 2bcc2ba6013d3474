"""The handler's AWS clients: one loader of service data for the execution environment, shared by every client,
and a session of its own for each client, which reads the environment of the invocation that makes it; a request
makes one client of each service it calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bedrock_custom_resource import aws, contract, index, responses
from botocore.exceptions import ClientError

from . import resource_kinds as kinds
from .resource_kinds import Stack


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "first",
        "AWS_SECRET_ACCESS_KEY": "first-secret",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return monkeypatch


def test_every_client_reads_the_bundled_model_through_one_loader_whose_paths_do_not_grow(environment):
    first = aws.bedrock_client()
    paths = list(first._loader.search_paths)

    others = [aws.bedrock_client(), aws.cloudformation_client(), aws.s3_client(), aws.bedrock_client()]

    assert all(client._loader is first._loader for client in others)
    assert first._loader.search_paths == paths
    assert paths[0] == str(contract.SERVICE_DATA_PATH)
    assert [client.meta.service_model.service_name for client in others] == [
        "bedrock",
        "cloudformation",
        "s3",
        "bedrock",
    ]


def test_each_client_reads_the_region_endpoint_and_credentials_of_the_environment_it_is_made_in(environment):
    before = aws.bedrock_client()
    environment.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    environment.setenv("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:4599")
    environment.setenv("AWS_ACCESS_KEY_ID", "second")

    after = aws.bedrock_client()

    assert (before.meta.region_name, after.meta.region_name) == ("us-east-1", "eu-west-1")
    assert before.meta.endpoint_url == "https://bedrock.us-east-1.amazonaws.com"
    assert after.meta.endpoint_url == "http://127.0.0.1:4599"
    assert after._request_signer._credentials.access_key == "second"
    assert before._request_signer._credentials.access_key == "first"
    for client in (before, after):
        # botocore keeps max_attempts (retries) as total_max_attempts: the first attempt and 8 retries.
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
        assert client.meta.config.user_agent_extra == "cdk-bedrock-customization"


def test_the_longest_backoff_counted_is_botocores():
    """What a create's time check counts (aws.ONE_CALL_AT_MOST_SECONDS) follows botocore's standard mode."""
    from botocore.retries.standard import ExponentialBackoff

    assert aws.STANDARD_MAX_BACKOFF == ExponentialBackoff._MAX_BACKOFF + ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL


def test_listed_follows_next_token_through_every_page():
    """A List operation answers nextToken while results remain; the next request passes it back (botocore)."""
    pages = {
        None: {"modelSummaries": [{"modelName": "one"}], "nextToken": "t1"},
        "t1": {"modelSummaries": [{"modelName": "two"}], "nextToken": "t2"},
        "t2": {"modelSummaries": [{"modelName": "three"}]},
    }
    requests: list[dict[str, Any]] = []

    def list_call(**request: Any) -> dict[str, Any]:
        requests.append(request)
        return pages[request.get("nextToken")]

    assert [s["modelName"] for s in aws.listed(list_call, "modelSummaries", isOwned=True)] == ["one", "two", "three"]
    assert [(r.get("nextToken"), r["isOwned"]) for r in requests] == [(None, True), ("t1", True), ("t2", True)]


def test_an_error_without_a_message_still_says_what_failed():
    error = ClientError({"Error": {"Code": "InternalServerException", "Message": ""}}, "CreateCustomModel")
    message = aws.error_message(error)
    assert "InternalServerException" in message and "CreateCustomModel" in message


def test_a_long_failure_reason_keeps_the_frameworks_response_within_cloudformations_4096_bytes():
    """CloudFormation takes a custom resource response body of at most 4096 bytes; the Provider framework sends the
    error's message as Reason as it is (provider-framework/runtime/cfn-response), beside Status, the ids and NoEcho,
    each here as long as CloudFormation makes it."""
    body = {
        "Status": "FAILED",
        "Reason": responses.bounded_reason("x" * 20_000),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/" + "s" * 128 + "/" + "0" * 36,
        "RequestId": "0" * 36,
        "PhysicalResourceId": "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefghijkl",
        "LogicalResourceId": "L" * 255,
        "NoEcho": False,
        "Data": {},
    }
    assert len(json.dumps(body).encode()) <= 4096


def test_a_request_makes_one_client_of_each_service_and_the_next_request_its_own(bedrock, monkeypatch):
    """index._run shares a request's clients (a client costs about 14 ms of CPU to make), never a later request's:
    each request reads the environment it is handled in."""
    made: list[str] = []
    new_client = aws._new_client

    def counted(service: str) -> Any:
        made.append(service)
        return new_client(service)

    monkeypatch.setattr(aws, "_new_client", counted)
    stack = Stack.named(bedrock, kinds.JOB)
    properties = kinds.JOB.properties(bedrock)
    created = index.on_event(stack.events.create(properties, "Job"))
    assert "bedrock" in made and len(made) == len(set(made)), made
    first = len(made)
    polled = index.is_complete(stack.events.create(properties, "Job") | created)
    assert polled["IsComplete"] is False  # the job trains
    assert "bedrock" in made[first:] and len(made[first:]) == len(set(made[first:])), made
    assert len(bedrock.calls_to("CreateModelCustomizationJob")) == 1  # each call recorded once
