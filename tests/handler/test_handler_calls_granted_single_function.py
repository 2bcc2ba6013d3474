"""The single-function provider's calls are granted wherever it lives, and after a resource is removed.

test_handler_calls_granted checks a job on the single-function provider of its own stack (its Create polls through an
EventBridge rule and a Lambda permission that the handler role makes and removes). Here:
1. a throughput removed from the template is deleted in the update's cleanup, with the policy of the template that
   keeps only an evaluation (as test_handler_calls_granted_cleanup does for the framework provider), its Delete polled;
2. a job on the single-function provider of another stack (``provider=``) is granted by the policies of both
   templates (test_handler_calls_granted_providers resolves them), its polling calls included.
Polling calls are mapped as test_handler_calls_granted maps them: a rule by its name, the function by the template's.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from cdk_bedrock_customization import CustomizationProvider, ProviderKind

from . import resource_kinds as kinds
from .conftest import CloudFormationEvents
from .single_function_helpers import (
    SingleFunction,
    single_function_fixture,  # noqa: F401 (a fixture)
)
from .test_handler_calls_granted import (
    CASES,
    IAM_MEMBERS,
    STACK_ID,
    STACK_NAME,
    Recorder,
    Synthesized,
    _job,
    evaluation_bucket,  # noqa: F401 (a fixture)
    handler_step,
    lifecycle_properties,
    not_granted,
    polling_denied,
    recorder,  # noqa: F401 (a fixture)
    synthesize,
)
from .test_handler_calls_granted_providers import ENV, PROVIDER_STACK, handler_policy, templates

FUNCTION_PREFIX = "BedrockCustomizationProviderFunction"


def _function_arn(body: dict[str, Any], resolver: Any) -> str:
    """The single function's sample ARN in its template."""
    (function,) = [
        k
        for k, r in body["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and k.startswith(FUNCTION_PREFIX)
    ]
    return str(resolver.resolve({"Fn::GetAtt": [function, "Arn"]}))


def _denied(synthesized: Synthesized, recording: Recorder, bedrock: Any, function_arn: str) -> list[str]:
    """Every recorded call not granted: the polling calls, then the others, as test_handler_calls_granted maps
    them. Asserts that both kinds were checked."""
    polling = [c for c in recording.calls if c.service in ("events", "lambda")]
    assert {c.operation for c in polling} >= {"PutRule", "AddPermission", "RemovePermission", "DeleteRule"}, polling
    denied = polling_denied(synthesized, polling, function_arn)
    others, granted, unevaluated = not_granted(synthesized, [c for c in recording.calls if c not in polling], bedrock)
    assert granted or others, "no Bedrock call was checked"
    assert not unevaluated, f"conditions this test cannot evaluate: {sorted(unevaluated)}"
    return denied + others


def _polled(
    single_function: SingleFunction, recording: Recorder, step: str, status: str, event: dict[str, Any], poll: Any
) -> None:
    """The request through the function, recorded: its first invocation sets up polling; poll() moves Bedrock on; then
    the schedule's ticks (the rule target's Input, as EventBridge sends it; the test's own reads not recorded) until it
    is answered. Nothing of polling is left."""
    with handler_step(recording, step, status):
        single_function.invoke(event)
    assert not single_function.responses(event), "answered at once: nothing polled"
    poll()
    for _ in range(3):
        if single_function.responses(event):
            break
        (target,) = [t for targets in single_function.leftovers().targets.values() for t in targets]
        with handler_step(recording, f"{step}, poll", status):
            single_function.invoke(json.loads(target["Input"]))
    assert single_function.responses(event)[-1]["Status"] == "SUCCESS", single_function.responses(event)
    assert single_function.leftovers().empty, single_function.leftovers()


def test_the_cleanup_delete_of_a_removed_throughput_is_granted_by_the_template_without_it(
    bedrock: Any,
    recorder: Any,  # noqa: F811 (the fixture imported)
    single_function: SingleFunction,
    evaluation_bucket: None,  # noqa: F811 (the fixture imported)
) -> None:
    case, kept = CASES["provisioned throughput"], CASES["evaluation"]
    made = case.prerequisites(bedrock)

    def declare(stack: cdk.Stack, removed: bool) -> None:
        CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION)
        kept.declare(stack, {})
        if not removed:
            case.declare(stack, made)

    before, after = synthesize(lambda s: declare(s, False)), synthesize(lambda s: declare(s, True))
    assert case.kind.resource_type not in {r["Type"] for r in after.template["Resources"].values()}
    function_arn = _function_arn(before.template, before.resolver)
    (throughput,) = before.custom_resources(case.kind.resource_type)
    assert throughput["ServiceToken"] == function_arn, "not the single-function provider's"
    properties = lifecycle_properties(case, bedrock, before, made)
    events = CloudFormationEvents(STACK_NAME, case.kind.resource_type)
    events.stack_id = STACK_ID
    physical_id, _ = kinds.Stack(bedrock, case.kind, events).create(properties)
    # Still changing when the cleanup deletes it: Bedrock refuses the delete (the stand-in's ConflictException), so
    # the Delete polls until it can delete it.
    bedrock.set_throughput_status(physical_id, "Updating")
    delete = single_function.addressed(events.delete(physical_id, properties, "Model"))
    in_service = lambda: bedrock.set_throughput_status(physical_id, "InService")  # noqa: E731
    _polled(single_function, recorder, "cleanup delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", delete, in_service)
    assert not case.kind.existing(bedrock), "the throughput is still there"
    assert "DeleteProvisionedModelThroughput" in {c.operation for c in recorder.calls}
    denied = _denied(after, recorder, bedrock, _function_arn(after.template, after.resolver))
    assert not denied, "the cleanup's Delete is not granted by the template without the throughput:\n" + "\n".join(
        denied
    )


def test_a_single_function_provider_of_another_stack_is_granted_by_both_templates(
    bedrock: Any,
    recorder: Any,  # noqa: F811 (the fixture imported)
    single_function: SingleFunction,
) -> None:
    """A job in GrantedStack (the events' StackId) on the single-function provider of ProvidersStack: its Create
    polls; its calls are checked against the provider's policy and the consumer's policy attached to the imported
    role."""
    app = cdk.App()
    provider = CustomizationProvider.of(cdk.Stack(app, PROVIDER_STACK, env=ENV), kind=ProviderKind.SINGLE_FUNCTION)
    _job(cdk.Stack(app, STACK_NAME, env=ENV), {}, provider=provider)
    every = templates({s.stack_name: s.template for s in app.synth().stacks})
    consumer = every[STACK_NAME]
    assert not [k for k in consumer.body["Resources"] if k.startswith(FUNCTION_PREFIX)], "a provider of its own"
    synthesized, attached_in = handler_policy(every[PROVIDER_STACK], every, consumer)
    assert attached_in == {PROVIDER_STACK, STACK_NAME}, attached_in
    function_arn = _function_arn(every[PROVIDER_STACK].body, every[PROVIDER_STACK].resolver)
    (from_template,) = synthesized.custom_resources(kinds.JOB.resource_type)
    assert from_template["ServiceToken"] == function_arn, from_template["ServiceToken"]
    properties = kinds.JOB.properties(bedrock)
    properties.update({m: from_template[m] for m in IAM_MEMBERS if from_template.get(m) is not None})
    events = CloudFormationEvents(STACK_NAME, kinds.JOB.resource_type)
    events.stack_id = STACK_ID
    create = single_function.addressed(events.create(properties))
    completed = lambda: bedrock.set_job_status(bedrock.jobs()[0]["jobArn"], "Completed")  # noqa: E731
    _polled(single_function, recorder, "create", "CREATE_IN_PROGRESS", create, completed)
    denied = _denied(synthesized, recorder, bedrock, function_arn)
    assert not denied, "calls not granted by the two templates' policies:\n" + "\n".join(denied)
