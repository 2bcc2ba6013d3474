"""Rehearsals of a model's identity through CloudFormation's whole contract, rollbacks included (DESIGN.md,
fact 10): a refused update and its rollback, a replacement undone by a later failure, a redeploy after RETAIN."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal import stack_operation
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud

pytestmark = pytest.mark.slow

STACK = "RehearsalUnderTest"
# What a rollback must never do: start, stop, delete or buy anything.
WRITES = ("Create", "Stop", "Delete", "Update")
# Jobs end within the hour that polling waits.
TIMINGS = Timings(job_minutes=30)


def writes_since(local: LocalCloud, mark: int) -> list[str]:
    return [call.operation for call in local.bedrock.calls[mark:] if call.operation.startswith(WRITES)]


def deploy(local: LocalCloud, assembly: Any) -> Any:
    (outcome,) = local.deploy(assembly).values()
    return outcome


def test_a_refused_update_rolls_back_without_touching_bedrock(assemblies):
    """Model units of a committed throughput cannot change: the update is refused, and its rollback (an Update
    back to the previous properties, with the refused ones as old) writes nothing."""
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        created = deploy(local, assemblies["committed"])
        assert created.succeeded, created.reason
        mark = len(local.bedrock.calls)

        refused = deploy(local, assemblies["committed-more-units"])

        assert not refused.succeeded
        assert "commitment that cannot be cancelled" in refused.reason
        assert refused.status == "UPDATE_ROLLBACK_COMPLETE"
        assert any(lid.startswith("Model0Throughput0") for lid in refused.rolled_back)
        assert writes_since(local, mark) == []
        (throughput,) = local.bedrock.throughputs()
        assert throughput["modelUnits"] == 1


def test_a_replacement_undone_by_a_later_failure_returns_to_the_trained_model(assemblies):
    """The job is replaced (a new job trains), then the committed throughput refuses its new model units: the
    rollback returns the job resource to the first job's model instead of training a third time, and the
    cleanup deletes the second job's model (DESTROY)."""
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        created = deploy(local, assemblies["committed"])
        assert created.succeeded, created.reason
        first_model = created.outputs["Model0Arn"]

        failed = deploy(local, assemblies["committed-retrained-more-units"])

        assert not failed.succeeded and failed.status == "UPDATE_ROLLBACK_COMPLETE"
        jobs = local.bedrock.jobs()
        assert len(jobs) == 2  # one per configuration: the first, and the replacement; none in the rollback
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 2
        assert local.stacks[STACK].outputs()["Model0Arn"] == first_model
        assert [model["modelArn"] for model in local.bedrock.models()] == [first_model]
        (throughput,) = local.bedrock.throughputs()
        assert (throughput["modelArn"], throughput["modelUnits"]) == (first_model, 1)

        # And the stack still deletes cleanly once the commitment term has ended: nothing of the rollback is left.
        local.bedrock.expire_commitment(throughput["provisionedModelArn"])
        assert all(outcome.succeeded for outcome in local.delete().values())
        assert local.bedrock.throughputs() == [] and local.bedrock.models() == []


@pytest.mark.parametrize("resolved_again", [False, True], ids=["previous-properties", "resolved-again"])
def test_a_replacement_undone_when_the_first_model_is_gone_makes_nothing_and_the_rollback_completes(
    assemblies, monkeypatch, resolved_again
):
    """The first job's model was deleted outside the stack; the job is replaced, the new job completes and its
    model is read, then a later resource fails. The rollback trains nothing (the job it returns to has no model),
    what reads the job takes that it holds nothing, the rollback completes, and the second job's model is deleted
    (DESTROY). Whether CloudFormation sends the reader its previous properties (the first job's ARN, which it reads
    again) or resolves them again (the rollback's id of nothing, whose reader makes nothing) is not documented:
    both complete."""
    monkeypatch.setattr(stack_operation, "ROLLBACK_RESOLVES_AGAIN", resolved_again)
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        created = deploy(local, assemblies["event-driven"])
        assert created.succeeded, created.reason
        first_model = created.outputs["Model0Arn"]
        local.bedrock.client().delete_custom_model(modelIdentifier=first_model)

        failed = deploy(local, assemblies["event-driven-retrained-failing-late"])

        assert not failed.succeeded and failed.status == "UPDATE_ROLLBACK_COMPLETE", (failed.status, failed.reason)
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 2
        assert local.bedrock.models() == []
        held = local.stacks[STACK].outputs()["Model0Arn"]
        assert held.startswith("nothing-made:") if resolved_again else held == first_model


def test_switching_the_provider_kind_of_a_deployed_stack_is_refused_as_cloudformation_refuses_it(assemblies):
    """Each model's ServiceToken is its provider's function: another kind changes it, and CloudFormation does not
    update a custom resource's ServiceToken. The update fails before any request, and rolls back untouched."""
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        created = deploy(local, assemblies["polling"])
        assert created.succeeded, created.reason
        mark = len(local.bedrock.calls)

        switched = deploy(local, assemblies["polling-single-function"])

        assert not switched.succeeded and switched.status == "UPDATE_ROLLBACK_COMPLETE", switched.status
        assert switched.reason.endswith("Modifying service token is not allowed.")
        assert writes_since(local, mark) == []
        assert local.stacks[STACK].outputs() == created.outputs


def test_models_moved_to_another_provider_kind_by_removing_and_adding_them_back_are_adopted(assemblies):
    """What the README says to do instead: remove the models (RETAIN keeps them), then add them back on the other
    kind; each adopts what its logical id left, training nothing."""
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        created = deploy(local, assemblies["polling-retain"])
        assert created.succeeded, created.reason
        removed = deploy(local, assemblies["polling-retain-removed"])
        assert removed.succeeded, removed.reason
        mark = len(local.bedrock.calls)

        moved = deploy(local, assemblies["polling-retain-single-function"])

        assert moved.succeeded, moved.reason
        assert moved.outputs == created.outputs
        assert [operation for operation in writes_since(local, mark) if operation.startswith("Create")] == []
        assert len(local.bedrock.jobs()) == 1


def test_deleting_with_retain_and_deploying_again_adopts_the_trained_model(assemblies):
    """The models' data is in a bucket the stack does not own (a bucket of the stack, retained, would not be
    the one a new stack makes: CloudFormation gives that a new name, and the jobs a new configuration).

    The adopted jobs completed long ago and emit no event: their wait conditions are signalled as they start
    (CloudFormation's Resource Status Change event), well before the notifier's hourly backstop."""
    with LocalCloud(write=lambda _line: None, timings=Timings(job_minutes=120)) as local:
        created = deploy(local, assemblies["two-destroyable"])
        assert created.succeeded, created.reason
        first_stack_id = local.stacks[STACK].env.stack_id
        assert all(outcome.succeeded for outcome in local.delete().values())
        assert len(local.bedrock.models()) == 2  # RETAIN on delete
        mark, started = len(local.bedrock.calls), local.clock.now()

        again = deploy(local, assemblies["two-destroyable"])

        assert again.succeeded, again.reason
        assert again.outputs == created.outputs  # the same outputModelArns
        assert writes_since(local, mark) == []
        assert len(local.bedrock.jobs()) == 2
        # A stack created again has a stack id of its own; the adopted jobs now carry it (the notifier's grants).
        stack_id = local.stacks[STACK].env.stack_id
        assert stack_id != first_stack_id
        tags = [local.bedrock.all_tags(job["jobArn"]) for job in local.bedrock.jobs()]
        assert [job_tags["cdk-bedrock-customization:stack"] for job_tags in tags] == [stack_id, stack_id]
        assert local.clock.now() - started < 15 * 60  # simulated seconds; the backstop runs after 3600


@pytest.mark.parametrize("failing", ["two-destroyable-failing", "two-destroy-failing"])
def test_the_rollback_of_a_redeploy_that_adopted_the_retained_models_keeps_them(assemblies, failing):
    """The stack is deployed again after a delete that retained its models, adopts them, and fails: CloudFormation's
    rollback deletes what the failed create took (RetainExceptOnCreate and Delete alike), but these models existed
    before it, so they stay. The stack deployed once more, a third stack of that name, takes them too: each stack
    draws its service roles' names anew, and a job adopted with another role keeps what it makes (its configuration
    without its role), which the third asks for."""
    with LocalCloud(write=lambda _line: None, timings=Timings(job_minutes=120)) as local:
        created = deploy(local, assemblies["two-destroyable"])
        assert created.succeeded, created.reason
        assert all(outcome.succeeded for outcome in local.delete().values())
        retained = sorted(model["modelArn"] for model in local.bedrock.models())
        assert len(retained) == 2
        mark = len(local.bedrock.calls)

        failed = deploy(local, assemblies[failing])

        assert not failed.succeeded and failed.status == "ROLLBACK_COMPLETE", failed.status
        assert writes_since(local, mark) == []  # no job started, stopped or deleted; no model deleted
        assert sorted(model["modelArn"] for model in local.bedrock.models()) == retained

        assert all(outcome.succeeded for outcome in local.delete().values())  # the rolled-back stack's delete
        mark = len(local.bedrock.calls)
        again = deploy(local, assemblies["two-destroyable"])
        assert again.succeeded, again.reason
        assert again.outputs == created.outputs
        assert [write for write in writes_since(local, mark) if write.startswith("Create")] == []


def test_a_job_changed_by_a_parameter_is_not_replaced_behind_its_wait_condition(assemblies):
    """The second template differs from the first only in the default of the parameter that gives the job's
    epochCount: the job's properties (a Ref) and so its wait condition's key are the same. Replacing the job
    would leave that wait condition, which waits only when created, behind: the update is refused before any
    job starts, and the rollback writes nothing."""
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        created = deploy(local, assemblies["epochs-parameter"])
        assert created.succeeded, created.reason
        first_model = created.outputs["Model0Arn"]
        mark = len(local.bedrock.calls)

        refused = deploy(local, assemblies["epochs-parameter-changed"])

        assert not refused.succeeded and refused.status == "UPDATE_ROLLBACK_COMPLETE"
        assert "waitConditionKey" in refused.reason and "Nothing was created" in refused.reason
        assert writes_since(local, mark) == []
        assert len(local.bedrock.jobs()) == 1
        assert local.stacks[STACK].outputs()["Model0Arn"] == first_model


def test_a_stack_created_again_has_a_new_id_and_is_the_last_deployed(tmp_path):
    """CloudFormation gives a stack created again (after its delete) a stack id of its own; a delete of every stack
    takes the last deployed first."""
    path = tmp_path / "handle.json"
    path.write_text(json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))
    with LocalCloud(write=lambda _line: None) as local:
        assert all(local.deploy_template(path, name).succeeded for name in ("First", "Second"))
        first_id = local.stacks["First"].env.stack_id
        assert local.delete(["First"])["First"].succeeded
        assert local.deploy_template(path, "First").succeeded
        assert local.stacks["First"].env.stack_id != first_id
        assert list(local.delete()) == ["First", "Second"]


def test_a_stack_whose_create_and_rollback_failed_is_deleted_before_it_is_created_again(assemblies):
    """The create fails after the committed throughput is bought, and its rollback cannot delete that throughput:
    ROLLBACK_FAILED, which CloudFormation refuses to update. The next deploy deletes the stack first, as the CDK CLI
    does; that delete fails on the throughput again, so the deploy fails with the CLI's message and the reason,
    touching nothing else. Deleted retaining the throughput (and the model it serves), the stack is created again."""
    with LocalCloud(write=lambda _line: None, timings=TIMINGS) as local:
        failed = deploy(local, assemblies["committed-failing"])
        assert (failed.succeeded, failed.status) == (False, "ROLLBACK_FAILED"), failed.reason
        (throughput,) = failed.delete_failed
        first_id = local.stacks[STACK].env.stack_id
        jobs = len(local.bedrock.jobs())

        again = deploy(local, assemblies["committed"])

        assert (again.operation, again.succeeded, again.status) == ("DELETE", False, "DELETE_FAILED")
        # The CDK CLI's waitForStackDelete: "The stack named X is in a failed state. ... : DELETE_FAILED (reason)".
        assert again.reason.startswith(
            f"The stack named {STACK} is in a failed state. You may need to delete it from the AWS console : "
            "DELETE_FAILED ("
        )
        assert "commitment that ends at" in again.reason and again.delete_failed == [throughput]
        assert len(local.bedrock.jobs()) == jobs and len(local.bedrock.throughputs()) == 1
        refused = local.stacks[STACK].deploy(local.stacks[STACK].template, local.stacks[STACK].assembly_dir)
        assert not refused.succeeded and "is in DELETE_FAILED state and can not be updated" in refused.reason

        # The model the kept throughput serves cannot be deleted either (in use): it is retained too.
        in_use = local.delete([STACK], {STACK: [throughput]})[STACK]
        assert not in_use.succeeded and "in use" in in_use.reason, in_use.reason
        assert local.delete([STACK], {STACK: [throughput, *in_use.delete_failed]})[STACK].succeeded
        created = deploy(local, assemblies["committed"])
        assert created.succeeded, created.reason
        assert local.stacks[STACK].env.stack_id != first_id
