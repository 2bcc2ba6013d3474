"""Synth-time behaviour of the completion modes: event-driven (the default), polling and no wait."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_bedrock_customization import Completion, CopiedCustomModel, ImportedModel, JobCompletionNotifier, S3Data
from moto.events.models import EventPattern

from constructs import IConstruct

from .conftest import custom_model
from .test_concurrency import depends_on
from .test_evaluation import evaluation

JOB = "Custom::BedrockModelCustomizationJob"
RESULT = "Custom::BedrockModelCustomizationJobResult"
WAIT = "AWS::CloudFormation::WaitCondition"
HANDLE = "AWS::CloudFormation::WaitConditionHandle"
WAITS_FOR = "cdk-bedrock-customization:waitsFor"
STACK_TAG = "cdk-bedrock-customization:stack"


@jsii.implements(cdk.IAspect)
class _JobsRenamed:
    """Gives every customization job resource the logical id it was made with."""

    def __init__(self, new_id: str) -> None:
        self.new_id = new_id

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cdk.CfnResource) and node.cfn_resource_type == JOB:
            node.override_logical_id(self.new_id)


@jsii.implements(cdk.IAspect)
class _JobsRenamedByConstruct:
    """Gives every customization job resource the id of its construct's scope, plus "Renamed"."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cdk.CfnResource) and node.cfn_resource_type == JOB:
            node.override_logical_id(f"{node.node.scope.node.id}Renamed")  # type: ignore[union-attr]


@jsii.implements(cdk.IAspect)
class _TagsLater:
    """Adds a tag to the whole stack once it visits the construct of this id (as some aspects do)."""

    def __init__(self, construct_id: str) -> None:
        self.construct_id = construct_id

    def visit(self, node: IConstruct) -> None:
        if node.node.id == self.construct_id:
            cdk.Tags.of(cdk.Stack.of(node)).add("team", "ml")


def logical_id(stack: cdk.Stack, resource: cdk.CfnResource) -> str:
    return str(stack.get_logical_id(resource))


def resources(stack: cdk.Stack) -> dict[str, Any]:
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template.items() if v["Type"] == resource_type}


class TestEventDriven:
    def test_is_the_default_and_the_attributes_wait_for_the_job(self, stack, bucket):
        trained = custom_model(stack, bucket)
        deployment = trained.add_deployment("OnDemand")
        template = resources(stack)
        job_id = logical_id(stack, trained.resource)
        assert template[job_id]["Properties"]["waitUntil"] == "Accepted"

        ((condition_id, condition),) = of_type(template, WAIT).items()
        ((handle_id, handle),) = ((k, v) for k, v in of_type(template, HANDLE).items() if k.startswith("Model"))
        assert condition["Properties"] == {"Count": 1, "Handle": {"Ref": handle_id}, "Timeout": "43200"}
        # The handle's URL lasts 24 hours from its creation: it is made with the job, however long the job queued.
        assert handle["DependsOn"] == [job_id]
        notifier_ids = {k for k in template if k.startswith("BedrockJobCompletionNotifier")}
        # It waits for the job to be accepted, and for the notifier (its function, rules and grants): through
        # one resource of the notifier that is created after all the others.
        ((ready_id, ready),) = ((k, v) for k, v in of_type(template, HANDLE).items() if k in notifier_ids)
        assert sorted(condition["DependsOn"]) == sorted([job_id, ready_id])
        assert set(ready["DependsOn"]) == notifier_ids - {ready_id}
        # The notifier finds the job and the handle from the condition's Metadata.
        assert condition["Metadata"][WAITS_FOR] == {"job": job_id, "handle": handle_id}
        assert "WaitingForJob" in condition_id  # what the stack events show while the job runs

        ((result_id, result),) = of_type(template, RESULT).items()
        assert result["Properties"]["jobIdentifier"] == {"Ref": job_id}
        assert result["DependsOn"] == [condition_id]
        assert stack.resolve(trained.output_model_arn) == {"Fn::GetAtt": [result_id, "outputModelArn"]}
        assert stack.resolve(trained.output_model_name) == {"Fn::GetAtt": [result_id, "outputModelName"]}
        assert stack.resolve(trained.job_arn) == {"Fn::GetAtt": [job_id, "jobArn"]}
        # Downstream resources read the model from the result, so they wait for the job's end.
        (serving,) = of_type(template, "Custom::BedrockCustomModelDeployment").values()
        assert serving["Properties"]["modelArn"] == {"Fn::GetAtt": [result_id, "outputModelArn"]}
        assert logical_id(stack, deployment.resource) in template

    def test_the_timeout_is_configurable_up_to_12_hours(self, stack, bucket):
        custom_model(stack, bucket, completion=Completion.event_driven(cdk.Duration.hours(6)))
        ((_, condition),) = of_type(resources(stack), WAIT).items()
        assert condition["Properties"]["Timeout"] == "21600"
        with pytest.raises(
            ValueError, match=r"^completion timeout: 13 hours \(46800 seconds\) must be between 1 second and 12 hours"
        ):
            Completion.event_driven(cdk.Duration.hours(13))
        with pytest.raises(ValueError, match=r"^completion timeout: 0 seconds \(0 seconds\) must be between 1 second"):
            Completion.event_driven(cdk.Duration.seconds(0))
        # A wait condition's Timeout is whole seconds.
        with pytest.raises(
            ValueError, match=r"completion timeout: 1 second 500 millis \(1.5 seconds\) is not a whole number"
        ):
            Completion.event_driven(cdk.Duration.millis(1500))

    def test_a_timeout_of_fractional_hours_or_minutes_is_its_whole_seconds(self):
        """Duration.hours(1.1) is 3960.0000000000005 seconds in floats: every tenth of an hour up to 12, and of a
        minute up to 60, is the whole number of seconds it names (tenths * 360, tenths * 6). (The models file's
        completion_timeout_hours rounds any number of hours to the nearest second.)"""
        for tenths in range(1, 121):
            assert Completion.event_driven(cdk.Duration.hours(tenths / 10)).timeout_seconds == tenths * 360, tenths
        for tenths in range(1, 601):
            assert Completion.event_driven(cdk.Duration.minutes(tenths / 10)).timeout_seconds == tenths * 6, tenths
        with pytest.raises(
            ValueError, match=r"completion timeout: 1 hour 1 second \(3601.8 seconds\) is not a whole number"
        ):
            Completion.event_driven(cdk.Duration.hours(1.0005))

    def test_a_job_of_another_logical_id_gets_a_new_wait_condition_and_handle(self):
        """CloudFormation creates a job resource of a new logical id (override_logical_id, Stack.rename_logical_id):
        its wait condition must be new too, as it waits only when created, or the deployment goes on while the new
        job trains (an outside review saw a second paid job left running). A job keeping its allocated id keeps its
        waits' ids, as deployed stacks have them."""

        def waits(change: str) -> tuple[str, str, dict[str, Any]]:
            stack = cdk.Stack(cdk.App(), "TestStack")
            # Made first, as its settings are: its own constructs come before the model's in the tree.
            JobCompletionNotifier.of(stack, check_interval=cdk.Duration.minutes(5))
            trained = custom_model(stack, s3.Bucket(stack, "Data"))
            allocated = logical_id(stack, trained.resource)
            if change == "override":
                trained.resource.override_logical_id("SupportJob")
            elif change == "rename":
                stack.rename_logical_id(allocated, "RenamedJob")
            elif change == "override to its own":
                trained.resource.override_logical_id(allocated)
            elif change == "aspect":  # a user's aspect of default priority, visiting the job after the notifier
                cdk.Aspects.of(stack).add(_JobsRenamed("AspectJob"))
            template = resources(stack)
            ((condition_id, condition),) = of_type(template, WAIT).items()
            (handle_id,) = [k for k in of_type(template, HANDLE) if not k.startswith("BedrockJobCompletionNotifier")]
            # What refers to them follows: the Ref, the notifier's metadata, the reader's DependsOn.
            assert condition["Properties"]["Handle"] == {"Ref": handle_id}
            assert condition["Metadata"][WAITS_FOR]["handle"] == handle_id
            assert condition["Metadata"][WAITS_FOR]["job"] in template
            ((_, result),) = of_type(template, RESULT).items()
            assert result["DependsOn"] == [condition_id]
            return condition_id, handle_id, template

        unchanged, overridden, renamed, by_aspect, kept = (
            waits(change) for change in ("none", "override", "rename", "aspect", "override to its own")
        )
        assert overridden[2][overridden[0]]["Metadata"][WAITS_FOR]["job"] == "SupportJob"
        assert renamed[2][renamed[0]]["Metadata"][WAITS_FOR]["job"] == "RenamedJob"
        assert by_aspect[2][by_aspect[0]]["Metadata"][WAITS_FOR]["job"] == "AspectJob"
        changed = [unchanged[:2], overridden[:2], renamed[:2], by_aspect[:2]]
        assert len(set(changed)) == 4
        assert {condition for condition, _ in changed}.isdisjoint({handle for _, handle in changed})
        assert kept[:2] == unchanged[:2]

    def test_every_job_renamed_by_an_aspect_gets_new_waits_and_an_aspect_adding_tags_later_is_no_error(self):
        """Two jobs, both renamed by a stack's aspect: the waits are checked once every job has been visited, not at
        the first. A stack's aspect that adds Tags.of (an aspect of default priority) once it reaches a construct
        after the jobs does not fail the synth (aws-cdk-lib refuses an aspect of lower priority on a node that one of
        higher priority visited)."""
        stack = cdk.Stack(cdk.App(), "TestStack")
        bucket = s3.Bucket(stack, "Data")
        for name in ("First", "Second"):
            custom_model(stack, bucket, name, data_prefix=f"{name}/")
        s3.Bucket(stack, "Later")
        cdk.Aspects.of(stack).add(_JobsRenamedByConstruct(), priority=cdk.AspectPriority.MUTATING)
        cdk.Aspects.of(stack).add(_TagsLater("Later"), priority=cdk.AspectPriority.MUTATING)
        template = resources(stack)
        waits = {c["Metadata"][WAITS_FOR]["job"]: k for k, c in of_type(template, WAIT).items()}
        plain = cdk.Stack(cdk.App(), "TestStack")
        plain_bucket = s3.Bucket(plain, "Data")
        for name in ("First", "Second"):
            custom_model(plain, plain_bucket, name, data_prefix=f"{name}/")
        plain_waits = set(of_type(resources(plain), WAIT))
        assert sorted(waits) == ["FirstRenamed", "SecondRenamed"]
        assert plain_waits.isdisjoint(waits.values())

    def test_a_wait_condition_id_you_gave_is_kept_when_its_job_gets_another(self, stack, bucket):
        trained = custom_model(stack, bucket)
        trained.resource.override_logical_id("SupportJob")
        condition = next(
            c for c in trained.node.find_all() if isinstance(c, cdk.CfnResource) and c.cfn_resource_type == WAIT
        )
        condition.override_logical_id("SupportJobWait")
        handle = next(c for c in trained.node.find_all() if getattr(c, "cfn_resource_type", None) == HANDLE)
        stack.rename_logical_id(stack.get_logical_id(handle), "SupportJobHandle")
        template = resources(stack)
        assert list(of_type(template, WAIT)) == ["SupportJobWait"]
        assert "SupportJobHandle" in of_type(template, HANDLE)

    def test_another_timeout_is_another_wait_condition_and_the_default_keeps_its_id(self):
        """CloudFormation cannot update a wait condition, not even its Timeout: a changed timeout must change the
        wait condition's and the handle's logical ids, and nothing of the job. The default's ids are the job's key,
        as stacks deployed before have them."""
        seen = []
        for hours in (12, 6, 3):
            stack = cdk.Stack(cdk.App(), "TestStack")
            custom_model(stack, s3.Bucket(stack, "Data"), completion=Completion.event_driven(cdk.Duration.hours(hours)))
            template = resources(stack)
            ((job,),) = [list(of_type(template, JOB).values())]
            ((condition_id, condition),) = of_type(template, WAIT).items()
            handle_id = condition["Metadata"][WAITS_FOR]["handle"]
            seen.append((job["Properties"], condition_id, handle_id))
        (job_properties,) = {json.dumps(properties, sort_keys=True) for properties, _, _ in seen}
        key = json.loads(job_properties)["waitConditionKey"]
        assert seen[0][1].startswith(f"ModelWaitingForJob{key}") and seen[0][2].startswith(f"ModelJobWaitHandle{key}")
        assert len({condition_id for _, condition_id, _ in seen}) == 3
        assert len({handle_id for _, _, handle_id in seen}) == 3

    def test_one_notifier_per_stack_finds_every_wait_from_the_stack(self, stack, bucket):
        first, second = custom_model(stack, bucket, "First"), custom_model(stack, bucket, "Second")
        template = resources(stack)
        notifiers = {
            k: v for k, v in of_type(template, "AWS::Lambda::Function").items() if "notifier" in str(v["Properties"])
        }
        ((_, notifier),) = notifiers.items()
        assert notifier["Properties"]["Handler"] == "bedrock_custom_resource.notifier.handle"
        # Nothing in its environment grows with the models: it reads the stack.
        assert notifier["Properties"]["Environment"]["Variables"] == {"STACK_ID": {"Ref": "AWS::StackId"}}
        conditions = of_type(template, WAIT)
        handles = of_type(template, HANDLE)
        waits = {c["Metadata"][WAITS_FOR]["job"]: c for c in conditions.values()}
        assert set(waits) == {logical_id(stack, first.resource), logical_id(stack, second.resource)}
        for job_id, condition in waits.items():
            assert job_id in condition["DependsOn"]
            handle_id = condition["Metadata"][WAITS_FOR]["handle"]
            assert condition["Properties"]["Handle"] == {"Ref": handle_id}
            assert handle_id in handles

        rules = of_type(template, "AWS::Events::Rule")
        patterns = [r["Properties"].get("EventPattern") for r in rules.values()]
        assert {
            "source": ["aws.bedrock"],
            "detail-type": ["Model Customization Job State Change"],
            "account": ["123456789012"],
            "region": ["us-east-1"],
            "detail": {"jobStatus": ["Completed", "Failed", "Stopped"]},
        } in patterns
        schedules = [r["Properties"] for r in rules.values() if "ScheduleExpression" in r["Properties"]]
        assert [(s["ScheduleExpression"], s["Targets"][0]["Input"]) for s in schedules] == [
            ("rate(1 hour)", '{"backstop":true}')
        ]

    def test_the_notifier_hears_its_own_wait_conditions_start_and_nothing_else(self, stack, bucket):
        """CloudFormation's Resource Status Change event (the user guide's event detail, written out here), matched
        by moto's EventBridge pattern matcher: a wait condition of this stack starting, and no other event."""
        custom_model(stack, bucket)
        template = resources(stack)
        stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/S/0f1e2d3c-aaaa-bbbb-cccc-000000000000"
        (rule_id,) = [k for k in of_type(template, "AWS::Events::Rule") if "WaitStarts" in k]
        rule = template[rule_id]["Properties"]
        pattern = EventPattern.load(
            json.dumps(rule["EventPattern"]).replace('{"Ref": "AWS::StackId"}', f'"{stack_id}"')
        )

        def event(**detail: Any) -> dict[str, Any]:
            fields = {
                "stack-id": stack_id,
                "logical-resource-id": "ModelWaitingForJobABCD1234",
                "physical-resource-id": "",
                "status-details": {"status": "CREATE_IN_PROGRESS", "status-reason": ""},
                "resource-type": "AWS::CloudFormation::WaitCondition",
                "client-request-token": "Console-CreateStack-7f59c3cf-00d2-40c7-b2ff-e75db0987002",
            }
            return {
                "source": "aws.cloudformation",
                "detail-type": "CloudFormation Resource Status Change",
                "detail": fields | detail,
            }

        assert pattern.matches_event(event())
        assert not pattern.matches_event(
            event(**{"status-details": {"status": "CREATE_COMPLETE", "status-reason": ""}})
        )
        assert not pattern.matches_event(event(**{"resource-type": "AWS::CloudFormation::WaitConditionHandle"}))
        assert not pattern.matches_event(event(**{"stack-id": stack_id.replace("/S/", "/Other/")}))
        (target,) = rule["Targets"]
        assert "Input" not in target  # the event itself, as the notifier reads it
        assert target["Arn"]["Fn::GetAtt"][0].startswith("BedrockJobCompletionNotifierFunction")
        # Made before any wait condition starts: every wait condition waits for the notifier's Ready.
        (ready_id,) = [k for k in of_type(template, HANDLE) if k.startswith("BedrockJobCompletionNotifierReady")]
        assert rule_id in template[ready_id]["DependsOn"]
        assert all(ready_id in condition["DependsOn"] for condition in of_type(template, WAIT).values())

    def test_the_notifier_is_the_same_for_one_model_and_for_ninety(self, bucket):
        """Its function, role and rules do not grow with the stack's models (Lambda allows 4 KB of variables)."""

        def notifier_resources(models: int) -> dict[str, Any]:
            stack = cdk.Stack(cdk.App(), "Many")
            for number in range(models):
                custom_model(stack, s3.Bucket.from_bucket_name(stack, f"Data{number}", "data"), f"Model{number}")
            return {k: v for k, v in resources(stack).items() if k.startswith("BedrockJobCompletionNotifier")}

        assert notifier_resources(1) == notifier_resources(90)

    def test_the_notifier_reads_only_the_jobs_tagged_with_its_stack_and_lists_only_its_stack(self, stack, bucket):
        custom_model(stack, bucket, "First"), custom_model(stack, bucket, "Second")
        template = resources(stack)
        policies = of_type(template, "AWS::IAM::Policy")
        notifier_statements = [
            statement
            for policy in policies.values()
            if "BedrockJobCompletionNotifierRole" in json.dumps(policy["Properties"]["Roles"])
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        (read,) = [s for s in notifier_statements if "bedrock" in json.dumps(s["Action"])]
        assert read["Action"] == "bedrock:GetModelCustomizationJob"
        assert json.dumps(read["Resource"]).endswith(':model-customization-job/*"]]}')
        # The handler tags every job with its stack's id (tests/handler/test_customization_job.py).
        assert read["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": {"Ref": "AWS::StackId"}}}
        (stack_reads,) = [s for s in notifier_statements if "cloudformation" in json.dumps(s["Action"])]
        assert sorted(stack_reads["Action"]) == [
            "cloudformation:DescribeStackResource",
            "cloudformation:ListStackResources",
        ]
        assert stack_reads["Resource"] == {"Ref": "AWS::StackId"}
        assert len(notifier_statements) == 3  # and the log group's

    def test_the_notifier_and_its_rules_never_wait_for_a_job(self, stack, bucket):
        """If they did, a job ordered after another (or created later) would hold back the other's signal."""
        custom_model(stack, bucket, "First")
        custom_model(stack, bucket, "Second")
        template = resources(stack)
        job_ids = set(of_type(template, JOB))
        pending = [k for k in template if k.startswith("BedrockJobCompletionNotifier")]
        seen: set[str] = set()
        while pending:  # everything the notifier's resources depend on, directly or through references
            current = pending.pop()
            if current in seen or current not in template:
                continue
            seen.add(current)
            text = json.dumps(template[current])
            pending += [other for other in template if f'"{other}"' in text]
        assert not seen & job_ids

    @pytest.mark.parametrize("hours", [12, 6], ids=["default-timeout", "six-hours"])
    def test_a_replacing_change_makes_a_new_wait_and_a_tag_change_does_not(self, bucket, hours):
        """CloudFormation's WaitCondition waits only when it is made ("Updates aren't supported"): a replaced job
        needs a new one, whatever its timeout."""

        def wait_ids(epochs: int, tag: str) -> set[str]:
            stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
            data = s3.Bucket(stack, "Data")
            completion = Completion.event_driven(cdk.Duration.hours(hours))
            custom_model(
                stack, data, hyper_parameters={"epochCount": epochs}, job_tags={"owner": tag}, completion=completion
            )
            waits = set(of_type(resources(stack), WAIT)) | set(of_type(resources(stack), HANDLE))
            return {wait for wait in waits if not wait.startswith("BedrockJobCompletionNotifier")}

        assert wait_ids(1, "a") == wait_ids(1, "b")
        assert wait_ids(1, "a").isdisjoint(wait_ids(2, "a"))

    def test_a_wait_key_looks_up_no_logical_id_for_a_reference_to_another_kind_of_resource(
        self, stack, bucket, monkeypatch
    ):
        """A model's own role (its Arn) is no resource of this library: keying the next model's wait does not look
        up the logical ids of the earlier models' resources (a jsii round trip each)."""
        looked_up: list[str] = []
        get_logical_id = cdk.Stack.get_logical_id

        def counting(self: cdk.Stack, element: cdk.CfnElement) -> str:
            looked_up.append(element.node.id)
            return get_logical_id(self, element)

        custom_model(stack, bucket)
        monkeypatch.setattr(cdk.Stack, "get_logical_id", counting)
        custom_model(stack, bucket, hyper_parameters={"epochCount": 3}, construct_id="Second")
        monkeypatch.undo()
        assert "CompletedJob" not in looked_up


class TestPolling:
    def test_the_job_resource_itself_waits_and_has_the_attributes(self, stack, bucket):
        polled = custom_model(stack, bucket, completion=Completion.polling())
        template = resources(stack)
        job_id = logical_id(stack, polled.resource)
        assert "waitUntil" not in template[job_id]["Properties"]
        assert stack.resolve(polled.output_model_arn) == {"Fn::GetAtt": [job_id, "outputModelArn"]}
        assert not of_type(template, WAIT) and not of_type(template, RESULT)
        assert not [k for k in template if k.startswith("BedrockJobCompletionNotifier")]


class TestNoWait:
    def test_only_the_job_is_available_and_reading_the_model_explains_why_not(self, stack, bucket):
        started = custom_model(stack, bucket, completion=Completion.no_wait())
        template = resources(stack)
        job_id = logical_id(stack, started.resource)
        assert template[job_id]["Properties"]["waitUntil"] == "Validated"
        assert stack.resolve(started.job_arn) == {"Fn::GetAtt": [job_id, "jobArn"]}
        assert stack.resolve(started.job_name) == {"Fn::GetAtt": [job_id, "jobName"]}
        for attribute in ("output_model_arn", "output_model_name"):
            with pytest.raises(ValueError, match=r"not available with Completion.no_wait\(\).*before the job has made"):
                getattr(started, attribute)
        with pytest.raises(ValueError, match="no_wait"):
            started.add_deployment("OnDemand")
        assert not of_type(template, WAIT) and not [k for k in template if k.startswith("BedrockJobCompletion")]


class TestCompletedAttribute:
    """Any attribute of the completed job: the reader's when event-driven (the job resource answers once Bedrock
    accepts the job, before it has losses), the job resource's when polled."""

    def test_event_driven_reads_it_from_the_completed_job_reader(self, stack, bucket):
        trained = custom_model(stack, bucket)
        ((reader_id, _reader),) = of_type(resources(stack), RESULT).items()
        assert stack.resolve(trained.completed_attribute("trainingLoss")) == {"Fn::GetAtt": [reader_id, "trainingLoss"]}

    def test_polled_reads_it_from_the_job_resource(self, stack, bucket):
        polled = custom_model(stack, bucket, completion=Completion.polling())
        job_id = logical_id(stack, polled.resource)
        assert stack.resolve(polled.completed_attribute("validationLoss")) == {"Fn::GetAtt": [job_id, "validationLoss"]}

    def test_a_name_the_job_does_not_answer_is_refused_naming_it(self, stack, bucket):
        trained = custom_model(stack, bucket)
        with pytest.raises(
            ValueError,
            match=r"completed_attribute: 'trainingloss' is not an attribute of "
            r"Custom::BedrockModelCustomizationJobResult; it answers .*trainingLoss",
        ):
            trained.completed_attribute("trainingloss")

    def test_no_wait_has_no_completed_job_to_read(self, stack, bucket):
        started = custom_model(stack, bucket, completion=Completion.no_wait())
        with pytest.raises(ValueError, match=r"trainingLoss is not available with Completion.no_wait\(\)"):
            started.completed_attribute("trainingLoss")


@pytest.mark.parametrize("how", ["override_logical_id", "rename_logical_id"])
def test_what_refers_to_a_job_follows_its_logical_id_when_it_is_overridden_or_renamed(stack, bucket, how):
    """aws-cdk-lib's escape hatches: CfnElement.override_logical_id, Stack.rename_logical_id. The completed-job
    reader's Ref, the wait condition's Ref of its handle and the notifier's metadata name the ids in the template,
    whatever they become (a Ref of an id not in the template fails the deploy)."""
    trained = custom_model(stack, bucket)
    job = trained.resource
    if how == "override_logical_id":
        job.override_logical_id("SupportJob")
    else:
        stack.rename_logical_id(logical_id(stack, job), "SupportJob")
    template = resources(stack)
    assert "SupportJob" in template
    (reader,) = of_type(template, "Custom::BedrockModelCustomizationJobResult").values()
    assert reader["Properties"]["jobIdentifier"] == {"Ref": "SupportJob"}
    (handle_id,) = [name for name in of_type(template, HANDLE) if name.startswith("ModelJobWaitHandle")]
    (condition,) = [r for r in template.values() if r["Type"] == "AWS::CloudFormation::WaitCondition"]
    assert condition["Properties"]["Handle"] == {"Ref": handle_id}
    assert condition["Metadata"][WAITS_FOR] == {"job": "SupportJob", "handle": handle_id}
    assert _refs(template) <= set(template)  # every Ref names a resource of the template


def _refs(template: dict[str, Any]) -> set[str]:
    """Every logical id a Ref of the template names."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
                found.add(value["Ref"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(template)
    return found


@pytest.mark.parametrize("setting", ["backstop_interval", "check_interval"])
def test_a_schedule_longer_than_the_longest_wait_is_refused(setting):
    """A wait condition waits at most 12 hours (its Timeout, 43200 s): a backstop that looks less often cannot settle
    a wait whose event was lost before it times out."""
    stack = cdk.Stack(cdk.App(), "Schedules")
    with pytest.raises(ValueError, match=f"{setting}: 12 hours 1 minute is longer than 12 hours"):
        JobCompletionNotifier.of(stack, **{setting: cdk.Duration.minutes(721)})
    JobCompletionNotifier.of(stack, **{setting: cdk.Duration.hours(12)})


def _copy(stack: cdk.Stack, completion: Completion) -> IConstruct:
    source = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/abcdefghijkl"
    return CopiedCustomModel(stack, "Copy", source_model=source, completion=completion)


def _import(stack: cdk.Stack, completion: Completion) -> IConstruct:
    weights = S3Data.from_uri("s3://weights-bucket/llama/")
    return ImportedModel(stack, "OpenWeights", model_data=weights, completion=completion)


def _evaluation(stack: cdk.Stack, completion: Completion) -> IConstruct:
    bucket = s3.Bucket.from_bucket_name(stack, f"EvaluationData{len(stack.node.children)}", "evaluation-data")
    return evaluation(stack, bucket, completion=completion)


@pytest.mark.parametrize("make", [_copy, _import, _evaluation], ids=["copy", "import", "evaluation"])
def test_a_wait_for_a_job_without_events_outlasts_the_checks_that_see_it_end(make):
    """Import, copy and evaluation jobs emit no events: the notifier sees one ended only when it checks, every
    check_interval (5 minutes by default). A wait no longer than that would time out after the job ended, and roll
    the stack back: it is refused, and nothing is left; one a minute longer is made."""
    stack = cdk.Stack(cdk.App(), "Checks")
    with pytest.raises(
        ValueError,
        match=r"^completion: a timeout of 5 minutes is not longer than the notifier's check_interval \(5 minutes\)",
    ):
        make(stack, Completion.event_driven(cdk.Duration.minutes(5)))
    assert [child.node.id for child in stack.node.children if not child.node.id.startswith("EvaluationData")] == []
    make(stack, Completion.event_driven(cdk.Duration.minutes(6)))

    stack = cdk.Stack(cdk.App(), "SlowChecks")
    JobCompletionNotifier.of(stack, check_interval=cdk.Duration.minutes(90))
    with pytest.raises(ValueError, match=r"of 1 hour is not longer than .* check_interval \(1 hour 30 minutes\)"):
        make(stack, Completion.event_driven(cdk.Duration.hours(1)))
    make(stack, Completion.event_driven())  # 12 hours


def test_an_import_jobs_wait_starts_only_once_the_checks_that_see_it_end_exist(stack):
    """Import jobs emit no events (the user guide lists customization and batch inference jobs' state changes only):
    only the notifier's scheduled checks see one end, so its wait condition must come after their rule."""
    _import(stack, Completion.event_driven())
    template = resources(stack)
    (wait,) = of_type(template, WAIT)
    checks = [
        logical_id
        for logical_id, rule in of_type(template, "AWS::Events::Rule").items()
        if "ScheduleExpression" in rule["Properties"]
    ]
    assert len(checks) == 2  # the backstop and the checks
    assert set(checks) <= depends_on(template)[wait]


def backstop_warnings(stack: cdk.Stack) -> list[Any]:
    return Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("backstop_interval"))


def test_a_customization_jobs_wait_may_be_shorter_than_the_checks_as_its_events_settle_it(stack, bucket):
    """Made, with a warning: Bedrock sends events on a best-effort basis (the user guide's EventBridge page), and a
    wait no longer than the backstop's rate may time out before the backstop first looks at a job whose event was
    lost."""
    JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.hours(2), check_interval=cdk.Duration.hours(2))
    custom_model(stack, bucket, completion=Completion.event_driven(cdk.Duration.minutes(30)))
    (warning,) = backstop_warnings(stack)
    assert warning.id == "/TestStack/Model"
    assert "a wait of 30 minutes is not longer than the notifier's backstop_interval (2 hours)" in warning.entry.data


@pytest.mark.parametrize(("wait_minutes", "warned"), [(60, True), (61, False), (12 * 60, False)])
def test_a_wait_is_warned_of_only_when_it_is_not_longer_than_the_default_hourly_backstop(
    stack, bucket, wait_minutes, warned
):
    custom_model(stack, bucket, completion=Completion.event_driven(cdk.Duration.minutes(wait_minutes)))
    assert len(backstop_warnings(stack)) == warned


def test_a_backstop_interval_known_only_at_deploy_warns_of_no_wait(stack, bucket):
    minutes = cdk.CfnParameter(stack, "BackstopMinutes", type="Number").value_as_number
    JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.minutes(minutes))
    custom_model(stack, bucket, completion=Completion.event_driven(cdk.Duration.minutes(30)))
    assert backstop_warnings(stack) == []
