"""CloudFormation behaviours the rehearsal plays as AWS documents them, beyond rollbacks (test_rollback.py): a change of
a resource's policies alone, a custom resource's ServiceTimeout and its PhysicalResourceId's limit, a wait
condition's Timeout limit, and a circular dependency. Each expected value is written from the documentation quoted.
"""

from __future__ import annotations

from typing import Any

from cdk_bedrock_customization.rehearsal.template import Template

from . import test_rollback
from .test_rollback import NEVER, STACK, StandIn, custom, template

# test_rollback's fixtures: every test in moto, and play(stand_in) -> a LocalStack the stand-in answers.
aws, play = test_rollback.aws, test_rollback.play


def test_a_deletion_policy_changed_alone_is_applied_by_the_update(play, tmp_path):
    """refactor-stacks.html: "specify a Retain DeletionPolicy ... perform a stack update to apply the deletion
    policy": the update sends no request (the properties are the same), and the stack's delete then keeps it."""
    stand_in = StandIn()
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1")), tmp_path).succeeded
    assert stack.deploy(template(A={**custom("1"), "DeletionPolicy": "Retain"}), tmp_path).succeeded
    assert stand_in.sent(1) == []
    deleted = stack.delete()
    assert (deleted.deleted, deleted.retained) == ([], ["A"])
    assert stand_in.sent(1) == []


def test_an_update_replace_policy_changed_alone_applies_to_the_next_replacement(play, tmp_path):
    stand_in = StandIn({("Update", "A", "2"): {"PhysicalResourceId": "A2"}})
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1")), tmp_path).succeeded
    assert stack.deploy(template(A=custom("1", replace_policy="Retain")), tmp_path).succeeded
    assert stack.deploy(template(A=custom("2", replace_policy="Retain")), tmp_path).succeeded
    assert stand_in.sent(1) == [("Update", "A", "A1", "2", "1")]  # the old A1 retained: no Delete


def _with(value: str, **properties: Any) -> dict[str, Any]:
    resource = custom(value)
    resource["Properties"].update(properties)
    return resource


def test_a_custom_resource_is_waited_for_only_its_service_timeout(play, tmp_path):
    """AWS::CloudFormation::CustomResource, ServiceTimeout: "The maximum time, in seconds, that can elapse before a
    custom resource operation times out. The value must be an integer from 1 to 3600." """
    stack = play(StandIn({("Create", "A", "1"): NEVER}))
    outcome = stack.deploy(template(A=_with("1", ServiceTimeout="60")), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert outcome.reason == "A: CloudFormation did not receive a response from your Custom Resource"
    assert 60 <= stack.clock.now() < 3600

    refused = play(StandIn()).deploy(template(A=_with("1", ServiceTimeout="3601")), tmp_path)
    assert refused.reason == "A: ServiceTimeout '3601' is not an integer from 1 to 3600"


def test_a_physical_id_over_1_kb_fails_the_create_and_its_rollback_deletes_an_id_made_up(play, tmp_path):
    """Custom resource response objects: PhysicalResourceId "can be up to 1 KB in size"; CloudFormation answers an id
    it cannot take with one it makes up, which the rollback's Delete is sent."""
    stand_in = StandIn({("Create", "A", "1"): {"PhysicalResourceId": "x" * 1025}})
    stack = play(stand_in)
    outcome = stack.deploy(template(A=custom("1")), tmp_path)
    assert (outcome.status, outcome.reason) == ("ROLLBACK_COMPLETE", "A: Invalid PhysicalResourceId")
    ((_create, _a, _none, _one, _old), (request, logical_id, made_up, _value, _)) = stand_in.sent()
    assert (request, logical_id) == ("Delete", "A") and made_up.startswith(f"{STACK}-A-")

    assert (
        play(StandIn({("Create", "A", "1"): {"PhysicalResourceId": "x" * 1024}}))
        .deploy(template(A=custom("1")), tmp_path)
        .succeeded
    )


def test_a_failed_create_without_a_physical_id_gets_a_delete_of_an_id_made_up(play, tmp_path):
    """A failed Create answered with no PhysicalResourceId (it is "Required" in every response): CloudFormation makes
    one up, and the rollback sends it a Delete, so the handler may clean up what it started."""
    stand_in = StandIn({("Create", "A", "1"): {"Status": "FAILED", "Reason": "A broke", "PhysicalResourceId": None}})
    stack = play(stand_in)
    outcome = stack.deploy(template(A=custom("1")), tmp_path)
    assert (outcome.status, outcome.reason) == ("ROLLBACK_COMPLETE", "A: A broke")
    (request, logical_id, made_up, _value, _old) = stand_in.sent(1)[0]
    assert (request, logical_id) == ("Delete", "A") and made_up.startswith(f"{STACK}-A-")


HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


def test_a_wait_condition_timeout_over_12_hours_fails_at_once(play, tmp_path):
    """AWS::CloudFormation::WaitCondition, Timeout: "The maximum time that can be specified for this property is 12
    hours (43200 seconds)"."""
    stack = play(StandIn())
    wait = {"Type": "AWS::CloudFormation::WaitCondition", "Properties": {"Handle": {"Ref": "H"}, "Timeout": "43201"}}
    outcome = stack.deploy(Template({"Resources": {"H": HANDLE, "W": wait}}), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert "#/Timeout: 43201 is not a number of seconds from 1 to 43200" in outcome.reason
    assert stack.clock.now() < 60


def test_a_circular_dependency_is_refused_before_the_operation_starts(play, tmp_path):
    """CloudFormation validates the template's dependencies first ("Circular dependency between resources"): no stack
    operation starts, nothing is sent."""
    stand_in = StandIn()
    stack = play(stand_in)
    outcome = stack.deploy(template(A=custom("1", "B"), B=custom("1", "A"), C=custom("1")), tmp_path)
    assert (outcome.succeeded, outcome.status) == (False, "")
    assert outcome.reason.endswith("Circular dependency between resources: [A, B]")
    assert stand_in.sent() == [] and stack.state == {}


def test_a_depends_on_naming_no_resource_is_refused_before_the_operation_starts(play, tmp_path):
    """CloudFormation: "Template format error: Unresolved resource dependencies [Missing] in the Resources block of the
    template"."""
    stand_in = StandIn()
    stack = play(stand_in)
    outcome = stack.deploy(template(A=custom("1", "Missing")), tmp_path)
    assert (outcome.succeeded, outcome.status) == (False, "")
    assert outcome.reason.endswith(
        "Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template"
    )
    assert stand_in.sent() == [] and stack.state == {}


def test_a_depends_on_naming_a_resource_whose_condition_is_false_is_refused(play, tmp_path):
    """cfn-lint E3005 ("'B' will not exist when condition 'Never' is False"); CloudFormation refuses the template
    (Unresolved resource dependencies). A resource that is itself left out may name it."""
    never = {"Never": {"Fn::Equals": ["a", "b"]}}
    stand_in = StandIn()
    stack = play(stand_in)
    left_out = {**custom("1"), "Condition": "Never"}
    naming_it = {"A": custom("1", "B"), "B": left_out}
    refused = stack.deploy(Template({"Conditions": never, "Resources": naming_it}), tmp_path)
    assert (refused.succeeded, refused.status) == (False, "")
    assert refused.reason.endswith("Unresolved resource dependencies [B] in the Resources block of the template")
    both_left_out = {"A": {**custom("1", "B"), "Condition": "Never"}, "B": left_out, "C": custom("1")}
    assert stack.deploy(Template({"Conditions": never, "Resources": both_left_out}), tmp_path).succeeded
    assert [request[:2] for request in stand_in.sent()] == [("Create", "C")]
