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
LONGEST_ARN = "a" * 200  # the function's, the polling rule's, a physical id that is an ARN
# A physical id CloudFormation makes up (a cancelled Create's, which its rollback's Delete carries): the stack's name,
# the logical id and a suffix of 12 or 13 characters, with dashes.
_MADE_UP_ID_EXTRA = 15


def polling_input_length(event: Mapping[str, Any]) -> int:
    """The characters of the polling target Input that crhelper writes for a request of this event's resource, at
    least, whichever request of its life it is (a Create, an Update, the Delete of its rollback): without
    OldResourceProperties (the adapter drops them), with its physical id at its longest (at the top and in crhelper's
    Data, an ARN or an id CloudFormation made up), crhelper's keys, and room for onEvent's Data. So a Create that
    fits has an Update back to its properties that fits too."""
    stack_name = [*str(event.get("StackId", "")).split("/"), ""][1]
    made_up = len(stack_name) + len(str(event.get("LogicalResourceId", ""))) + _MADE_UP_ID_EXTRA
    longest_id = "a" * max(len(LONGEST_ARN), made_up)
    stored = {key: value for key, value in event.items() if key != "OldResourceProperties"}
    stored.update(
        PhysicalResourceId=longest_id,
        CrHelperData={"PhysicalResourceId": longest_id, DEADLINE: 9_999_999_999.999999},
        CrHelperPoll=True,
        CrHelperRule=LONGEST_ARN,
        CrHelperPermission="p" * MAX_RULE_NAME_CHARACTERS,
    )
    return len(json.dumps(stored)) + ON_EVENT_DATA_CHARACTERS
