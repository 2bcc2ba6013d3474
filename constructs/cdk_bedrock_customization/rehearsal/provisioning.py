"""How each kind of resource is made, changed and removed, one resource at a time: a custom resource through
a request to its ServiceToken (the CDK's cross-Region references are played in SSM: cross_region_exports; its
BucketDeployment and a bucket's auto_delete_objects in S3: bucket_deployments, auto_delete_objects), a wait
condition handle and a wait condition locally, a single function in Lambda too, a bucket in moto's S3 as well
(buckets.py: made on create, tagged on each update, deleted when empty); everything else (IAM, Lambda, Step
Functions, Logs, EventBridge) is recorded with plausible Ref and Fn::GetAtt values (resources.py), after the limits
AWS checks (limits.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from itertools import count
from typing import Any

from botocore.exceptions import ClientError

from . import auto_delete_objects, bucket_deployments, buckets, cross_region_exports
from .custom_resources import CustomResourceRequests, is_custom
from .framework_host import FRAMEWORK_MODULE
from .lambda_service import FUNCTION, LambdaService
from .limits import resource_refusal
from .resources import bucket_name, plausible
from .single_function import HANDLER as SINGLE_FUNCTION_HANDLER
from .stack_resources import Deployed, ResourceFailed, StackResources
from .template import Environment, Template
from .wait_conditions import WaitConditions

BUCKET = "AWS::S3::Bucket"


NESTED_STACK = "AWS::CloudFormation::Stack"


def not_rehearsed(template: Template) -> str | None:
    """Why the rehearsal cannot play a template, or None: a custom resource whose ServiceToken is a Node.js function
    of the stack other than the Provider framework's (aws-cdk-lib's AwsCustomResource) would get no response, and
    fail an hour later naming nothing. Those the rehearsal plays itself are not refused. Nor are nested stacks
    played: reported done with nothing in them made, they would hide what their models do; nor wait conditions
    signalled by SignalResource (a CreationPolicy, no Handle); nor transforms (Fn::ForEach, SAM), whose template is
    not CloudFormation's own until they make it."""
    if "Transform" in template.body:
        return f"Transform {template.body['Transform']}: the rehearsal plays no transform; rehearse what it makes"
    for logical_id, resource in template.resources.items():
        resource_type = str(resource.get("Type", ""))
        if resource_type == NESTED_STACK:
            return (
                f"{logical_id} ({NESTED_STACK}): a nested stack, whose resources the rehearsal does not play; "
                "rehearse its models in a stack of their own"
            )
        if resource_type == "AWS::CloudFormation::WaitCondition" and "Handle" not in resource.get("Properties", {}):
            return (
                f"{logical_id} ({resource_type}): a wait condition without a Handle (one with a CreationPolicy, "
                "signalled by SignalResource), which the rehearsal does not play"
            )
        played_here = any(
            module.handles(resource_type) for module in (bucket_deployments, cross_region_exports, auto_delete_objects)
        )
        if not is_custom(resource_type) or played_here:
            continue
        token = resource.get("Properties", {}).get("ServiceToken")
        target = token.get("Fn::GetAtt", [None])[0] if isinstance(token, dict) else None
        function = template.resources.get(target) if isinstance(target, str) else None
        if function is None or function.get("Type") != FUNCTION:
            continue
        runtime, handler = (str(function.get("Properties", {}).get(name, "")) for name in ("Runtime", "Handler"))
        if runtime.startswith("nodejs") and handler.split(".")[0] != FRAMEWORK_MODULE:
            return (
                f"{logical_id} ({resource_type}): its function {target} runs Node.js code ({handler}), and the "
                "rehearsal runs only the Provider framework's"
            )
    return None


class Provisioner:
    """Creates, updates and deletes one stack's physical resources; ResourceFailed when that fails. resources:
    the stack's records (a bucket deployment reads the cloud assembly's assets and its bucket's Tags there)."""

    def __init__(
        self,
        env: Environment,
        custom_resources: CustomResourceRequests,
        wait_conditions: WaitConditions,
        functions: LambdaService,
        resources: StackResources,
    ) -> None:
        self.env = env
        self.custom_resources = custom_resources
        self.wait_conditions = wait_conditions
        self.functions = functions
        self.resources = resources

    def create(self, logical_id: str, resource_type: str, properties: dict[str, Any], generation: int) -> Deployed:
        if bucket_deployments.handles(resource_type):
            physical_id, data = self._bucket_deployment("Create", logical_id, properties, None, None)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if cross_region_exports.handles(resource_type):
            physical_id, data = self._cross_region("Create", resource_type, properties, None, logical_id)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if auto_delete_objects.handles(resource_type):
            physical_id = self._auto_delete("Create", logical_id, properties, None, None)
            return Deployed(logical_id, resource_type, physical_id, properties, {}, generation)
        if is_custom(resource_type):
            physical_id, data = self.custom_resources.send("Create", logical_id, resource_type, properties, None, None)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if resource_type == "AWS::CloudFormation::WaitConditionHandle":
            return Deployed(logical_id, resource_type, self.wait_conditions.new_handle(logical_id), properties)
        if resource_type == "AWS::CloudFormation::WaitCondition":
            refusal = resource_refusal(logical_id, resource_type, properties)
            if refusal is not None:
                raise ResourceFailed(f"{logical_id}: {refusal}")
            return self.wait_conditions.wait(logical_id, properties)
        deployed = self._recorded(logical_id, resource_type, properties, generation)
        if resource_type == BUCKET:
            return self._made_bucket(deployed)
        if resource_type == FUNCTION and properties.get("Handler") == SINGLE_FUNCTION_HANDLER:
            self.functions.start_single_function(deployed)
        return deployed

    def update(self, existing: Deployed, properties: dict[str, Any]) -> Deployed:
        logical_id, resource_type, generation = existing.logical_id, existing.resource_type, existing.generation
        if bucket_deployments.handles(resource_type):
            physical_id, data = self._bucket_deployment(
                "Update", logical_id, properties, existing.properties, existing.physical_id
            )
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if cross_region_exports.handles(resource_type):
            _, data = self._cross_region("Update", resource_type, properties, existing.properties, logical_id)
            # aws-cdk-lib's handlers answer no physical id: its entry point keeps the resource's, so an update never
            # replaces one (a replacement's cleanup Delete would delete every parameter it had exported).
            return Deployed(logical_id, resource_type, existing.physical_id, properties, data, generation)
        if auto_delete_objects.handles(resource_type):
            physical_id = self._auto_delete("Update", logical_id, properties, existing.properties, existing.physical_id)
            return Deployed(logical_id, resource_type, physical_id, properties, {}, generation)
        if is_custom(resource_type):
            physical_id, data = self.custom_resources.send(
                "Update", logical_id, resource_type, properties, existing.properties, existing.physical_id
            )
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if resource_type.startswith("AWS::CloudFormation::Wait"):
            raise ResourceFailed(f"{logical_id}: CloudFormation cannot update a wait condition")
        # A recorded resource keeps its physical id unless a name it was given changed.
        updated = self._recorded(logical_id, resource_type, properties, generation)
        if resource_type == BUCKET:
            if properties.get("BucketName") != existing.properties.get("BucketName"):
                return self._made_bucket(updated)  # a replacement: the old bucket goes in the cleanup
            # The same bucket (its generated name may have been drawn again at its create), with the Tags
            # CloudFormation sets (a bucket deployment's "owned" tag comes and goes with them).
            updated = replace(updated, physical_id=existing.physical_id, attributes=existing.attributes)
            buckets.tag(self.env.region, updated.physical_id, properties.get("Tags", []))
        return updated

    def delete(self, deployed: Deployed) -> None:
        if bucket_deployments.handles(deployed.resource_type):
            self._bucket_deployment("Delete", deployed.logical_id, deployed.properties, None, deployed.physical_id)
            return
        if cross_region_exports.handles(deployed.resource_type):
            self._cross_region("Delete", deployed.resource_type, deployed.properties, None, deployed.logical_id)
            return
        if auto_delete_objects.handles(deployed.resource_type):
            self._auto_delete("Delete", deployed.logical_id, deployed.properties, None, deployed.physical_id)
            return
        if is_custom(deployed.resource_type):
            self.custom_resources.send(
                "Delete", deployed.logical_id, deployed.resource_type, deployed.properties, None, deployed.physical_id
            )
        if deployed.resource_type == FUNCTION:
            self.functions.forget(deployed)
        if deployed.resource_type == BUCKET:
            try:
                buckets.delete(self.env.region, deployed.physical_id)
            except buckets.BucketNotEmpty as refusal:
                raise ResourceFailed(f"{deployed.logical_id}: {refusal}") from refusal

    @staticmethod
    def _cross_region(
        request_type: str,
        resource_type: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any] | None,
        logical_id: str,
    ) -> tuple[str, dict[str, str]]:
        try:
            return cross_region_exports.apply(request_type, resource_type, properties, old_properties)
        except ClientError as error:
            raise ResourceFailed(f"{logical_id}: {error}") from error

    def _auto_delete(
        self,
        request_type: str,
        logical_id: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any] | None,
        physical_id: str | None,
    ) -> str:
        try:
            return auto_delete_objects.apply(request_type, properties, old_properties, physical_id, self.env.region)
        except auto_delete_objects.DeleteFailed as error:
            raise ResourceFailed(f"{logical_id}: {error}") from error

    def _bucket_deployment(
        self,
        request_type: str,
        logical_id: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any] | None,
        physical_id: str | None,
    ) -> tuple[str, dict[str, Any]]:
        """A Custom::CDKBucketDeployment request, played in moto's S3. A failure is answered as the handler
        answers it: with the request's physical id, or on a Create, its log stream's name (CloudFormation keeps
        it, and a rollback sends it a Delete)."""
        place = bucket_deployments.Place(self.env.region, tuple(self.resources.assembly_dirs), self._bucket_tags)
        try:
            answer = bucket_deployments.apply(request_type, properties, old_properties, physical_id, place)
        except bucket_deployments.NotPlayed as refusal:
            raise ResourceFailed(f"{logical_id}: the rehearsal does not play this: {refusal}") from refusal
        except bucket_deployments.DeploymentFailed as error:
            day = self.custom_resources.clock.moment().strftime("%Y/%m/%d")
            log_stream = f"{day}/[$LATEST]{uuid.uuid4().hex}"
            raise ResourceFailed(f"{logical_id}: {error}", physical_id or log_stream) from error
        return answer

    def _bucket_tags(self, bucket: str) -> list[dict[str, str]]:
        """The Tags of the stack's bucket of that name (none: the bucket is not the stack's)."""
        deployed = self.resources.find(BUCKET, bucket)
        return list(deployed.properties.get("Tags", [])) if deployed is not None else []

    def _made_bucket(self, deployed: Deployed) -> Deployed:
        """The bucket, made in moto under its name (see buckets.py). A generated name that a bucket has already is
        drawn again; a BucketName that a bucket has already fails, as CloudFormation fails it."""
        logical_id, properties, region = deployed.logical_id, deployed.properties, self.env.region
        for attempt in count(1):
            if not buckets.exists(region, deployed.physical_id):
                break
            if properties.get("BucketName"):
                raise ResourceFailed(f"{logical_id}: {deployed.physical_id} already exists")
            name = bucket_name(self.env, logical_id, deployed.generation, salt=str(attempt))
            physical_id, attributes = plausible(
                BUCKET, logical_id, {**properties, "BucketName": name}, self.env, deployed.generation
            )
            deployed = replace(deployed, physical_id=physical_id, attributes=attributes)
        buckets.make(region, deployed.physical_id, properties.get("Tags", []))
        return deployed

    def _recorded(self, logical_id: str, resource_type: str, properties: dict[str, Any], generation: int) -> Deployed:
        """A resource that is only recorded, once AWS's limits allow it."""
        refusal = resource_refusal(logical_id, resource_type, properties)
        if refusal is not None:
            raise ResourceFailed(f"{logical_id}: {refusal}")
        physical_id, attributes = plausible(resource_type, logical_id, properties, self.env, generation)
        return Deployed(logical_id, resource_type, physical_id, properties, attributes, generation)
