"""Deploy-time handlers of cdk-bedrock-customization's custom resources.

This package is the Lambda asset. It imports only the standard library, boto3/botocore and itself
(relative imports), so it runs as it is, with no bundling.
"""
