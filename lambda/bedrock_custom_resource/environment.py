"""The names of the environment variables the construct sets for the functions, defined once for both sides."""

# Every function of a provider stack's handler: the ARN pattern (ending in *) of the roles its templates may pass.
PASSABLE_ROLES_VARIABLE = "PASSABLE_ROLES"
# The notifier: the stack whose waits it settles.
STACK_ID_VARIABLE = "STACK_ID"
# The single-function provider: its polling rules' name prefix, their interval, and its total timeout.
RULE_PREFIX_VARIABLE = "POLLING_RULE_PREFIX"
INTERVAL_VARIABLE = "POLLING_INTERVAL_MINUTES"
TOTAL_TIMEOUT_VARIABLE = "TOTAL_TIMEOUT_SECONDS"
# Every handler function: how long a rollback's polls may ask Bedrock to delete what the update it undoes made (the
# provider's total timeout less two query intervals: the rollback is answered before the provider would fail it).
CLEANUP_WAIT_VARIABLE = "CLEANUP_WAIT_SECONDS"
