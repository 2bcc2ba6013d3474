"""How each kind of resource is made, changed and removed, one resource at a time: a custom resource through
a request to its ServiceToken (the CDK's cross-Region references are played in SSM: cross_region_exports), a wait
condition handle and a wait condition locally, a single function in Lambda too; everything else (IAM, S3, Lambda,
Step Functions, Logs, EventBridge) is recorded with plausible Ref and Fn::GetAtt values (resources.py), after the
limits AWS checks (limits.py)."""

from __future__ import annotations

from typing import Any

from . import cross_region_exports
from .custom_resources import CustomResourceRequests, is_custom
from .lambda_service import FUNCTION, LambdaService
from .limits import resource_refusal
from .resources import plausible
from .single_function import HANDLER as SINGLE_FUNCTION_HANDLER
from .stack_resources import Deployed, ResourceFailed
from .template import Environment
from .wait_conditions import WaitConditions


class Provisioner:
    """Creates, updates and deletes one stack's physical resources; ResourceFailed when that fails."""

    def __init__(
        self,
        env: Environment,
        custom_resources: CustomResourceRequests,
        wait_conditions: WaitConditions,
        functions: LambdaService,
    ) -> None:
        self.env = env
        self.custom_resources = custom_resources
        self.wait_conditions = wait_conditions
        self.functions = functions

    def create(self, logical_id: str, resource_type: str, properties: dict[str, Any], generation: int) -> Deployed:
        if cross_region_exports.handles(resource_type):
            physical_id, data = self._cross_region("Create", resource_type, properties, None, logical_id)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if is_custom(resource_type):
            physical_id, data = self.custom_resources.send("Create", logical_id, resource_type, properties, None, None)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if resource_type == "AWS::CloudFormation::WaitConditionHandle":
            return Deployed(logical_id, resource_type, self.wait_conditions.new_handle(logical_id), properties)
        if resource_type == "AWS::CloudFormation::WaitCondition":
            return self.wait_conditions.wait(logical_id, properties)
        deployed = self._recorded(logical_id, resource_type, properties, generation)
        if resource_type == FUNCTION and properties.get("Handler") == SINGLE_FUNCTION_HANDLER:
            self.functions.start_single_function(deployed)
        return deployed

    def update(self, existing: Deployed, properties: dict[str, Any]) -> Deployed:
        logical_id, resource_type, generation = existing.logical_id, existing.resource_type, existing.generation
        if cross_region_exports.handles(resource_type):
            physical_id, data = self._cross_region("Update", resource_type, properties, existing.properties, logical_id)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if is_custom(resource_type):
            physical_id, data = self.custom_resources.send(
                "Update", logical_id, resource_type, properties, existing.properties, existing.physical_id
            )
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if resource_type.startswith("AWS::CloudFormation::Wait"):
            raise ResourceFailed(f"{logical_id}: CloudFormation cannot update a wait condition")
        # A recorded resource keeps its physical id unless a name it was given changed.
        return self._recorded(logical_id, resource_type, properties, generation)

    def delete(self, deployed: Deployed) -> None:
        if cross_region_exports.handles(deployed.resource_type):
            self._cross_region("Delete", deployed.resource_type, deployed.properties, None, deployed.logical_id)
            return
        if is_custom(deployed.resource_type):
            self.custom_resources.send(
                "Delete", deployed.logical_id, deployed.resource_type, deployed.properties, None, deployed.physical_id
            )
        if deployed.resource_type == FUNCTION:
            self.functions.forget(deployed)

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
        except cross_region_exports.ExportInUse as error:
            raise ResourceFailed(f"{logical_id}: {error}") from error

    def _recorded(self, logical_id: str, resource_type: str, properties: dict[str, Any], generation: int) -> Deployed:
        """A resource that is only recorded, once AWS's limits allow it."""
        refusal = resource_refusal(logical_id, resource_type, properties)
        if refusal is not None:
            raise ResourceFailed(f"{logical_id}: {refusal}")
        physical_id, attributes = plausible(resource_type, logical_id, properties, self.env, generation)
        return Deployed(logical_id, resource_type, physical_id, properties, attributes, generation)
