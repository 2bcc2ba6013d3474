"""A local rehearsal of a CDK app's deployment: CloudFormation played in-process for this library's
resources, with the real Provider framework runtime and an in-process Bedrock. Not AWS: see the README."""
