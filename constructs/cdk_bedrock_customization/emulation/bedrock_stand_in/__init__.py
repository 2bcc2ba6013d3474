"""A stand-in for Amazon Bedrock's model customization API: moto 5.2.x plus what moto lacks.

``BedrockStandIn`` (``stand_in``) is what tests and the local rehearsal use. Behind it, by concern:

- ``jobs``: customization jobs and the models they create, moto's backend patched where it differs from
  Bedrock (the "moto gaps", listed there);
- ``serving``: imported custom models, custom model deployments and provisioned throughput, which moto lacks:
  each a ``Kind`` whose bookkeeping (``bookkeeping``) follows its declaration in ``contract.CONTRACTS``,
  with the rules particular to it;
- ``imports``: Custom Model Import, which moto lacks too: model import jobs and the models they import, two
  ``Kind``s of one declaration;
- ``copies``: model copy jobs, which moto lacks too: a ``Kind`` whose job makes a custom model in its own
  Region from one of any Region, kept where a custom model of its source's sort is kept;
- ``evaluations``: model evaluation jobs, which moto lacks too: a ``Kind`` of automated jobs of one model, whose
  results, written to moto's S3 when a test completes a job, carry the scores the test gives;
- ``listing``: how the emulated List operations select, sort and page;
- ``validation``: Bedrock's request validation against the service model, for the emulated operations;
- ``responses``: answering a request before moto sees it (``serve``), and the responses it gives;
- ``compensations``: every patch to moto's classes, installed and undone together;
- ``service_model``: the statuses, ARN patterns and limits taken from the service model.
"""

from .compensations import install_moto_compensations
from .responses import SERVING_OPERATIONS
from .service_model import (
    COPY_JOB_ARN_PATTERN,
    DEPLOYMENT_ARN_PATTERN,
    EVALUATION_JOB_ARN_PATTERN,
    FOUNDATION_MODEL_ARN_PATTERN,
    IMPORT_JOB_ARN_PATTERN,
    IMPORT_JOB_MODEL_ARN_PATTERN,
    IMPORTED_MODEL_ARN_PATTERN,
    JOB_ARN_PATTERN,
    MODEL_ARN_PATTERN,
    THROUGHPUT_ARN_PATTERN,
)
from .stand_in import BedrockStandIn

__all__ = [
    "COPY_JOB_ARN_PATTERN",
    "DEPLOYMENT_ARN_PATTERN",
    "EVALUATION_JOB_ARN_PATTERN",
    "FOUNDATION_MODEL_ARN_PATTERN",
    "IMPORTED_MODEL_ARN_PATTERN",
    "IMPORT_JOB_ARN_PATTERN",
    "IMPORT_JOB_MODEL_ARN_PATTERN",
    "JOB_ARN_PATTERN",
    "MODEL_ARN_PATTERN",
    "SERVING_OPERATIONS",
    "THROUGHPUT_ARN_PATTERN",
    "BedrockStandIn",
    "install_moto_compensations",
]
