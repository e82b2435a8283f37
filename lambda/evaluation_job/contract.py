"""Names shared by the construct and the handler: the one place they are written.

The construct package loads this very file from the handler asset, so a property
renamed here is renamed on both sides at once.
"""

from enum import StrEnum

RESOURCE_TYPE = "Custom::BedrockEvaluationJob"

# Resource properties (what the template holds for each job).
PROP_REQUEST = "Request"
"""The CreateEvaluationJob request, without clientRequestToken (and usually without jobName)."""
PROP_JOB_NAME_PREFIX = "JobNamePrefix"
"""Prefix of the generated job name; ignored when the request carries its own jobName."""
PROP_REMOVAL = "Removal"
"""What deleting the resource does to the job: one of `Removal`."""

# Attributes (Fn::GetAtt on the custom resource).
ATTR_JOB_ARN = "JobArn"
ATTR_JOB_NAME = "JobName"
ATTR_OUTPUT_S3_URI = "OutputS3Uri"

# Length of the request digest appended to the name prefix: name = prefix + "-" + digest.
NAME_DIGEST_LENGTH = 10
JOB_NAME_MAX_LENGTH = 63
NAME_PREFIX_MAX_LENGTH = JOB_NAME_MAX_LENGTH - 1 - NAME_DIGEST_LENGTH

# Document-typed request fields (filter values, additionalModelRequestFields) travel as JSON
# strings, because CloudFormation turns every scalar in resource properties into a string.
DOCUMENTS_ARE_JSON_STRINGS = True

# Knowledge-base ingestion: a second resource type served by the same provider, so that a
# knowledge base in the same stack has its documents indexed before it is evaluated.
INGESTION_RESOURCE_TYPE = "Custom::BedrockKnowledgeBaseIngestion"
PROP_KNOWLEDGE_BASE_ID = "KnowledgeBaseId"
PROP_DATA_SOURCE_ID = "DataSourceId"
PROP_DOCUMENTS_HASH = "DocumentsHash"
"""Changes when the documents change: a new value starts a new ingestion."""
ATTR_INGESTION_JOB_ID = "IngestionJobId"

# The CDK Provider framework's physical id after a failed Create.
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


class Removal(StrEnum):
    """What happens to the evaluation job when its resource is deleted or replaced."""

    STOP = "stop"
    """Stop the job if it is still running; keep its record and results."""
    DELETE = "delete"
    """Stop the job, wait until it has stopped, then delete its record (results stay in S3)."""
    RETAIN = "retain"
    """Leave the job alone."""
