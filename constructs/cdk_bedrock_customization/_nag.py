"""cdk-nag suppressions, written as the metadata cdk-nag reads, so the library does not depend on cdk-nag."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from constructs import Construct, IConstruct


def suppress(scope: Construct, *rules: tuple[str, str]) -> None:
    """Suppress these (rule id, reason) pairs on every CloudFormation resource under scope,
    including those added later in the app's life (the aspect runs at synth, before cdk-nag's)."""
    cdk.Aspects.of(scope).add(_Suppress(rules), priority=cdk.AspectPriority.MUTATING)


@jsii.implements(cdk.IAspect)
class _Suppress:
    def __init__(self, rules: tuple[tuple[str, str], ...]) -> None:
        self._rules = [{"id": rule, "reason": reason} for rule, reason in rules]

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cdk.CfnResource):
            existing = node.get_metadata("cdk_nag") or {}
            known = existing.get("rules_to_suppress", [])
            node.add_metadata("cdk_nag", {"rules_to_suppress": known + [r for r in self._rules if r not in known]})
