"""AWS CDK constructs that make Amazon Bedrock model customization declarative."""

from .completion import Completion, JobCompletionNotifier
from .custom_model import CustomModel
from .imported_model import ImportedCustomModel, ModelSource
from .inputs import Customization, InvocationLogs, RequestMetadataFilter, S3Data
from .provider import CustomizationProvider
from .serving import Commitment, CustomModelBase, CustomModelDeployment, ProvisionedThroughput

__all__ = [
    "Commitment",
    "Completion",
    "CustomModel",
    "CustomModelBase",
    "CustomModelDeployment",
    "Customization",
    "CustomizationProvider",
    "ImportedCustomModel",
    "InvocationLogs",
    "JobCompletionNotifier",
    "ModelSource",
    "ProvisionedThroughput",
    "RequestMetadataFilter",
    "S3Data",
]
