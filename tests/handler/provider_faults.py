"""What the state machines that play CloudFormation and the CDK Provider framework against the handler share: how a
Lambda dies after a Bedrock call, the Reasons that a second try may not meet, and the stack status a rollback of each
request type puts the stack in."""

from __future__ import annotations


class LambdaDied(BaseException):
    """The invocation ended right after a Bedrock call returned; not an Exception, so the handler cannot catch it."""


# The Reason the framework sends for a Lambda that died (the user function's errorMessage, framework.ts).
LAMBDA_DIED = "Task timed out"
# Failures that a second try of the same request may not meet: the operator deletes the stack again, or continues
# the rollback (a throttling storm past botocore's retries is not the handler's to outlast).
TRANSIENT = (LAMBDA_DIED, "An error occurred (ThrottlingException)")
ROLLBACK_OF = {"Create": "ROLLBACK_IN_PROGRESS", "Update": "UPDATE_ROLLBACK_IN_PROGRESS"}
