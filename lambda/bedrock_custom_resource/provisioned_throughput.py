"""Custom::BedrockProvisionedModelThroughput: provisioned throughput for a model.

PhysicalResourceId is the provisioned model ARN. UpdateProvisionedModelThroughput can change only the
name and the model (to another custom model of the same base: a move to the base model could never be undone), so
those (and tags) change in place. modelUnits and commitmentDuration cannot
change: a change replaces a throughput without a commitment, and is refused for one with a
commitment, whose term cannot be cancelled (a replacement would buy a second term), unless a throughput of
the new configuration that this logical id made still exists: that one is taken back, and nothing is bought.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from . import contract, lifecycle
from .aws import bedrock_client, listed
from .cr_types import CustomResourceEvent, IsCompleteResponse, OnEventResponse, ThroughputAttributes
from .responses import checked_data

RESOURCE_TYPE = contract.PROVISIONED_THROUGHPUT
THROUGHPUT_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:provisioned-model/\S+")

logger = logging.getLogger(__name__)


class ThroughputFailed(RuntimeError):
    pass


class CommitmentInForce(RuntimeError):
    pass


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.on_event(event, create=_create, update=_update, delete=_advance_delete)


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    throughput_arn = event["PhysicalResourceId"]
    client = bedrock_client()
    if event["RequestType"] == "Delete":
        return {"IsComplete": _advance_delete(throughput_arn)}
    throughput = client.get_provisioned_model_throughput(provisionedModelId=throughput_arn)
    name, status = throughput["provisionedModelName"], throughput["status"]
    if status == "Failed":
        reason = throughput.get("failureMessage") or "Bedrock gave no failure message"
        if event["RequestType"] != "Update" or not lifecycle.MAKES_NOTHING.get()():
            raise ThroughputFailed(f"Provisioned throughput {name} failed: {reason}")
        # Bedrock changes only a throughput in service: a rollback leaves a Failed one as it is (_change_in_place).
        logger.warning("Provisioned throughput %s failed (%s); the rollback leaves it as it is", name, reason)
    else:
        _refuse_a_move_by_another_request(client, event, throughput)
        # desiredModelArn "differs from the modelArn if updating hasn't completed" (GetProvisionedModelThroughput).
        if status != "InService" or throughput["modelArn"] != throughput["desiredModelArn"]:
            logger.info("Provisioned throughput %s is %s", name, status)
            return {"IsComplete": False}
    data: ThroughputAttributes = {
        "provisionedModelArn": throughput["provisionedModelArn"],
        "provisionedModelName": name,
        "modelArn": throughput["modelArn"],
        "modelUnits": str(throughput["modelUnits"]),
        "status": status,
    }
    if throughput.get("commitmentDuration"):
        data["commitmentDuration"] = throughput["commitmentDuration"]
        data["commitmentExpirationTime"] = throughput["commitmentExpirationTime"].isoformat()
    return {"IsComplete": True, "Data": checked_data(event, throughput_arn, data)}


def _refuse_a_move_by_another_request(client: Any, event: CustomResourceEvent, throughput: Mapping[str, Any]) -> None:
    """Changed by another request (a retried earlier update) while this one waited: its model is not this request's.
    A model that no longer exists is not compared (nothing can tell)."""
    wanted = event["ResourceProperties"].get("modelId")
    if isinstance(wanted, str) and _serves(client, wanted, throughput["desiredModelArn"]) is False:
        raise ThroughputFailed(
            f"Provisioned throughput {throughput['provisionedModelName']} was set to serve "
            f"{throughput['desiredModelArn']} by another request while this {event['RequestType']} waited for "
            f"{wanted}: retry it (continue the rollback, or deploy again)"
        )


def _serving(throughput: Mapping[str, Any]) -> str:
    """The model the throughput serves, or is being moved to; once a change failed (Failed), desiredModelArn names a
    model it never came to serve."""
    return str(throughput["modelArn"] if throughput["status"] == "Failed" else throughput["desiredModelArn"])


def _unusable(_client: Any, throughput: Mapping[str, Any]) -> str | None:
    return "failed" if throughput["status"] == "Failed" else None


def _change_in_place(client: Any, throughput: Mapping[str, Any], desired: lifecycle.Desired) -> None:
    """UpdateProvisionedModelThroughput, for what differs from the live throughput (a rollback after a
    failed update finds nothing to change)."""
    changes = {}
    name = desired.request.get("provisionedModelName") or _generated_name(client, desired, throughput)
    if name != throughput["provisionedModelName"]:
        changes["desiredProvisionedModelName"] = name
    model_id = desired.request["modelId"]
    if not _serves(client, model_id, _serving(throughput)):
        _refuse_a_move_bedrock_refuses(client, throughput, model_id)
        changes["desiredModelId"] = model_id
    if changes and throughput["status"] == "Failed" and lifecycle.MAKES_NOTHING.get()():
        # Bedrock changes only a throughput in service: a write would fail the rollback for good.
        logger.warning(
            "Provisioned throughput %s failed; the rollback leaves it as it is, without %s",
            throughput["provisionedModelArn"],
            changes,
        )
        return
    if changes and throughput["status"] in ("Updating", "Creating"):  # one a stack made again takes may be Creating
        being = "created" if throughput["status"] == "Creating" else "changed"
        name_now, serving = throughput["provisionedModelName"], throughput["desiredModelArn"]
        raise lifecycle.ChangeInProgress(KIND.noun, name_now, serving, f"the change {changes}", being)
    if changes:
        arn = throughput["provisionedModelArn"]

        def changed() -> bool:
            live = KIND.get(client, arn)
            if live is None:
                return False
            renamed = live["provisionedModelName"] == name
            moved = "desiredModelId" not in changes or _serves(client, model_id, live["desiredModelArn"]) is True
            return renamed and moved

        lifecycle.update_once(
            lambda: client.update_provisioned_model_throughput(provisionedModelId=arn, **changes), changed
        )
        logger.info("Updating provisioned throughput %s: %s", arn, changes)


def _refuse_a_move_bedrock_refuses(client: Any, throughput: Mapping[str, Any], model_id: str) -> None:
    """UpdateProvisionedModelThroughput moves only a throughput that serves a custom model, and only to its base model
    or another custom model of that base (user guide, prov-thru-edit.html: "You can't change the model for a
    Provisioned Throughput associated with a base model"). Refused here, naming what to do, before anything changes;
    a custom model that is not found is left to Bedrock. A move to the base model is refused too: by the same rule,
    nothing could move it back, so the rollback of the update that moved it would fail for ever."""
    base = throughput["foundationModelArn"]
    if throughput["modelArn"] != base:  # it serves a custom model
        if lifecycle.same_value(model_id, base):
            raise ValueError(
                f"modelId: provisioned throughput {throughput['provisionedModelArn']} serves {throughput['modelArn']}; "
                f"moved to its base model {base}, it could never be moved back (\"You can't change the model for a "
                'Provisioned Throughput associated with a base model", prov-thru-edit.html), so the rollback of this '
                "update could not return it. Nothing was changed: declare a new throughput for the base model (under "
                "another construct id)."
            )
        if CUSTOM_MODEL_NAME.fullmatch(model_id) or ":custom-model/" in model_id:
            target = _get_custom_model(client, model_id)
            if target is None or _same_model(target.get("baseModelArn"), base):  # unknown: left to Bedrock
                return
    raise ValueError(
        f"modelId: provisioned throughput {throughput['provisionedModelArn']} serves {throughput['modelArn']}, and "
        "Bedrock moves a throughput only from a custom model to its base model or to another custom model of that "
        f"base (prov-thru-edit.html), not to {model_id}. Nothing was changed: declare a new throughput for it (under "
        "another construct id) and remove this one."
    )


def _same_model(reported: Any, base: str) -> bool:
    """Whether a custom model's reported base is the throughput's foundation model, or cannot be told apart from it:
    unknown, or the same model id up to its contextual variant (an ARN with ":128k" or without)."""
    if not isinstance(reported, str):
        return True
    return reported.rsplit("/", 1)[-1].split(":")[:2] == base.rsplit("/", 1)[-1].split(":")[:2]


# A custom model's name (CustomModelName, without its backtracking pattern): not in the ARN Bedrock reports.
CUSTOM_MODEL_NAME = re.compile(r"[0-9a-zA-Z_-]+")
_get_custom_model = lifecycle.getter("get_custom_model", "modelIdentifier")


def _serves(client: Any, model_id: str, model_arn: str) -> bool | None:
    """Whether model_id, as a request gives it (an ARN, a foundation model's id or a custom model's name), is the
    model of model_arn; None when it names a custom model that does not exist. A name is looked up."""
    if lifecycle.same_value(model_id, model_arn):
        return True
    if not CUSTOM_MODEL_NAME.fullmatch(model_id):
        return False
    model = _get_custom_model(client, model_id)
    return None if model is None else model["modelArn"] == model_arn


def _generated_name(client: Any, desired: lifecycle.Desired, throughput: Mapping[str, Any]) -> str:
    """The name of a throughput given none: its live name when that is of its generated sequence, else the first name
    of it that no other throughput holds (the rollback of a rename, or a name removed), else its live name."""
    live_name, arn = throughput["provisionedModelName"], throughput["provisionedModelArn"]
    names: list[str] = [
        desired.attempt(number)[KIND.name_member] for number in range(1, lifecycle.MAX_NAME_ATTEMPTS + 1)
    ]
    if live_name in names:
        return str(live_name)
    for name in names:  # an earlier name may hold a failed throughput, which keeps it
        holder = KIND.get(client, name)
        if holder is None or holder["provisionedModelArn"] == arn:
            return name
    return str(live_name)


def _refuse_second_commitment(throughput: Mapping[str, Any], desired: lifecycle.Desired) -> None:
    """A committed throughput cannot be deleted before its term ends: a replacement would be billed beside it until
    then. Once the term has ended, CloudFormation's clean-up deletes it, and a replacement is what was asked for."""
    ends = throughput.get("commitmentExpirationTime")
    if not throughput.get("commitmentDuration") or (isinstance(ends, datetime) and ends <= now()):
        return
    changed = [
        m
        for m in ("modelUnits", "commitmentDuration")
        if not lifecycle.same_value(desired.request.get(m), throughput.get(m))
    ]
    values = ", ".join(f"{m} from {throughput.get(m)!r} to {desired.request.get(m)!r}" for m in changed)
    second = " and a new commitment would buy a second term" if desired.request.get("commitmentDuration") else ""
    raise CommitmentInForce(
        f"Changing {changed} ({values}) needs a new provisioned throughput, but "
        f"{throughput['provisionedModelArn']} has a {throughput['commitmentDuration']} commitment that cannot be "
        f"cancelled before its term ends at {ends}: a replacement would be billed beside it until then{second}. "
        "Only the name, the model and tags of a committed throughput can change while its term runs; to change the "
        "rest, declare a new throughput beside it, or deploy the change once the term has ended."
    )


def _refuse_to_buy_a_term_again(gone: str, old: Mapping[str, Any], desired: lifecycle.Desired) -> None:
    """An update whose committed throughput is gone (deleted outside the stack once its term ended) would buy the same
    term again to make it again: a create buys one (the construct added), as does an update that asks for another
    commitment; an update does not, unasked."""
    commitment = desired.request.get("commitmentDuration")
    if commitment and lifecycle.same_value(commitment, old.get("commitmentDuration")):
        raise CommitmentInForce(
            f"Provisioned throughput {gone} is gone (deleted outside the stack), and making it again would buy a new "
            f"{commitment} commitment term, which this update does not do unasked: nothing was bought. To buy one, "
            "remove the throughput from the stack and deploy, then add it back (or give it another construct id)."
        )


def _refuse_a_second_term_under_a_new_logical_id(client: Any, desired: lifecycle.Desired) -> None:
    """Before a Create buys a committed throughput: this stack's committed throughput of the same model, model units
    and commitment under another logical id, whose term runs and which the stack operation under way has not touched
    (made, or taken back), is most likely this one under a construct id or models-file key that changed: CloudFormation
    would make the new logical id's, then fail to delete the old one, and both terms would be billed. One the operation
    made or took is declared beside this one; a second one on purpose is given a name of its own."""
    commitment = desired.request.get("commitmentDuration")
    if not commitment or desired.request.get("provisionedModelName"):
        return
    held = [
        (throughput, holder)
        for throughput in _candidates(client, desired)
        if (holder := _held(client, throughput, desired))
    ]
    if not held:
        return
    try:
        operation = lifecycle.OPERATION_UNDER_WAY.get()()
    except Exception as error:
        # Unread, a rename would buy a second term: refusing buys nothing, and the message gives the ways out.
        raise CommitmentInForce(
            f"{_ways_out(held[0][1], ' or retry once stack events can be read')} The stack's events, which tell a "
            f"second one declared alike, could not be read: {error}"
        ) from error
    for throughput, logical_id in held:
        made_now = throughput["creationTime"] >= operation.started - lifecycle.CLOCK_TOLERANCE
        if made_now or logical_id in operation.touched:
            continue
        arn, ends = throughput["provisionedModelArn"], throughput["commitmentExpirationTime"]
        stack_name = contract.stack_name(desired.stack_id)
        raise CommitmentInForce(
            f"{_ways_out(logical_id)} An earlier deploy of stack "
            f"{stack_name} made provisioned throughput {arn} of the same model, model units and "
            f"{commitment} commitment, whose term ends at {ends.isoformat()}: {desired.logical_id}, a new logical id, "
            "would buy a second term, and the old one cannot be deleted before its term ends."
        )


def _ways_out(held_logical_id: str, or_else: str = "") -> str:
    """The ways out of a refused committed create (or_else: one more), then the logical id that holds the term. The
    single-function provider's reason keeps the first 200 characters (crhelper's 256, less the note that it was cut),
    and a logical id may have 255: the ways out come before it, and fit in 200."""
    return (
        "Nothing was bought. If renamed, keep the old logical id (override_logical_id, or a models file's old key); "
        f"if a second one, name it (provisioned_model_name){or_else}. The old logical id: {held_logical_id}."
    )


def _held(client: Any, throughput: Mapping[str, Any], desired: lifecycle.Desired) -> str | None:
    """The logical id of a throughput (of the desired model units and commitment) when it is a committed one of this
    stack's name under another logical id, serving the desired model, in its term; else None."""
    ends = throughput.get("commitmentExpirationTime")
    if not isinstance(ends, datetime) or ends <= now() or throughput["status"] == "Failed":
        return None
    if _serves(client, desired.request["modelId"], _serving(throughput)) is not True:
        return None
    return desired.other_logical_id_of_this_stack(lifecycle.current_tags(client, throughput["provisionedModelArn"]))


def _candidates(client: Any, desired: lifecycle.Desired) -> Iterator[dict[str, Any]]:
    """The throughputs of the desired model units and commitment, under any name (a name changes in place, so one
    kept by an earlier stack of this name may have another: a committed one must be taken back, not bought again)."""
    listing = client.list_provisioned_model_throughputs
    for summary in listed(listing, "provisionedModelSummaries", sortBy="CreationTime", sortOrder="Descending"):
        same = all(
            lifecycle.same_value(desired.request.get(member), summary.get(member))
            for member in ("modelUnits", "commitmentDuration")
        )
        throughput = KIND.get(client, summary["provisionedModelArn"]) if same else None
        if throughput is not None:
            yield throughput


KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="provisioned throughput",
    create_operation="create_provisioned_model_throughput",
    arn_member="provisionedModelArn",
    arn_pattern=THROUGHPUT_ARN,
    name_member="provisionedModelName",
    get=lifecycle.getter("get_provisioned_model_throughput", "provisionedModelId"),
    unusable=_unusable,
    reported={"modelUnits": "modelUnits", "commitmentDuration": "commitmentDuration"},
    update_in_place=_change_in_place,
    before_replacing=_refuse_second_commitment,
    before_recreating=_refuse_to_buy_a_term_again,
    before_creating_for_a_new_logical_id=_refuse_a_second_term_under_a_new_logical_id,
    candidates=_candidates,
)


def _create(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.create(KIND, bedrock_client(), event)


def _update(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.update(KIND, bedrock_client(), event)


def _advance_delete(throughput_arn: str) -> bool:
    return lifecycle.retried_when_busy(delete_now, throughput_arn)


def delete_now(throughput_arn: str) -> bool:
    """Delete the throughput: True when nothing is left to wait for (one already gone, or never created), False once
    Bedrock is deleting it. What Bedrock refuses is raised, ConflictException too (one being created or changed)."""
    if not THROUGHPUT_ARN.fullmatch(throughput_arn):
        logger.info("Nothing to delete: %r is not a provisioned throughput ARN", throughput_arn)
        return True
    client = bedrock_client()
    throughput = _get(client, throughput_arn)
    if throughput is None:
        return True
    ends = throughput.get("commitmentExpirationTime")
    in_term = ends is not None and ends > now()
    # A Failed one (failed to be made, or failed a change) is left to Bedrock, which knows whether its term runs.
    if in_term and throughput["status"] != "Failed":
        raise CommitmentInForce(_in_term(throughput, "Bedrock cannot delete it before then, and bills it until then"))
    try:
        client.delete_provisioned_model_throughput(provisionedModelId=throughput_arn)
    except client.exceptions.ResourceNotFoundException:
        return True
    except client.exceptions.ValidationException as refused:
        if not in_term:
            raise
        raise CommitmentInForce(_in_term(throughput, f"Bedrock refused to delete it ({refused})")) from refused
    logger.info("Deleting provisioned throughput %s", throughput_arn)
    return False


def _in_term(throughput: Mapping[str, Any], why: str) -> str:
    """Why a throughput whose commitment term runs is not deleted, and the ways out."""
    return (
        f"Provisioned throughput {throughput['provisionedModelName']} has a {throughput['commitmentDuration']} "
        f"commitment that ends at {throughput['commitmentExpirationTime'].isoformat()}; {why}. Retry the delete after "
        "that time, or leave it out of the stack: retry with --retain-resources, or give it RemovalPolicy.RETAIN "
        "(DeletionPolicy: Retain)."
    )


def now() -> datetime:
    """What a commitment's end is compared with (a rehearsal replaces it with its simulated clock, Bedrock's too)."""
    return datetime.now(UTC)


def _get(client: Any, throughput_arn: str) -> dict[str, Any] | None:
    """The throughput; None when it is gone, or the id is no throughput ARN (a create that never made one)."""
    return KIND.get(client, throughput_arn) if THROUGHPUT_ARN.fullmatch(throughput_arn) else None
