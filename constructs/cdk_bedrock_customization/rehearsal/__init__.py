"""A local rehearsal of a CDK app's deployment: CloudFormation played in-process for this library's
resources, on the real Provider framework runtime or the single-function provider (crhelper), with an
in-process Bedrock; plain CloudFormation templates too, through a provider stack's exports. Not AWS: see
the README."""
