"""The single-function provider's polling target Input, which EventBridge limits: crhelper writes the request's event
there (json.dumps), with keys of its own. Synth's check (cdk_bedrock_customization.limits) and the provider's refusal
of a request too long to poll count it alike."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_TARGET_INPUT_CHARACTERS = 8192  # botocore's events model: TargetInput, max 8192
MAX_RULE_NAME_CHARACTERS = 64  # an EventBridge rule's Name
# Kept in crhelper's Data between polls, never sent to CloudFormation.
DEADLINE = "cdk-bedrock-customization:deadline"
# What onEvent's Data tells the polls (a made-up id's Delete: the ARN it found, about 300 characters with its key).
ON_EVENT_DATA_CHARACTERS = 300
LONGEST_ARN = "a" * 200  # the physical id's, the polling rule's


def polling_input_length(event: Mapping[str, Any]) -> int:
    """The characters of the polling target Input that crhelper writes for this request's event, at least: without
    OldResourceProperties (the adapter drops them), with crhelper's keys, the physical id and the rule's ARN at their
    longest, and room for onEvent's Data."""
    stored = {key: value for key, value in event.items() if key != "OldResourceProperties"}
    stored.update(
        CrHelperData={"PhysicalResourceId": LONGEST_ARN, DEADLINE: 9_999_999_999.999999},
        CrHelperPoll=True,
        CrHelperRule=LONGEST_ARN,
        CrHelperPermission="p" * MAX_RULE_NAME_CHARACTERS,
    )
    return len(json.dumps(stored)) + ON_EVENT_DATA_CHARACTERS
