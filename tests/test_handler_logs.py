"""The handler's log lines identify the work, never carry the request: prompt templates, metric
instructions, byte-content data and descriptions (what botocore marks `sensitive`, and what users
write there) stay out of HandlerLogs for every Create, Update and Delete of a job, an ingestion and
a flow definition, and so does the ResponseURL's presigned signature."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import bedrock
import index
import pytest
from botocore.exceptions import ClientError
from handler_support import JOB_ARN, STACK_ID, make_event, rag_request, valid_properties
from test_handler_flow_definition import flow_request
from test_handler_flow_definition import properties as flow_properties

from bedrock_evaluation.contract import FLOW_DEFINITION_RESOURCE_TYPE, INGESTION_RESOURCE_TYPE

PROMPT = "PROMPT-TEMPLATE-MARKER"
INSTRUCTIONS = "METRIC-INSTRUCTIONS-MARKER"
BYTES = "BYTE-CONTENT-MARKER"
DESCRIPTION = "DESCRIPTION-MARKER"
TASK = "TASK-DESCRIPTION-MARKER"
SIGNATURE = "X-Amz-Signature=secret"  # handler_support.RESPONSE_URL's
SENSITIVE = (PROMPT, INSTRUCTIONS, BYTES, DESCRIPTION, TASK, SIGNATURE)


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class FakeBedrock:
    """The evaluation-job operations the handler calls, answered from memory."""

    meta = SimpleNamespace(config=bedrock.CLIENT_CONFIG)

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}

    def create_evaluation_job(self, **request: Any) -> dict[str, Any]:
        arn = JOB_ARN[: -len("000000000000")] + f"{len(self.jobs):012d}"
        self.jobs[arn] = {**request, "jobArn": arn, "status": "InProgress", "creationTime": datetime(2026, 1, 1, tzinfo=UTC)}
        return {"jobArn": arn}

    def get_evaluation_job(self, jobIdentifier: str) -> dict[str, Any]:  # noqa: N803 (the API's name)
        return dict(self.jobs[jobIdentifier])

    def stop_evaluation_job(self, jobIdentifier: str) -> dict[str, Any]:  # noqa: N803
        self.jobs[jobIdentifier]["status"] = "Stopped"
        return {}


class FakeAgent:
    def start_ingestion_job(self, **_: Any) -> dict[str, Any]:
        return {"ingestionJob": {"ingestionJobId": "IJ12345678"}}

    def get_ingestion_job(self, **ids: Any) -> dict[str, Any]:
        return {"ingestionJob": {**ids, "status": "COMPLETE", "statistics": {"numberOfDocumentsScanned": 1}}}


class FakeSageMaker:
    def __init__(self) -> None:
        self.flows: dict[str, str] = {}

    def create_flow_definition(self, FlowDefinitionName: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.flows[FlowDefinitionName] = arn = f"arn:aws:sagemaker:us-east-1:123456789012:flow-definition/{FlowDefinitionName}"
        return {"FlowDefinitionArn": arn}

    def describe_flow_definition(self, FlowDefinitionName: str) -> dict[str, Any]:  # noqa: N803
        if FlowDefinitionName not in self.flows:
            raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "gone"}}, "DescribeFlowDefinition")
        return {"FlowDefinitionName": FlowDefinitionName, "FlowDefinitionArn": self.flows[FlowDefinitionName], "FlowDefinitionStatus": "Active"}

    def delete_flow_definition(self, FlowDefinitionName: str) -> dict[str, Any]:  # noqa: N803
        self.flows.pop(FlowDefinitionName, None)
        return {}


def knowledge_base_request(version: str) -> dict[str, Any]:
    """A knowledge-base job with text in each sensitive field: prompt template, instructions, description."""
    request = rag_request()
    request["jobDescription"] = f"{DESCRIPTION} {version}"
    request["evaluationConfig"]["automated"]["customMetricConfig"]["customMetrics"][0]["customMetricDefinition"]["instructions"] = (
        f"{INSTRUCTIONS} {version}: is {{{{prediction}}}} supported by {{{{context}}}}?"
    )
    generation = request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]["generationConfiguration"]
    generation["promptTemplate"] = {"textPromptTemplate": f"{PROMPT} {version} $search_results$"}
    return request


def external_source_request(version: str) -> dict[str, Any]:
    request = knowledge_base_request(version)
    request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveAndGenerateConfig"] = {
        "type": "EXTERNAL_SOURCES",
        "externalSourcesConfiguration": {
            "modelArn": "anthropic.claude-3-sonnet-20240229-v1:0",
            "sources": [{"sourceType": "BYTE_CONTENT", "byteContent": {"identifier": "doc", "contentType": "text/plain", "data": f"{BYTES} {version}"}}],
        },
    }
    return request


def lifecycle(resource_type: str | None, old: dict[str, Any], new: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Create, Update and Delete of one resource, each as CloudFormation sends it."""
    kind = {} if resource_type is None else {"resource_type": resource_type}
    yield make_event("Create", properties=old, **kind)
    yield make_event("Update", properties=new, old_properties=old, request_id="req-2", **kind)
    yield make_event("Delete", properties=new, request_id="req-3", **kind)


def run(events: Iterator[dict[str, Any]]) -> None:
    physical_id = None
    for event in events:
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        answer = index.on_event(copy.deepcopy(event), Context())
        physical_id = answer.get("PhysicalResourceId", physical_id)
        assert index.is_complete({**event, **answer}, Context())["IsComplete"] is True


@pytest.fixture
def clients(monkeypatch):
    jobs, agent, sagemaker = FakeBedrock(), FakeAgent(), FakeSageMaker()
    monkeypatch.setattr(index, "jobs", lambda: bedrock.EvaluationJobs(jobs))
    monkeypatch.setattr(index, "ingestions", lambda: bedrock.IngestionJobs(agent))
    monkeypatch.setattr(index, "flow_definitions", lambda: bedrock.FlowDefinitions(sagemaker))
    return jobs


def flow(version: str) -> dict[str, Any]:
    return flow_properties(flow_request(TaskDescription=f"{TASK} {version}"))


def ingestion(version: str) -> dict[str, Any]:
    # An ingestion's properties are ids and a hash; anything else in them must not be logged either.
    return {"KnowledgeBaseId": "KB12345678", "DataSourceId": "DS12345678", "DocumentsHash": version, "Notes": f"{DESCRIPTION} {version}"}


RESOURCES = {
    "knowledge-base job": (None, lambda v: valid_properties(request=knowledge_base_request(v))),
    "external-source job": (None, lambda v: valid_properties(request=external_source_request(v))),
    "ingestion": (INGESTION_RESOURCE_TYPE, ingestion),
    "flow definition": (FLOW_DEFINITION_RESOURCE_TYPE, flow),
}


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_log_lines_of_create_update_and_delete_carry_no_request_content(resource, clients, caplog, capsys):
    resource_type, properties = RESOURCES[resource]
    caplog.set_level(logging.DEBUG)

    run(lifecycle(resource_type, properties("v1"), properties("v2")))

    logged = "\n".join(record.getMessage() for record in caplog.records) + capsys.readouterr().out
    assert STACK_ID in logged  # the lines are there, and say which resource they are about
    leaked = [marker for marker in SENSITIVE if marker in logged]
    assert leaked == [], f"the handler logged {leaked}:\n{logged}"
    if resource_type is None:
        assert len(clients.jobs) == 2 and all(job["status"] == "Stopped" for job in list(clients.jobs.values())[1:])
