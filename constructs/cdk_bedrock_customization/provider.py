"""The stack's one provider, shared by every model in the stack: the Provider framework (the default) or a
single function on crhelper."""

from __future__ import annotations

import enum
import importlib.metadata
import shutil
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import bedrock_custom_resource
import bedrock_single_function
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from bedrock_custom_resource import contract, environment
from bedrock_custom_resource.environment import PASSABLE_ROLES_VARIABLE
from bedrock_custom_resource.lifecycle import (
    DEFAULT_MAX_CONCURRENT_JOBS,
    FINGERPRINT_TAG,
    STACK_TAG,
)

from constructs import Construct, IDependable

from ._nag import acknowledge, wildcard_resources
from ._tokens import is_unresolved
from .limits import check_limits

PROVIDER_ID = "BedrockCustomizationProvider"
POLLING_WARNING_ID = "cdk-bedrock-customization:jobLongerThanTotalTimeout"
HANDLER_PACKAGE = Path(bedrock_custom_resource.__file__).parent
SINGLE_FUNCTION_PACKAGE = Path(bedrock_single_function.__file__).parent
# The newest Python runtime that aws-cdk-lib offers (a test fails when a newer one appears).
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# CloudFormation waits at most one hour for any custom resource (ServiceTimeout is at most 3600 s).
MAX_TOTAL_TIMEOUT = cdk.Duration.hours(1)
DEFAULT_QUERY_INTERVAL = cdk.Duration.minutes(1)
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
UNWAITED_JOBS_WARNING_ID = "cdk-bedrock-customization:unwaitedJobsBeyondConcurrencyLimit"
# The single function's Lambda timeout bounds crhelper's response PUT, which it retries without end. Two
# minutes leave room for a Bedrock call's standard retries (8 attempts, backoff up to 20 s) and the answer.
SINGLE_FUNCTION_TIMEOUT = cdk.Duration.minutes(2)
# What the single function's polling rules are named after (plus a per-stack id and a per-request hash).
POLLING_RULE_PREFIX = "bedrock-cr-"
# Lambda needs none of the typing files.
_IGNORED_FILES = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi", "py.typed")


class ProviderKind(enum.Enum):
    """How the custom resources of a stack are run."""

    #: aws-cdk-lib's Provider framework: on_event and is_complete functions, three framework functions and
    #: a Step Functions waiter (15 resources per stack). The default.
    FRAMEWORK = "framework"
    #: One function on crhelper that is itself the ServiceToken and polls through an EventBridge schedule
    #: rule per waiting request (5 resources per stack).
    SINGLE_FUNCTION = "single-function"


@jsii.implements(cdk.ILocalBundling)
class _CopyPackages:
    """Lays packages out under /var/task, so that they import as they do here. Plain copies: no Docker,
    and the same bytes on every machine."""

    def __init__(self, packages: Iterable[Path], license_files: Iterable[Path] = ()) -> None:
        self.packages = list(packages)
        self.license_files = list(license_files)

    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        for package in self.packages:
            shutil.copytree(package, Path(output_dir) / package.name, ignore=_IGNORED_FILES)
        for license_file in self.license_files:
            shutil.copyfile(license_file, Path(output_dir) / "crhelper" / license_file.name)
        return True


def _bundled_code(source: Path, bundler: _CopyPackages, hash_type: cdk.AssetHashType) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source),
        exclude=["**/__pycache__", "**/*.pyc"],
        asset_hash_type=hash_type,
        bundling=cdk.BundlingOptions(
            # Never pulled or run: local bundling always succeeds.
            image=cdk.DockerImage.from_registry("local-bundling-only"),
            local=cast(cdk.ILocalBundling, bundler),
        ),
    )


def handler_code() -> lambda_.Code:
    """The handler package, as /var/task/bedrock_custom_resource (its relative imports work in Lambda)."""
    return _bundled_code(HANDLER_PACKAGE, _CopyPackages([HANDLER_PACKAGE]), cdk.AssetHashType.SOURCE)


def single_function_code() -> lambda_.Code:
    """The single-function provider: its adapter, the handler package, and crhelper from the installed
    distribution with its LICENSE and NOTICE. Hashed by its output, so that another crhelper changes it."""
    crhelper = importlib.metadata.distribution("crhelper")
    files = [Path(str(crhelper.locate_file(file))) for file in crhelper.files or ()]
    package = next(file.parent for file in files if file.name == "__init__.py" and file.parent.name == "crhelper")
    licenses = sorted(file for file in files if file.name in ("LICENSE", "NOTICE") and "dist-info" in str(file))
    bundler = _CopyPackages([SINGLE_FUNCTION_PACKAGE, HANDLER_PACKAGE, package], licenses)
    return _bundled_code(SINGLE_FUNCTION_PACKAGE, bundler, cdk.AssetHashType.OUTPUT)


def handler_function(
    scope: Construct,
    construct_id: str,
    entry: str,
    role: iam.IRole,
    log_group: logs.ILogGroup,
    *,
    description: str,
    code: lambda_.Code | None = None,
    environment: dict[str, str] | None = None,
    timeout: cdk.Duration | None = None,
    package: Path = HANDLER_PACKAGE,
) -> lambda_.Function:
    """A function of this library's handler package (or another package of code), at entry
    (``module.function``)."""
    return lambda_.Function(
        scope,
        construct_id,
        runtime=HANDLER_RUNTIME,
        code=code or handler_code(),
        handler=f"{package.name}.{entry}",
        role=role,
        timeout=timeout or cdk.Duration.minutes(1),
        memory_size=256,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        description=description,
        environment=environment,
    )


class CustomizationProvider(Construct):
    """Runs the custom resources of this library, on the Provider framework (the default) or a single function.

    One is created per stack the first time a model needs it (see ``of``). Create it yourself first, with
    ``CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, query_interval=...)``, to change
    its settings.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        query_interval: cdk.Duration | None = None,
        total_timeout: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS,
        kind: ProviderKind = ProviderKind.FRAMEWORK,
    ) -> None:
        """
        :param query_interval: how often a job is checked; whole minutes for the single function (an
            EventBridge rate). @default 1 minute
        :param total_timeout: how long a deployment waits for a job; at most 1 hour. @default 1 hour
        :param log_retention: how long the handlers' logs are kept. @default one month
        :param max_concurrent_jobs: the most customization jobs (and, separately, model imports) of the
            stack that run at once; later ones start when earlier ones end. @default 2, Bedrock's quota
        :param kind: the Provider framework, or a single function on crhelper with fewer resources (see the
            README). @default ProviderKind.FRAMEWORK
        """
        super().__init__(scope, construct_id)
        self.query_interval = query_interval or DEFAULT_QUERY_INTERVAL
        self.total_timeout = total_timeout or MAX_TOTAL_TIMEOUT
        if not cdk.Token.is_unresolved(self.total_timeout.to_seconds()) and (
            self.total_timeout.to_seconds() > MAX_TOTAL_TIMEOUT.to_seconds()
        ):
            raise ValueError(
                f"total_timeout: {self.total_timeout.to_human_string()} is longer than 1 hour, the most "
                "CloudFormation waits for a custom resource"
            )
        if self.query_interval.to_seconds() > self.total_timeout.to_seconds():
            raise ValueError(
                f"query_interval: {self.query_interval.to_human_string()} is longer than total_timeout "
                f"{self.total_timeout.to_human_string()}"
            )
        if isinstance(max_concurrent_jobs, bool) or not isinstance(max_concurrent_jobs, int) or max_concurrent_jobs < 1:
            raise ValueError(f"max_concurrent_jobs: {max_concurrent_jobs!r} is not a whole number of at least 1")
        if not isinstance(kind, ProviderKind):
            raise ValueError(f"kind: {kind!r} is not a ProviderKind; use ProviderKind.FRAMEWORK or SINGLE_FUNCTION")
        minutes = self.query_interval.to_seconds() / 60
        if kind is ProviderKind.SINGLE_FUNCTION and (minutes < 1 or minutes != int(minutes)):
            raise ValueError(
                f"query_interval: {self.query_interval.to_human_string()} is not a whole number of minutes; the "
                "single-function provider polls through an EventBridge schedule, rate(N minutes)"
            )
        self.kind = kind
        self.max_concurrent_jobs = max_concurrent_jobs
        retention = log_retention or DEFAULT_LOG_RETENTION
        stack = cdk.Stack.of(self)

        self.handler_role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Lets the cdk-bedrock-customization handler manage this stack's Bedrock customization jobs",
        )
        jobs = stack.format_arn(service="bedrock", resource="model-customization-job", resource_name="*")
        models = stack.format_arn(service="bedrock", resource="custom-model", resource_name="*")
        # Resource types per the Service Authorization Reference (DESIGN.md, fact 12; tests/construct/
        # test_iam_reference.py checks every statement): CreateModelCustomizationJob acts on custom and
        # foundation models, never on a job.
        self.handler_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "bedrock:GetModelCustomizationJob",
                    "bedrock:StopModelCustomizationJob",
                    "bedrock:ListTagsForResource",
                    "bedrock:TagResource",
                    "bedrock:UntagResource",
                ],
                resources=[jobs],
            )
        )
        self.handler_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    # The job's output model is a custom model of the account (and so is a base model that is).
                    "bedrock:CreateModelCustomizationJob",
                    # Whether a job's model (or one holding a given model name) exists; imported models too.
                    "bedrock:GetCustomModel",
                    "bedrock:DeleteCustomModel",
                    "bedrock:ListTagsForResource",
                    "bedrock:TagResource",
                    "bedrock:UntagResource",
                ],
                resources=[models],
            )
        )
        # What the provider does for each stack whose resources it runs (its own stack, and any other).
        self._uses: dict[cdk.Stack, StackUse] = {}
        self._use_of: weakref.WeakKeyDictionary[Construct, StackUse] = weakref.WeakKeyDictionary()

        handler_logs = logs.LogGroup(self, "HandlerLogs", retention=retention, removal_policy=cdk.RemovalPolicy.DESTROY)
        handler_logs.grant_write(self.handler_role)
        # What every custom resource of this provider must wait for, besides its ServiceToken.
        self._prerequisites: list[Construct] = []
        if kind is ProviderKind.FRAMEWORK:
            self.service_token = self._framework(handler_logs, retention)
            self._creating_function = self.on_event_function
        else:
            self.service_token = self._single_function(handler_logs)
            self._creating_function = self.function
        _PROVIDERS[stack] = self
        self.polled_types = frozenset(contract.CONTRACTS) if kind is ProviderKind.SINGLE_FUNCTION else frozenset()
        check_limits(self, self.polled_types)
        acknowledge(
            self.handler_role,
            (
                "IAM5",
                "Jobs and models get names generated at deploy time: the handler may act on this account and "
                "Region's customization jobs and custom models only.",
                wildcard_resources(self, [jobs, models]),
            ),
        )

    def _framework(self, handler_logs: logs.ILogGroup, retention: logs.RetentionDays) -> str:
        """aws-cdk-lib's Provider, with on_event and is_complete functions; its ServiceToken."""
        code = handler_code()
        self.on_event_function, self.is_complete_function = (
            handler_function(
                self,
                name,
                f"index.{entry}",
                self.handler_role,
                handler_logs,
                description=f"cdk-bedrock-customization {entry}",
                code=code,
            )
            for name, entry in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=self.query_interval,
            total_timeout=self.total_timeout,
            log_group=logs.LogGroup(
                self, "FrameworkLogs", retention=retention, removal_policy=cdk.RemovalPolicy.DESTROY
            ),
        )
        # Functions that the framework's roles invoke by version (<function ARN>:*).
        invoked = [self.on_event_function, self.is_complete_function] + [
            cast(lambda_.IFunction, child)
            for name in ("framework-isComplete", "framework-onTimeout")
            if (child := self.provider.node.try_find_child(name)) is not None
        ]
        acknowledge(
            self.provider,
            (
                "IAM4",
                "The Provider framework's own functions use AWSLambdaBasicExecutionRole; aws-cdk-lib creates them.",
                ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            ),
            (
                "IAM5",
                "The Provider framework invokes its functions and ours by version (<function ARN>:*).",
                wildcard_resources(self, [f"{function.function_arn}:*" for function in invoked]),
            ),
            (
                "SF1",
                "The framework's waiter state machine is aws-cdk-lib's; the handlers log every step as JSON.",
                None,
            ),
            ("SF2", "X-Ray adds nothing to the framework's short waiter state machine.", None),
        )
        return self.provider.service_token

    def _single_function(self, handler_logs: logs.ILogGroup) -> str:
        """One function on crhelper, itself the ServiceToken; it polls through EventBridge rules it makes."""
        stack = cdk.Stack.of(self)
        # The first group of the stack id's UUID tells this stack's rules from any other's, at deploy time.
        stack_uuid = cdk.Fn.select(2, cdk.Fn.split("/", stack.stack_id))
        rule_prefix = POLLING_RULE_PREFIX + cdk.Fn.select(0, cdk.Fn.split("-", stack_uuid)) + "-"
        rules = stack.format_arn(service="events", resource="rule", resource_name=f"{rule_prefix}*")
        self.function = handler_function(
            self,
            "Function",
            "provider.handler",
            self.handler_role,
            handler_logs,
            description="cdk-bedrock-customization single-function provider",
            code=single_function_code(),
            package=SINGLE_FUNCTION_PACKAGE,
            timeout=SINGLE_FUNCTION_TIMEOUT,
            environment={
                environment.RULE_PREFIX_VARIABLE: rule_prefix,
                environment.INTERVAL_VARIABLE: str(int(self.query_interval.to_minutes())),
                environment.TOTAL_TIMEOUT_VARIABLE: str(int(self.total_timeout.to_seconds())),
            },
        )
        self.handler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule"],
                resources=[rules],
            )
        )
        # In a policy of its own: in the role's default policy, which the function waits for, naming the
        # function would be a circular dependency. Custom resources wait for it instead.
        invoke_permissions = iam.Policy(
            self,
            "PollingPermissions",
            roles=[self.handler_role],
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:AddPermission", "lambda:RemovePermission"],
                    resources=[self.function.function_arn],
                )
            ],
        )
        self._prerequisites.append(invoke_permissions)
        acknowledge(
            self.handler_role,
            (
                "IAM5",
                "The single-function provider makes one polling rule per waiting request, named with this "
                "stack's prefix: it may manage those rules only.",
                wildcard_resources(self, [rules]),
            ),
        )
        return self.function.function_arn

    def custom_resource(
        self,
        scope: Construct,
        construct_id: str,
        resource_type: str,
        properties: dict[str, Any],
        removal_policy: cdk.RemovalPolicy | None = None,
        *,
        dependencies: Sequence[IDependable] = (),
        use: StackUse | None = None,
    ) -> cdk.CfnResource:
        """A custom resource that this provider runs, after dependencies. use: scope's (found when not given).

        The L1 resource, as cdk.CustomResource renders it: the L2 adds jsii round trips and nothing used here.
        """
        resource = cdk.CfnResource(
            scope, construct_id, type=resource_type, properties={"ServiceToken": self.service_token, **properties}
        )
        resource.apply_removal_policy(removal_policy or cdk.RemovalPolicy.DESTROY)
        use = use or self.use(scope)
        # The grants made in scope's stack are attached to the handler role of the provider's stack.
        grants = [use.handler] if use.handler is not self.handler_role else []
        after = [*self._prerequisites, *grants, *dependencies]
        if after:
            resource.node.add_dependency(*after)  # one round trip for them all
        return resource

    @classmethod
    def of(cls, scope: Construct, **settings: Any) -> CustomizationProvider:
        """The stack's provider, created with these settings when it does not exist yet."""
        # A model's scope is usually the stack itself: looking it up first saves a jsii round trip.
        existing = _PROVIDERS.get(scope) or _PROVIDERS.get(cdk.Stack.of(scope))
        if existing is None:
            return cls(cdk.Stack.of(scope), PROVIDER_ID, **settings)
        if settings:
            raise ValueError(
                f"{cdk.Stack.of(scope).stack_name} already has its CustomizationProvider; pass settings "
                f"{sorted(settings)} on the first call to CustomizationProvider.of"
            )
        return existing

    def use(self, scope: Construct) -> StackUse:
        """What this provider does for scope's stack: its grants and its job order."""
        use = self._use_of.get(scope)
        if use is None:  # cdk.Stack.of costs a jsii round trip: once per scope
            stack = cdk.Stack.of(scope)
            use = self._uses.get(stack) or self._uses.setdefault(stack, StackUse(self, stack))
            self._use_of[scope] = use
        return use

    def allow_passing_roles(self, role_arns: str) -> None:
        """Let the handler pass any role whose ARN matches role_arns (ending in ``*``) to Bedrock only, for
        templates that bring their own service roles. The handler then refuses, before creating anything,
        a roleArn that does not match: the error names it, rather than IAM's AccessDenied."""
        if not role_arns.endswith("*"):
            raise ValueError(f"role_arns: {role_arns!r} does not end with '*'")
        self.use(self).allow_passing(role_arns)
        self._creating_function.add_environment(PASSABLE_ROLES_VARIABLE, role_arns)


class StackUse:
    """What a provider does for the resources of one stack.

    Their grants are made in their own stack: in the handler role's policy when it is the provider's stack,
    otherwise in a policy of that stack attached to the handler role (so that the provider's stack never
    names another stack's resources, which would be a dependency cycle). Their jobs are ordered within the
    stack.
    """

    def __init__(self, provider: CustomizationProvider, stack: cdk.Stack) -> None:
        self.provider = provider
        self.stack = stack
        own = stack is cdk.Stack.of(provider)
        self.anchor: Construct = provider if own else stack
        self.handler: iam.IRole = (
            provider.handler_role
            if own
            else iam.Role.from_role_arn(
                stack, f"{PROVIDER_ID}Grants{provider.node.addr[:8]}", provider.handler_role.role_arn, mutable=True
            )
        )
        # Statements grown by the stack's resources, by purpose, with the resources they name so far.
        # Python-side sets: reading statement.resources back would cost a jsii round trip per model.
        self._statements: dict[str, tuple[iam.PolicyStatement, set[str]]] = {}
        self._granted_model_arns: dict[str, str] = {}  # model id or ARN -> the ARN granted for it
        self._reasons: dict[str, list[str]] = {}  # wildcard resource -> why it is granted, for cdk-nag
        # What marks the end of each ordered job (and import) of the stack, in declaration order.
        self._ends: dict[str, list[cdk.CfnResource]] = {}
        self._unwaited_jobs = 0
        self._warned_of_polling_limit = False
        if not own:
            check_limits(self.anchor, provider.polled_types)

    def allow_customizing(self, base_model: str, service_role_arn: str | None, own_role: bool = False) -> None:
        """Let the handler start jobs on this base model (an id or ARN), passing this role (if any) to Bedrock
        only. own_role: the role is one this library made in the stack (tagged with its stack)."""
        self._allow("customize", ["bedrock:CreateModelCustomizationJob"], self._model_arn(base_model))
        self._allow_passing_role(service_role_arn, own_role)
        # Lists running jobs only to explain a quota error; the action has no resource type.
        self._allow(
            "list-jobs",
            ["bedrock:ListModelCustomizationJobs"],
            "*",
            reason="ListModelCustomizationJobs has no resource type; the handler lists running jobs only to explain "
            "a quota error.",
        )

    def allow_importing(self, service_role_arn: str | None, own_role: bool = False) -> None:
        """Let the handler import custom models, passing this role (if any) to Bedrock only.

        CreateCustomModel has no resource type: it is granted on ``*``, for requests that tag the new model
        with the configuration tag, which the handler puts on every model it imports. (Reading and deleting
        custom models is granted to every handler.)
        """
        self._allow(
            "import",
            ["bedrock:CreateCustomModel"],
            "*",
            conditions={"StringLike": {f"aws:RequestTag/{FINGERPRINT_TAG}": "*"}},
            reason="CreateCustomModel has no resource type; the statement allows only requests that put the "
            "configuration tag on the new model, as the handler always does.",
        )
        self._allow_passing_role(service_role_arn, own_role)

    def allow_deploying(self, model_arn: str) -> None:
        """Let the handler manage custom model deployments that serve this model."""
        self._allow(
            "deploy-model",
            ["bedrock:CreateCustomModelDeployment", "bedrock:UpdateCustomModelDeployment"],
            self._model_arn(model_arn),
        )
        self._allow(
            "deployments",
            [
                "bedrock:GetCustomModelDeployment",
                "bedrock:UpdateCustomModelDeployment",
                "bedrock:DeleteCustomModelDeployment",
                "bedrock:ListTagsForResource",
                "bedrock:TagResource",
                "bedrock:UntagResource",
            ],
            self._arns("custom-model-deployment"),
        )

    def allow_provisioning(self, model_arn: str) -> None:
        """Let the handler manage provisioned throughput for this model (a custom or foundation model)."""
        self._allow(
            "provision-model",
            ["bedrock:CreateProvisionedModelThroughput", "bedrock:UpdateProvisionedModelThroughput"],
            self._model_arn(model_arn),
        )
        self._allow(
            "provisioned-models",
            [
                "bedrock:GetProvisionedModelThroughput",
                "bedrock:UpdateProvisionedModelThroughput",
                "bedrock:DeleteProvisionedModelThroughput",
                "bedrock:ListTagsForResource",
                "bedrock:TagResource",
                "bedrock:UntagResource",
            ],
            self._arns("provisioned-model"),
        )

    def allow_passing(self, role_arn: str) -> None:
        self._allow(
            "pass-role",
            ["iam:PassRole"],
            role_arn,
            conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            reason="The provider stack's templates pass roles of this path or name prefix only, to Bedrock only.",
        )

    def _allow_passing_role(self, role_arn: str | None, own_role: bool) -> None:
        """One statement for every role the library made in the stack, whatever their number (they carry the
        stack tag); a role given by the user, by its ARN."""
        if role_arn is None:
            return
        if not own_role:
            self.allow_passing(role_arn)
            return
        if "pass-own-roles" in self._statements:
            return  # one statement for all of them: nothing to add
        any_role = self.stack.format_arn(service="iam", region="", resource="role", resource_name="*")
        self._allow(
            "pass-own-roles",
            ["iam:PassRole"],
            any_role,
            conditions={
                "StringEquals": {
                    "iam:PassedToService": "bedrock.amazonaws.com",
                    f"aws:ResourceTag/{STACK_TAG}": self.stack.stack_id,
                }
            },
            reason="Service roles of this stack's models, which carry the stack's tag, may be passed to Bedrock "
            "only: one statement, however many models the stack has.",
        )

    def order(self, kind: str, start: cdk.CfnResource, end: cdk.CfnResource | None) -> None:
        """Start a job (or import) of this kind only once an earlier one of the stack has ended, so that at
        most max_concurrent_jobs run at once: each takes the place of the one declared max_concurrent_jobs
        before it. start is its resource; end marks its end (None: a job that is not waited for).

        Dependencies, not logical ids: adding a model changes no other resource's id.
        """
        limit = self.provider.max_concurrent_jobs
        ends = self._ends.setdefault(kind, [])
        if end is None:
            self._unwaited_jobs += 1
        else:
            if len(ends) >= limit:
                start.add_resource_dependency(ends[-limit])
            ends.append(end)
        waited = min(len(self._ends.get("job", [])), limit)
        if self._unwaited_jobs and self._unwaited_jobs + waited == limit + 1:
            cdk.Annotations.of(self.anchor).add_warning_v2(
                UNWAITED_JOBS_WARNING_ID,
                f"This stack's jobs may run more than {limit} at once: a job with "
                "Completion.no_wait() keeps training after its deployment ends, so no later job can wait for "
                "it. Bedrock refuses jobs beyond the account's quota (ServiceQuotaExceededException).",
            )

    def warn_of_polling_limit(self) -> None:
        """Warn, once per stack, that polled jobs must end within total_timeout."""
        if not self._warned_of_polling_limit:
            # Once per stack rather than per model: fifty identical warnings would bury the others.
            self._warned_of_polling_limit = True
            cdk.Annotations.of(self.anchor).add_warning_v2(
                POLLING_WARNING_ID,
                f"Deployments wait at most {self.provider.total_timeout.to_human_string()} for each polled "
                "customization job in this stack; a job that runs longer fails the deployment, and the rollback "
                "stops it. Completion.event_driven() waits up to 12 hours.",
            )

    def _allow(
        self,
        purpose: str,
        actions: list[str],
        resource: str,
        conditions: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Add resource to the handler's statement for purpose, made with these actions on first use.

        reason says why a resource of ``*``, or one ending in ``*`` beyond Bedrock's generated ids, is granted.
        """
        if purpose not in self._statements:
            statement = iam.PolicyStatement(actions=actions, conditions=conditions)
            self.handler.add_to_principal_policy(statement)
            self._statements[purpose] = (statement, set())
        if resource == "*" and reason is None:
            raise ValueError(f"{purpose}: a grant on * needs a reason")
        if resource.endswith("*"):
            reason = reason or (
                "Bedrock generates the last part of these ARNs: the handler may act on this account and Region's "
                "resources of this kind only."
            )
            reasons = self._reasons.setdefault(resource, [])
            if reason not in reasons:
                # cdk-nag names every such resource of the policy alike, and the last acknowledgement wins: it
                # gives every reason.
                reasons.append(reason)
                acknowledge(self.handler, ("IAM5", " ".join(reasons), wildcard_resources(self.stack, [resource])))
        statement, resources = self._statements[purpose]
        if resource not in resources:
            resources.add(resource)
            statement.add_resources(resource)

    def _arns(self, resource_type: str) -> str:
        """Every resource of this Bedrock resource type in this account and Region."""
        return self.stack.format_arn(service="bedrock", resource=resource_type, resource_name="*")

    def _model_arn(self, model: str) -> str:
        """The ARN to grant for a model id or ARN.

        A model made by a resource of this stack (an attribute of it) is granted as any custom model of
        the account: naming the attribute would make the handler's grants wait for a resource that needs
        them, a circular dependency.
        """
        if model not in self._granted_model_arns:  # computing it costs jsii round trips
            self._granted_model_arns[model] = self._granted_model_arn(model)
        return self._granted_model_arns[model]

    def _granted_model_arn(self, model: str) -> str:
        if is_unresolved(model):
            return self._arns("custom-model") if _references_resources(self.stack.resolve(model)) else model
        if model.startswith("arn:"):
            return model
        return self.stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model)


def _references_resources(resolved: Any) -> bool:
    """Whether a resolved value reads an attribute of, or refers to, a resource (not a pseudo parameter)."""
    if isinstance(resolved, dict):
        if "Fn::GetAtt" in resolved or ("Ref" in resolved and not str(resolved["Ref"]).startswith("AWS::")):
            return True
        return any(_references_resources(value) for value in resolved.values())
    if isinstance(resolved, list):
        return any(_references_resources(value) for value in resolved)
    return False


# The provider of each stack, kept on the Python side: a lookup per model through the construct tree
# would cost jsii round trips.
_PROVIDERS: weakref.WeakKeyDictionary[Construct, CustomizationProvider] = weakref.WeakKeyDictionary()
