"""The single-function provider's entry point (provider.handler): crhelper around bedrock_custom_resource."""
