"""CloudFormation's lifecycle as a hypothesis state machine, played against the customization job handler.

The machine plays CloudFormation and the CDK Provider framework (aws-cdk-lib custom-resources/lib/provider-framework/
runtime/framework.ts and cfn-response.ts; DESIGN.md fact 2): Creates, Updates, Deletes, the rollbacks that follow a
failure (fact 10), the cleanup Deletes of replaced ids, and the faults the handler must outlive: throttling, a server
error after Bedrock did the work, a Lambda that dies after a Bedrock call, a request delivered twice, a job failing or
stopping out of band, a later resource failing. It holds only what CloudFormation holds (the physical id and the
properties); every invariant is read from the emulated Bedrock through its API, never from the handler's state.
"""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_custom_resource import lifecycle
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .conftest import (
    CREATE_FAILED,
    CloudFormationEvents,
    distillation_properties,
    fine_tuning_properties,
    is_complete_input,
    rft_properties,
)
from .provider_faults import LAMBDA_DIED, ProviderFrameworkMachine

CUSTOMIZATIONS = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING")
FAILURE_MESSAGE = "Training data has 3 malformed lines"
# Where a request's Lambda may die right after Bedrock answered (a timeout, out of memory).
BEDROCK_OPERATIONS = (
    "CreateModelCustomizationJob",
    "StopModelCustomizationJob",
    "DeleteCustomModel",
    "TagResource",
    "GetModelCustomizationJob",
    "ListModelCustomizationJobs",
)
FAULTS = st.one_of(
    st.none(),
    st.tuples(st.just("dies"), st.sampled_from(BEDROCK_OPERATIONS)),
    st.tuples(st.just("throttled"), st.sampled_from(BEDROCK_OPERATIONS), st.sampled_from([3, 20])),
    st.tuples(st.just("served then 500"), st.sampled_from(BEDROCK_OPERATIONS[:3])),
)


def job_properties(customization: str, variant: int, team: str, event_driven: bool, replace: str) -> dict[str, Any]:
    """Valid properties of one customization type: variant changes the configuration (a replacement), team only a
    tag (in place). An event-driven job's wait condition key follows its configuration, as the construct's does."""
    epochs = str(variant + 1)
    hyper = {"epochCount": epochs, "batchSize": "1", "learningRate": "0.00001"}
    if customization == "DISTILLATION":
        properties = distillation_properties()
        teacher = properties["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
        teacher["maxResponseLengthForInference"] = str(1000 * (variant + 1))
    elif customization == "REINFORCEMENT_FINE_TUNING":
        properties = rft_properties()
        properties["customizationConfig"]["rftConfig"]["hyperParameters"]["epochCount"] = epochs
    else:
        properties = fine_tuning_properties(customizationType=customization, hyperParameters=hyper)
    properties["jobTags"] = [{"key": "team", "value": team}]
    if replace == "Delete":  # Retain, the default, is left out as the construct leaves it (README, Rollback)
        properties["updateReplacePolicy"] = "Delete"
    if event_driven:
        properties |= {"waitUntil": "Accepted", "waitConditionKey": f"{variant}A2B3C4D"}
    return properties


class CloudFormationLifecycle(ProviderFrameworkMachine):
    """One logical id ("Model") of one stack, deployed, updated, rolled back and deleted as CloudFormation does."""

    def __init__(self, customization: str, event_driven: bool, replace: str) -> None:
        """The resource's type, its completion mode (polled, or event-driven with a wait condition key) and its
        UpdateReplacePolicy, which CloudFormation applies without telling the handler (README "Rollback")."""
        super().__init__()
        self.customization, self.event_driven, self.replace = customization, event_driven, replace
        self.events = CloudFormationEvents()
        self.held_choice = -1  # the variant of what CloudFormation holds
        # Jobs CloudFormation let go of without a Delete, as a Retain policy says: they may run on (README, Rollback:
        # "limit: a job that such an update started goes on training outside the stack").
        self.let_go: set[str] = set()

    # --- what Bedrock holds, read through its API

    def jobs(self) -> dict[str, dict[str, Any]]:
        pages = self.reader.get_paginator("list_model_customization_jobs").paginate()
        summaries = [job for page in pages for job in page["modelCustomizationJobSummaries"]]
        return {job["jobArn"]: job for job in summaries}

    def running(self) -> set[str]:
        return {arn for arn, job in self.jobs().items() if job["status"] == "InProgress"}

    def made(self) -> set[str]:
        return set(self.jobs())

    def models(self) -> set[str]:
        return {model["modelArn"] for model in self.reader.list_custom_models()["modelSummaries"]}

    # --- Bedrock moves on

    def bedrock_moves_on(self, physical_id: str) -> None:
        """A stopping job stops; the job the request made completes."""
        self.bedrock.finish_stopping()
        if self.jobs().get(physical_id, {}).get("status") == "InProgress":
            self.bedrock.set_job_status(physical_id, "Completed", training_loss=0.1, validation_loss=0.2)

    # --- the stack's operations

    @initialize(deletion=st.sampled_from(["Delete", "Retain"]))
    def choose_the_deletion_policy(self, deletion: str) -> None:
        """Its DeletionPolicy: Retain sends no Delete when the stack is deleted, nor when its Create rolls back."""
        self.deletion = deletion
        self.retained: tuple[str, int] | None = None  # a job a deleted stack kept, and its configuration

    def properties(self, variant: int, team: str) -> dict[str, Any]:
        return job_properties(self.customization, variant, team, self.event_driven, self.replace)

    @precondition(lambda self: self.operation is None)
    @rule(variant=st.integers(0, 1), team=st.sampled_from(["ml", "ops"]), fault=FAULTS, twice=st.booleans())
    def deploy(self, variant: int, team: str, fault: tuple | None, twice: bool) -> None:
        """A Create when the stack holds nothing, else an Update (CloudFormation sends none for equal properties)."""
        properties = self.properties(variant, team)
        if properties == self.held_properties:
            return
        before = set(self.jobs())
        if self.held is None:
            self.status, event = "CREATE_IN_PROGRESS", self.events.create(properties)
        else:
            self.status, event = "UPDATE_IN_PROGRESS", self.events.update(self.held, properties, self.held_properties)
        succeeded, answer = self.deliver("on_event", event, fault, twice)
        self.operation = {"event": event, "choice": variant, "answer": None, "new_id": None, "complete": False}
        if self.held is None:
            self._no_second_training_of_what_was_retained(variant, set(self.jobs()) - before)
        if succeeded:
            self.operation |= {"answer": answer, "new_id": answer["PhysicalResourceId"]}
        else:  # the framework answers a failed Create with its marker (cfn-response.ts), an Update with its id
            if self.held is None and answer.startswith(LAMBDA_DIED):
                # Nothing can remove what the dead Lambda made: CloudFormation holds the marker, and the framework
                # answers its Delete itself. The handler only refuses a create it has no time left for
                # (lifecycle._refuse_without_time_to_create); README "Create" covers lost answers, not this.
                self.let_go |= set(self.jobs()) - before
            self.roll_back(CREATE_FAILED if self.held is None else self.held, None, False)

    def _no_second_training_of_what_was_retained(self, variant: int, made: set[str]) -> None:
        """README "What happens on create": deleting a stack with RETAIN and deploying it again unchanged adopts
        the trained model, no second training run (a job still running, or completed with its model)."""
        if self.retained is None or self.retained[1] != variant:
            return
        job = self.jobs().get(self.retained[0], {})
        usable = job.get("status") == "InProgress" or job.get("customModelArn") in self.models()
        assert not (usable and made), f"the stack made again trained {made} beside the retained {self.retained[0]}"

    def awaited(self) -> bool:
        """Whether the framework polls the request under way: onEvent answered, isComplete not yet true."""
        return self.operation is not None and self.operation["answer"] is not None and not self.operation["complete"]

    @precondition(lambda self: self.awaited())
    @rule(
        move=st.sampled_from([None, "Completed", "Failed", "Stopped"]),
        fault=FAULTS,
        twice=st.booleans(),
        failed_id_kept=st.booleans(),
    )
    def poll(self, move: str | None, fault: tuple | None, twice: bool, failed_id_kept: bool) -> None:
        """Bedrock moves the job the request made (or not), then the framework polls isComplete. Once complete, the
        framework answers CloudFormation, which goes on to the later resources. failed_id_kept: whether
        CloudFormation takes the id of a FAILED Update's answer (the framework sends onEvent's; CloudFormation does
        not document which id its rollback then sends)."""
        new_id = self.operation["new_id"]
        if move and self.jobs().get(new_id, {}).get("status") == "InProgress":
            self.move_job(new_id, move)
        merged = is_complete_input(self.operation["event"], self.operation["answer"])
        succeeded, polled = self.deliver("is_complete", merged, fault, twice)
        if not succeeded:
            self._failure_names_bedrocks_message(new_id, fault, polled)
            creating = self.operation["event"]["RequestType"] == "Create"
            self.roll_back(new_id if creating or failed_id_kept else self.held, fault, twice)
        elif polled["IsComplete"]:
            self.operation["complete"] = True

    @precondition(lambda self: self.operation is not None and self.operation["complete"])
    @rule()
    def the_stack_operation_ends(self) -> None:
        """Every later resource succeeded too (an event-driven job's wait condition got its signal): cleanup follows."""
        self.finish()

    @precondition(lambda self: self.awaited())
    @rule()
    def the_request_completes(self) -> None:
        """The job completes and the next poll says so: the way to a held job that later updates and their
        cancellations need, which faulted polls rarely reach."""
        self.poll("Completed", None, False, False)
        if self.operation is not None and self.operation["complete"]:
            self.finish()

    def _failure_names_bedrocks_message(self, job_arn: str, fault: tuple | None, reason: str) -> None:
        """DESIGN.md "Clear errors": a failed job surfaces Bedrock's failureMessage in the stack event."""
        if fault is None and self.jobs().get(job_arn, {}).get("status") == "Failed":
            assert FAILURE_MESSAGE in reason, f"the FAILED reason does not say why the job failed: {reason!r}"

    def move_job(self, job_arn: str, status: str) -> None:
        if status == "Stopped":
            self.bedrock.set_job_status(job_arn, "Stopping")
            self.bedrock.finish_stopping(job_arn)
        elif status == "Failed":
            self.bedrock.set_job_status(job_arn, "Failed", failure_message=FAILURE_MESSAGE)
        else:
            self.bedrock.set_job_status(job_arn, "Completed", training_loss=0.1, validation_loss=0.2)

    def _delete_replaced(self, physical_id: str, properties: dict[str, Any]) -> None:
        if self.replace == "Retain":
            self.let_go.add(physical_id)
            return
        succeeded, reason = self.run_to_end(self.events.delete(physical_id, properties))
        # DESIGN.md "Clear errors": deleting something already gone is success.
        assert succeeded, f"the cleanup Delete of {physical_id} failed: {reason}"

    @precondition(lambda self: self.operation is not None)
    @rule(fault=FAULTS, twice=st.booleans())
    def a_later_resource_fails(self, fault: tuple | None, twice: bool) -> None:
        """A resource after this one fails (the wait condition of an event-driven job, say), or CloudFormation
        stops waiting: it rolls back, cancelling this request if it has not completed yet."""
        # With an isComplete handler the framework answers CloudFormation only once the request completed
        # (framework.ts): before that CloudFormation never learned the new id. A cancelled Create's Delete carries an
        # id it made up; a cancelled Update's Update back, the id it holds.
        if self.operation["complete"]:
            self.roll_back(self.operation["new_id"], fault, twice)
        elif self.operation["event"]["RequestType"] == "Create":
            self.roll_back(f"my-stack-Model-{len(self.jobs())}ABCDEF", fault, twice)
        else:
            self.roll_back(self.held, fault, twice)

    @precondition(lambda self: self.operation is None)
    @rule(held_first=st.booleans(), polls=st.integers(0, 1), fault=FAULTS, twice=st.booleans())
    def a_deploy_is_cancelled_while_its_job_trains(
        self, held_first: bool, polls: int, fault: tuple | None, twice: bool
    ) -> None:
        """A Create, or an Update that replaces the held job (held_first: one completed first, to replace),
        answered and polled (its job trains, billed), then a later resource fails: a path of its own, as the
        deploy, poll and failure rules rarely draw it in that order. An event-driven job's first poll completes it,
        so polls=0 is its way to a cancellation."""
        if self.held is None and held_first:
            self.deploy(0, "ml", None, False)
            if self.awaited():
                self.the_request_completes()
        if self.held is None:
            self.deploy(0, "ml", None, False)
        else:
            self.deploy(1 - self.held_choice, self.held_properties["jobTags"][0]["value"], None, False)
        for _ in range(polls):
            if self.awaited():
                self.poll(None, None, False, False)
        if self.operation is not None:
            self.a_later_resource_fails(fault, twice)

    # --- rollbacks (DESIGN.md fact 10; README "Rollback"): they start no job, and never fail

    def roll_back(self, physical_id: str, fault: tuple | None, twice: bool) -> None:
        before = set(self.jobs())
        if self.operation["event"]["RequestType"] == "Create":
            self._roll_back_create(physical_id, fault, twice)
        else:
            self._roll_back_update(physical_id, fault, twice)
        started = set(self.jobs()) - before
        assert not started, f"the rollback started {started}"
        self.operation = None

    def _roll_back_create(self, physical_id: str, fault: tuple | None, twice: bool) -> None:
        """The Delete of what the Create made. None is sent under DeletionPolicy Retain, nor for the framework's
        marker of a failed Create (cfn-response.ts safeHandler answers that Delete itself)."""
        self.status = "ROLLBACK_IN_PROGRESS"
        if self.deletion == "Retain":
            self.let_go |= set(self.jobs())
        elif physical_id != CREATE_FAILED:
            properties = self.operation["event"]["ResourceProperties"]
            succeeded, reason = self.run_to_end(self.events.delete(physical_id, properties), fault, twice)
            assert succeeded, f"the rollback's Delete of {physical_id} failed (ROLLBACK_FAILED): {reason}"
        self.status = "ROLLBACK_COMPLETE"
        # DESIGN.md fact 2 and README "Create": the Provider framework skips a failed Create's Delete, so whatever
        # that Create made must not run on unseen.
        unseen = self.running() - self.let_go
        assert not unseen, f"after the Create was rolled back, {unseen} still run"
        self.new_stack()

    def after_the_update_back(self, answer: str) -> None:
        if self.replace == "Retain":  # README "Rollback": what a cancelled update made is left with RETAIN
            self.let_go |= self.running() - {answer}

    def new_stack(self) -> None:
        """A stack of the same name made again: a new stack id."""
        self.events, self.status = CloudFormationEvents(), "CREATE_IN_PROGRESS"
        self.held, self.held_properties, self.held_choice, self.operation = None, {}, -1, None

    @precondition(lambda self: self.operation is None and self.held is not None)
    @rule(fault=FAULTS, twice=st.booleans())
    def delete_stack(self, fault: tuple | None, twice: bool) -> None:
        """README "Delete": with DESTROY a running job is stopped and a completed job's model deleted; with RETAIN
        (DeletionPolicy Retain) CloudFormation sends no Delete and leaves both."""
        self.status = "DELETE_IN_PROGRESS"
        if self.deletion == "Retain":
            self.let_go |= set(self.jobs())
            self.retained = (self.held, self.held_choice)
        else:
            succeeded, reason = self.run_to_end(self.events.delete(self.held, self.held_properties), fault, twice)
            assert succeeded, f"the stack's Delete of {self.held} failed (DELETE_FAILED): {reason}"
            kept = {job.get("customModelArn") for arn, job in self.jobs().items() if arn in self.let_go}
            assert not (self.running() - self.let_go), "after the stack's Delete (DESTROY), its job still runs"
            assert not (self.models() - kept), "after the stack's Delete (DESTROY), its model remains"
        self.new_stack()

    # --- Bedrock, out of band

    @precondition(lambda self: bool(self.running()))
    @rule(data=st.data(), status=st.sampled_from(["Failed", "Stopped", "Completed"]))
    def a_job_ends_out_of_band(self, data: st.DataObject, status: str) -> None:
        """A job fails, is stopped by hand, or completes, whoever waits for it."""
        self.move_job(data.draw(st.sampled_from(sorted(self.running()))), status)

    @precondition(lambda self: bool(self.models()))
    @rule(data=st.data())
    def a_model_is_deleted_out_of_band(self, data: st.DataObject) -> None:
        """Someone deletes a trained model outside the stack: its job can no longer be used (README "Create")."""
        self.reader.delete_custom_model(modelIdentifier=data.draw(st.sampled_from(sorted(self.models()))))

    @invariant()
    def no_job_runs_that_nothing_holds(self) -> None:
        """Training costs money by the hour: a running job is the one CloudFormation holds, one that the request
        under way is making, or one a Retain policy let go of (README "Rollback", its limit)."""
        unheld = self.running() - self.let_go - {self.held}
        in_flight = 1 if self.operation is not None else 0
        assert len(unheld) <= in_flight, f"{sorted(unheld)} run, held by nothing (the stack holds {self.held})"


# Deterministic: derandomize plays the same sequences on every run, and nothing here reads the clock.
LIFECYCLE_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=3,
    stateful_step_count=8,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("replace", ["Delete", "Retain"])
@pytest.mark.parametrize("event_driven", [False, True], ids=["polled", "event-driven"])
@pytest.mark.parametrize("customization", CUSTOMIZATIONS)
def test_cloudformation_lifecycle_against_the_job_handler(
    aws_environment: None, customization: str, event_driven: bool, replace: str
) -> None:
    """Every customization type, in both completion modes, under both UpdateReplacePolicies."""
    run_state_machine_as_test(
        lambda: CloudFormationLifecycle(customization, event_driven, replace), settings=LIFECYCLE_SETTINGS
    )


def test_the_rollback_of_a_refused_update_of_a_job_held_as_nothing_succeeds(aws_environment: None) -> None:
    """The fault fd8c041 fixed, as the machine's steps: an event-driven job whose model is deleted out of band;
    an update that replaces it fails, so the rollback returns to nothing (the stack holds nothing-made:Model). A
    tag-only update under the same wait condition key is refused, and CloudFormation's rollback of it must then
    succeed, making nothing (DESIGN.md "A rollback never gets stuck"), not end in UPDATE_ROLLBACK_FAILED."""
    machine = CloudFormationLifecycle("FINE_TUNING", event_driven=True, replace="Delete")
    try:
        machine.choose_the_deletion_policy("Delete")
        machine.deploy(0, "ml", None, False)
        machine.poll(None, None, False, False)
        machine.the_stack_operation_ends()
        machine.move_job(machine.held, "Completed")
        (model,) = machine.models()
        machine.reader.delete_custom_model(modelIdentifier=model)
        machine.deploy(1, "ml", None, False)
        machine.poll("Failed", None, False, True)
        assert machine.held == lifecycle.NOTHING_MADE + "Model"
        machine.deploy(0, "ops", None, False)
        assert machine.held == lifecycle.NOTHING_MADE + "Model"
    finally:
        machine.teardown()


@pytest.mark.parametrize("event_driven", [False, True], ids=["polled", "event-driven"])
def test_a_cancelled_update_stops_the_job_it_started(aws_environment: None, event_driven: bool) -> None:
    """README "Rollback": after an update CloudFormation cancelled before the handler answered, its rollback's
    Update (with the id CloudFormation holds, the properties swapped) stops the job that update started, under
    UpdateReplacePolicy Delete. The machine's own steps, since its random runs reach this path rarely."""
    machine = CloudFormationLifecycle("FINE_TUNING", event_driven=event_driven, replace="Delete")
    try:
        machine.choose_the_deletion_policy("Delete")
        machine.deploy(0, "ml", None, False)
        machine.the_request_completes()
        held = machine.held
        machine.deploy(1, "ml", None, False)
        assert machine.running() - {held}, "the update started no job"
        machine.a_later_resource_fails(None, False)
        assert machine.held == held
        machine.no_job_runs_that_nothing_holds()
    finally:
        machine.teardown()


def test_a_cancelled_create_stops_its_job(aws_environment: None) -> None:
    """README "Delete": the Delete of an id CloudFormation made up, for a create it cancelled, stops the job."""
    machine = CloudFormationLifecycle("FINE_TUNING", event_driven=False, replace="Delete")
    try:
        machine.choose_the_deletion_policy("Delete")
        machine.deploy(0, "ml", None, False)
        machine.poll(None, None, False, False)
        assert machine.running(), "the create started no job"
        machine.a_later_resource_fails(None, False)
        assert not machine.running(), f"{machine.running()} run after the cancelled create's rollback"
    finally:
        machine.teardown()


@pytest.mark.parametrize("event_driven", [False, True], ids=["polled", "event-driven"])
def test_the_rollback_of_a_cancelled_update_starts_no_job_when_the_held_model_is_gone(
    aws_environment: None, event_driven: bool
) -> None:
    """README "Rollback": a rollback starts no job, even when the model of the job it returns to was deleted
    outside the stack: it returns to that job, and the job the cancelled update started is stopped. The machine's
    own steps: its random runs reach this path rarely."""
    machine = CloudFormationLifecycle("FINE_TUNING", event_driven=event_driven, replace="Delete")
    try:
        machine.choose_the_deletion_policy("Delete")
        machine.deploy(0, "ml", None, False)
        machine.the_request_completes()
        held, (model,) = machine.held, machine.models()
        machine.reader.delete_custom_model(modelIdentifier=model)
        machine.deploy(1, "ml", None, False)
        machine.a_later_resource_fails(None, False)  # roll_back asserts that the rollback started no job
        assert machine.held == held
        machine.no_job_runs_that_nothing_holds()
    finally:
        machine.teardown()
