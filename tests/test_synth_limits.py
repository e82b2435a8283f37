"""Requests that pass botocore's shape yet fail at deploy are refused at synth: booleans in numeric
fields, NaN and infinity, lengths known only once tokens resolve, nesting the handler refuses, and
properties too large for the event CloudFormation sends. Typed props and raw requests alike."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from test_construct import rag_request, raw_request

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    Filter,
    Generation,
    Model,
    RagMetric,
    RagSource,
    TaskType,
    VectorSearch,
)
from bedrock_evaluation.contract import MAX_REQUEST_DEPTH

JUDGE = "amazon.nova-pro-v1:0"
SEARCH = re.escape("inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveConfig.knowledgeBaseRetrievalConfiguration.vectorSearchConfiguration")


def retrieve_job(stack: cdk.Stack, search: VectorSearch, construct_id: str = "Kb") -> EvaluationJob:
    bucket = s3.Bucket.from_bucket_name(stack, f"{construct_id}Datasets", "my-datasets")
    return EvaluationJob(
        stack,
        construct_id,
        rag=RagSource.retrieve("KB12345678", search=search),
        evaluator_model=Model.bedrock(JUDGE),
        tasks=[EvaluationTask(dataset=Dataset.from_s3(bucket, "kb/questions.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])],
    )


def generate_job(stack: cdk.Stack, generation: Generation) -> EvaluationJob:
    bucket = s3.Bucket.from_bucket_name(stack, "Datasets", "my-datasets")
    return EvaluationJob(
        stack,
        "Rag",
        rag=RagSource.retrieve_and_generate("KB12345678", model_arn="amazon.nova-pro-v1:0", generation=generation),
        evaluator_model=Model.bedrock(JUDGE),
        tasks=[EvaluationTask(dataset=Dataset.from_s3(bucket, "kb/questions.jsonl"), metrics=[RagMetric.CORRECTNESS])],
    )


def nested_filter(levels: int) -> Filter:
    """A filter whose andAll groups nest `levels` deep."""
    nested = Filter.equals("team", "search")
    for _ in range(levels):
        nested = Filter.and_all(nested, Filter.equals("year", 2024))
    return nested


def nested_document(levels: int) -> Any:
    document: Any = 1
    for _ in range(levels):
        document = [document]
    return document


def with_search(request: dict[str, Any], **fields: Any) -> dict[str, Any]:
    search = request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveConfig"]["knowledgeBaseRetrievalConfiguration"]
    search["vectorSearchConfiguration"].update(fields)
    return request


# --- numbers --------------------------------------------------------------------------------


def test_fails_for_a_boolean_number_of_results_in_typed_props(stack):
    with pytest.raises(EvaluationJobConfigError, match=r"VectorSearch: number_of_results is True: expected int \| None, got bool"):
        retrieve_job(stack, VectorSearch(number_of_results=True))


def test_fails_for_a_boolean_number_of_results_in_a_raw_request_although_botocore_accepts_it(stack):
    with pytest.raises(EvaluationJobConfigError, match=rf"{SEARCH}\.numberOfResults is False: must be a number"):
        EvaluationJob(stack, "Raw", request=with_search(rag_request(), numberOfResults=False))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_fails_for_a_temperature_that_is_not_finite_before_jsii_sees_it(stack, value):
    with pytest.raises(EvaluationJobConfigError, match=r"temperature is .*: must be a finite number"):
        generate_job(stack, Generation(temperature=value))


def test_fails_for_nan_inside_a_filter_value_before_jsii_sees_it(stack):
    with pytest.raises(EvaluationJobConfigError, match=rf"{SEARCH}\.filter\.greaterThan\.value is nan: must be a finite number"):
        retrieve_job(stack, VectorSearch(filter=Filter.greater_than("year", float("nan"))))


def test_a_whole_number_and_a_finite_float_are_still_numbers(stack):
    retrieve_job(stack, VectorSearch(number_of_results=5, filter=Filter.greater_than("score", 0.5)))
    generate_job(stack, Generation(temperature=0.0, max_tokens=512))


# --- lengths behind tokens ------------------------------------------------------------------


def test_fails_for_an_output_location_over_1024_characters_once_the_bucket_name_resolves(stack):
    # "s3://" + 63 (the bucket, a token) + "/" + 958 + "/" = 1,028 characters: over the s3Uri limit of 1,024.
    prefix = "/".join(["a" * 99] * 9) + "/" + "b" * 58
    with pytest.raises(EvaluationJobConfigError, match=r"outputDataConfig\.s3Uri is about 1028 characters once deployed.*at most 1024"):
        EvaluationJob(stack, "Long", model=Model.bedrock("amazon.nova-lite-v1:0"), output_prefix=prefix,
                      tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])])


def test_an_output_location_that_fits_with_the_longest_bucket_name_is_accepted(stack):
    prefix = "/".join(["a" * 99] * 9) + "/" + "b" * 54  # 1,024 characters with a 63-character bucket name
    EvaluationJob(stack, "Long", model=Model.bedrock("amazon.nova-lite-v1:0"), output_prefix=prefix,
                  tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])])


# --- nesting --------------------------------------------------------------------------------


def test_fails_for_a_filter_nested_deeper_than_the_handler_accepts(stack):
    with pytest.raises(EvaluationJobConfigError, match=rf"andAll\[1\] is nested more than {MAX_REQUEST_DEPTH} levels deep: at most {MAX_REQUEST_DEPTH} levels"):
        retrieve_job(stack, VectorSearch(filter=nested_filter(MAX_REQUEST_DEPTH)))


def test_fails_for_a_raw_request_nested_far_deeper_than_python_recurses_without_crashing(stack):
    request = rag_request()
    deep = with_search(request)["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveConfig"]
    for _ in range(5000):
        deep = deep.setdefault("knowledgeBaseRetrievalConfiguration", {}).setdefault("vectorSearchConfiguration", {}).setdefault("filter", {})
    with pytest.raises(EvaluationJobConfigError, match=rf"at most {MAX_REQUEST_DEPTH} levels"):
        EvaluationJob(stack, "Raw", request=request)


def test_fails_for_a_filter_value_document_nested_deeper_than_the_handler_accepts(stack):
    document = nested_document(MAX_REQUEST_DEPTH + 1)
    with pytest.raises(EvaluationJobConfigError, match=rf"{SEARCH}\.filter\.equals\.value is a document nested {MAX_REQUEST_DEPTH + 1} levels deep"):
        EvaluationJob(stack, "Raw", request=with_search(rag_request(), filter={"equals": {"key": "tags", "value": document}}))


def test_a_document_at_the_limit_is_accepted_as_the_handler_accepts_it(stack):
    EvaluationJob(stack, "Raw", request=with_search(rag_request(), filter={"equals": {"key": "tags", "value": nested_document(MAX_REQUEST_DEPTH)}}))


def test_the_synth_and_the_handler_count_nesting_alike():
    import request as handler_request  # the handler's module

    from bedrock_evaluation import contract

    assert handler_request.nesting_depth is contract.nesting_depth


def test_raw_requests_are_not_changed_by_the_checks(stack):
    request = raw_request()
    kept = copy.deepcopy(request)
    EvaluationJob(stack, "Raw", request=request)
    assert request == kept


# --- size of the properties -------------------------------------------------------------------


def external_source_request(data: str) -> dict[str, Any]:
    request = rag_request()
    request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"] = {
        "retrieveAndGenerateConfig": {
            "type": "EXTERNAL_SOURCES",
            "externalSourcesConfiguration": {
                "modelArn": "anthropic.claude-3-sonnet-20240229-v1:0",
                "sources": [{"sourceType": "BYTE_CONTENT", "byteContent": {"identifier": "doc", "contentType": "text/plain", "data": data}}],
            },
        }
    }
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.Correctness"]
    return request


def test_fails_for_properties_an_update_event_could_not_carry_naming_construct_size_limit_and_largest_field(stack):
    with pytest.raises(EvaluationJobConfigError) as raised:
        EvaluationJob(stack, "Big", request=external_source_request("x" * 130_000))
    message = str(raised.value)
    assert message.startswith("Eval/Big: properties is about 13"), message
    assert "at most 126,976 bytes fit" in message and "an Update's old and new together" in message
    assert "largest field is Request.inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveAndGenerateConfig" in message
    assert "byte_content" in message


def test_the_request_of_about_259_kb_the_issue_found_is_refused(stack):
    with pytest.raises(EvaluationJobConfigError, match=r"properties is about 26\d,\d{3} bytes"):
        EvaluationJob(stack, "Big", request=external_source_request("x" * 259_000))


def test_properties_that_fit_twice_in_one_event_are_accepted(stack):
    EvaluationJob(stack, "Fits", request=external_source_request("x" * 120_000))


def test_multibyte_text_is_counted_in_bytes(stack):
    with pytest.raises(EvaluationJobConfigError, match="properties is about"):
        EvaluationJob(stack, "Big", request=external_source_request("é" * 65_000))  # 130,000 bytes in UTF-8


def test_the_size_limit_leaves_room_for_an_update_event_with_both_versions():
    from bedrock_evaluation.event_size import EVENT_ENVELOPE_BYTES, LAMBDA_ASYNC_PAYLOAD_BYTES, MAX_PROPERTIES_BYTES

    assert 2 * MAX_PROPERTIES_BYTES + EVENT_ENVELOPE_BYTES <= LAMBDA_ASYNC_PAYLOAD_BYTES == 262_144


def test_fails_when_cdk_tags_rendered_into_the_request_make_it_too_large(stack):
    EvaluationJob(stack, "Tagged", request=external_source_request("x" * 120_000))
    for index in range(40):
        cdk.Tags.of(stack).add(f"team-{index:03d}-" + "k" * 100, "v" * 256)
    with pytest.raises(RuntimeError, match=r"Eval/Tagged: .*properties is about 13\d,\d{3} bytes"):  # raised in an aspect, through jsii
        cdk.App.of(stack).synth()


def test_the_handler_may_pass_the_roles_of_many_jobs_within_iams_policy_limits(stack):
    # given 130 jobs, each with the role it creates
    from cfn import DeployedNames, policy_documents, resolve

    jobs_with_roles_of_their_own(stack, 130)

    # when the template is written
    template = cdk.assertions.Template.from_stack(stack).to_json()

    # then the handler may pass each job's role, only to Bedrock; each policy that holds those
    # grants is within IAM's limits, counted with names as long as CloudFormation makes them; and a
    # job whose role is passed by a policy of its own waits for that policy
    resources = template["Resources"]
    (handler,) = [k for k, r in resources.items() if k.startswith("BedrockEvaluationJobProviderJobHandlerRole") and r["Type"] == "AWS::IAM::Role"]
    passed_by: dict[str, str] = {}
    inline = 0
    for holder, document in policy_documents(template, handler):
        chars = len(json.dumps(resolve(document, template, DeployedNames("Eval")), separators=(",", ":")))
        if resources[holder]["Type"] == "AWS::IAM::ManagedPolicy":
            assert chars <= 6_144, holder
        else:
            inline += chars
        for statement in document["Statement"]:
            if statement["Action"] == "iam:PassRole" and statement["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}:
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                passed_by.update({t["Fn::GetAtt"][0]: holder for t in targets})
    assert inline <= 10_240
    roles = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith("Job")]
    assert len(roles) == 130 and sorted(passed_by) == sorted(roles)
    # Packed by size at the longest ARNs (about 105 characters each): the role's inline policy holds
    # the handler's other statements and about 77 roles, one managed policy of it the rest.
    assert handler in passed_by.values()
    assert len({h for h in passed_by.values() if resources[h]["Type"] == "AWS::IAM::ManagedPolicy"}) == 1
    assert "AWS::IAM::Policy" not in {r["Type"] for k, r in resources.items() if k.startswith("BedrockEvaluationJobProviderJobHandlerRole")}
    for logical_id, job in resources.items():
        if job["Type"] == "Custom::BedrockEvaluationJob":
            holder = passed_by[job["Properties"]["Request"]["roleArn"]["Fn::GetAtt"][0]]
            assert job["DependsOn"] == [holder], logical_id  # the handler's role, or its managed policy


def test_statements_you_add_to_the_handler_role_leave_less_room_for_ours(stack):
    """IAM counts every inline policy of a role together ("IAM and AWS STS quotas": 10,240
    characters): the DefaultPolicy that holds what you add to the handler's role, and ours."""
    from cfn import DeployedNames, policy_documents, resolve

    from bedrock_evaluation.provider import EvaluationJobProvider

    # given 130 jobs, and about 3,000 characters of statements of yours on the handler's role
    jobs_with_roles_of_their_own(stack, 130)
    objects = [f"arn:aws:s3:::team-data-{index:04d}/*" for index in range(100)]
    EvaluationJobProvider.of(stack).role.add_to_principal_policy(cdk.aws_iam.PolicyStatement(actions=["s3:GetObject"], resources=objects))

    # when the template is written
    template = cdk.assertions.Template.from_stack(stack).to_json()

    # then the role's inline policies together, counted with names as long as CloudFormation makes
    # them, stay within IAM's limit, with more of ours in managed policies of the role
    resources = template["Resources"]
    (handler,) = [k for k, r in resources.items() if k.startswith("BedrockEvaluationJobProviderJobHandlerRole") and r["Type"] == "AWS::IAM::Role"]
    inline = {}
    for holder, document in policy_documents(template, handler):
        chars = len(json.dumps(resolve(document, template, DeployedNames("Eval")), separators=(",", ":")))
        if resources[holder]["Type"] != "AWS::IAM::ManagedPolicy":
            inline[resources[holder]["Type"]] = chars
    assert set(inline) == {"AWS::IAM::Role", "AWS::IAM::Policy"}  # ours, and yours in its DefaultPolicy
    assert inline["AWS::IAM::Policy"] > 3_000
    assert sum(inline.values()) <= 10_240


def jobs_with_roles_of_their_own(stack: cdk.Stack, count: int) -> None:
    from bedrock_evaluation import Dataset, EvaluationTask, Model

    for index in range(count):
        EvaluationJob(
            stack,
            f"Job{index:03d}",
            model=Model.bedrock("amazon.nova-lite-v1:0"),
            tasks=[EvaluationTask(task_type="QuestionAndAnswer", dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])],
        )
