"""Helpers of the local deployment tests: where the apps are, and what crhelper leaves in moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from cdk_bedrock_customization.rehearsal.cloud import REGION, LocalCloud

REPO = Path(__file__).resolve().parents[2]
APP_UNDER_TEST = Path(__file__).with_name("app_under_test.py")
# The app under test on the single-function provider: two models, polled, deleted with the stack.
SINGLE_FUNCTION = {"provider": "single_function", "completion": "polling", "removal": "destroy", "models": 2}
# A polled job with a one-month committed throughput on its model: its model units cannot change.
COMMITTED = {"completion": "polling", "removal": "destroy", "committed_units": 1}


def cloud(lines: list[str], **settings: Any) -> LocalCloud:
    """A local cloud that writes its report to lines; settings as LocalCloud's."""
    return LocalCloud(write=lines.append, **settings)


def assert_the_failing_job_fails_the_deploy(local: LocalCloud, assembly: Path) -> None:
    """The assembly's one stack fails to deploy, for the job that Timings.failing_jobs fails (with Timings'
    default failure message)."""
    (outcome,) = local.deploy(assembly).values()
    assert not outcome.succeeded
    assert "Training data row 12 is not valid JSON" in outcome.reason


def assert_retried_creates_found_their_jobs(local: LocalCloud, jobs: int) -> None:
    """Every job's Create was retried: the retries found the jobs by their names (two reads by name per job) and
    created nothing (one CreateModelCustomizationJob call per job)."""
    assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == jobs
    by_name = [c for c in local.bedrock.calls_to("GetModelCustomizationJob") if ":" not in c["jobIdentifier"]]
    assert len(by_name) == 2 * jobs
    assert len(local.bedrock.jobs()) == jobs


def crhelper_leftovers(local: LocalCloud) -> list[str]:
    """The EventBridge rules and targets, and the Lambda permissions, in moto: crhelper's polling setup,
    which it must remove once a request is answered."""
    events = boto3.client("events", region_name=REGION)
    functions = boto3.client("lambda", region_name=REGION)
    with local.world.lock:  # as every in-process function call holds it
        rules = [rule["Name"] for rule in events.list_rules()["Rules"]]
        found = [f"rule {rule}" for rule in rules]
        for rule in rules:
            found += [f"target {t['Arn']} of {rule}" for t in events.list_targets_by_rule(Rule=rule)["Targets"]]
        for function in functions.list_functions()["Functions"]:
            try:
                policy = json.loads(functions.get_policy(FunctionName=function["FunctionName"])["Policy"])
            except functions.exceptions.ResourceNotFoundException:
                continue
            found += [f"permission {s['Sid']} on {function['FunctionName']}" for s in policy["Statement"]]
    return found
