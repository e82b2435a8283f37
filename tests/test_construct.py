"""EvaluationJob: what each option puts in the template, and every configuration it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cfn import resolve, resources_of_type, role_statements

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    JobRemoval,
    Metric,
    Model,
    TaskType,
)

NOVA = "amazon.nova-lite-v1:0"
JUDGE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
DATASET = Path(__file__).resolve().parents[1] / "datasets" / "qa.jsonl"


def boolq_task(*metrics: str) -> EvaluationTask:
    return EvaluationTask(
        task_type=TaskType.QUESTION_AND_ANSWER,
        dataset=Dataset.builtin("Builtin.BoolQ"),
        metrics=list(metrics) or [Metric.ACCURACY],
    )


def file_task(*metrics: str, path: Path = DATASET) -> EvaluationTask:
    return EvaluationTask(
        task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.from_file(path), metrics=list(metrics)
    )


def automatic(stack: cdk.Stack, construct_id: str = "Job", **overrides: Any) -> EvaluationJob:
    props: dict[str, Any] = {"model": Model.bedrock(NOVA), "tasks": [boolq_task()]}
    props.update(overrides)
    return EvaluationJob(stack, construct_id, **props)


def raw_request(**extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "applicationType": "ModelEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "QuestionAndAnswer",
                        "dataset": {"name": "Builtin.BoolQ"},
                        "metricNames": ["Builtin.Accuracy"],
                    }
                ]
            }
        },
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": NOVA}}]},
    }
    request.update(extra)
    return request


def rag_request() -> dict[str, Any]:
    return {
        "applicationType": "RagEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "General",
                        "dataset": {"name": "rag", "datasetLocation": {"s3Uri": "s3://my-datasets/rag/questions.jsonl"}},
                        "metricNames": ["Builtin.ContextRelevance"],
                    }
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}]},
            }
        },
        "inferenceConfig": {
            "ragConfigs": [
                {
                    "knowledgeBaseConfig": {
                        "retrieveConfig": {
                            "knowledgeBaseId": "KB12345678",
                            "knowledgeBaseRetrievalConfiguration": {
                                "vectorSearchConfiguration": {
                                    "numberOfResults": 5,
                                    "filter": {"equals": {"key": "year", "value": 2024}},
                                }
                            },
                        }
                    }
                }
            ]
        },
    }


def template_of(stack: cdk.Stack) -> dict[str, Any]:
    return Template.from_stack(stack).to_json()


def job_properties(template: dict[str, Any]) -> dict[str, Any]:
    (job,) = resources_of_type(template, "Custom::BedrockEvaluationJob").values()
    return resolve(job["Properties"], template)


def service_role_statements(template: dict[str, Any], prefix: str = "JobServiceRole") -> list[dict[str, Any]]:
    return role_statements(template, prefix)


def actions_on(statements: list[dict[str, Any]], resource: str) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resource in resources:
            actions = statement["Action"]
            found |= set(actions if isinstance(actions, list) else [actions])
    return found


# --- the request ------------------------------------------------------------------------------


def test_automatic_job_request_holds_model_dataset_metrics_role_and_output(stack):
    automatic(stack, model=Model.bedrock(NOVA, inference_params={"inferenceConfig": {"maxTokens": 256}}))
    properties = job_properties(template_of(stack))
    request = properties["Request"]
    assert request["applicationType"] == "ModelEvaluation"
    assert request["evaluationConfig"] == {
        "automated": {
            "datasetMetricConfigs": [
                {"taskType": "QuestionAndAnswer", "dataset": {"name": "Builtin.BoolQ"}, "metricNames": ["Builtin.Accuracy"]}
            ]
        }
    }
    assert request["inferenceConfig"] == {
        "models": [{"bedrockModel": {"modelIdentifier": NOVA, "inferenceParams": '{"inferenceConfig":{"maxTokens":256}}'}}]
    }
    assert request["roleArn"].startswith("arn:aws:iam::123456789012:role/")
    assert request["outputDataConfig"]["s3Uri"].endswith("/results/eval-job/")
    assert "jobName" not in request and "clientRequestToken" not in request
    assert properties["JobNamePrefix"] == "eval-job"
    assert properties["Removal"] == "stop"


def test_judge_job_adds_the_evaluator_model(stack):
    automatic(stack, evaluator_model=Model.bedrock(JUDGE), tasks=[file_task(Metric.CORRECTNESS, Metric.HELPFULNESS)])
    automated = job_properties(template_of(stack))["Request"]["evaluationConfig"]["automated"]
    assert automated["evaluatorModelConfig"] == {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]}


def test_latency_optimized_model_sets_performance_config(stack):
    automatic(stack, model=Model.bedrock(NOVA, latency="optimized"))
    model = job_properties(template_of(stack))["Request"]["inferenceConfig"]["models"][0]["bedrockModel"]
    assert model["performanceConfig"] == {"latency": "optimized"}


def test_local_dataset_is_uploaded_under_a_key_that_follows_its_content(stack, tmp_path):
    changed = tmp_path / "qa.jsonl"
    changed.write_text(DATASET.read_text() + '{"prompt": "One more?", "referenceResponse": "Yes"}\n')
    automatic(stack, "Original", tasks=[file_task(Metric.ACCURACY)])
    automatic(stack, "Changed", tasks=[file_task(Metric.ACCURACY, path=changed)])
    template = template_of(stack)
    uris = sorted(
        resolve(job["Properties"]["Request"], template)["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["dataset"]["datasetLocation"]["s3Uri"]
        for job in resources_of_type(template, "Custom::BedrockEvaluationJob").values()
    )
    assert len(set(uris)) == 2, "a changed file is a new object, so its job is a new job"
    assert all(uri.endswith("/qa.jsonl") and "/datasets/" in uri for uri in uris)
    assert len(resources_of_type(template, "Custom::CDKBucketDeployment")) == 2


def test_jobs_sharing_a_file_share_one_upload(stack):
    automatic(stack, "A", tasks=[file_task(Metric.ACCURACY)])
    automatic(stack, "B", tasks=[file_task(Metric.TOXICITY)])
    assert len(resources_of_type(template_of(stack), "Custom::CDKBucketDeployment")) == 1


def test_raw_request_is_sent_as_given_with_role_and_output_filled(stack):
    EvaluationJob(stack, "Job", request=raw_request(jobDescription="raw"))
    request = job_properties(template_of(stack))["Request"]
    assert request["jobDescription"] == "raw"
    assert request["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] == NOVA
    assert request["roleArn"].startswith("arn:aws:iam::")
    assert request["outputDataConfig"]["s3Uri"].startswith("s3://")


def test_raw_rag_request_keeps_numbers_and_encodes_documents_as_json(stack):
    EvaluationJob(stack, "Job", request=rag_request())
    raw = template_of(stack)
    (job,) = resources_of_type(raw, "Custom::BedrockEvaluationJob").values()
    search = job["Properties"]["Request"]["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveConfig"][
        "knowledgeBaseRetrievalConfiguration"
    ]["vectorSearchConfiguration"]
    assert search["numberOfResults"] == 5
    assert search["filter"]["equals"] == {"key": "year", "value": "2024"}, "the document travels as JSON text"


def test_raw_request_with_its_own_role_and_output_creates_neither(stack):
    role_arn = "arn:aws:iam::123456789012:role/existing-evaluation-role"
    EvaluationJob(stack, "Job", request=raw_request(roleArn=role_arn, outputDataConfig={"s3Uri": "s3://mine/out/"}))
    template = template_of(stack)
    request = job_properties(template)["Request"]
    assert request["roleArn"] == role_arn
    assert request["outputDataConfig"] == {"s3Uri": "s3://mine/out/"}
    roles = resources_of_type(template, "AWS::IAM::Role")
    assert not [k for k in roles if k.startswith("Job")], "no service role is created"
    assert not resources_of_type(template, "AWS::S3::Bucket"), "no evaluation bucket is created"


def test_removal_and_name_prefix_options_reach_the_handler(stack):
    automatic(stack, removal=JobRemoval.DELETE, job_name_prefix="nightly-boolq")
    properties = job_properties(template_of(stack))
    assert properties["Removal"] == "delete"
    assert properties["JobNamePrefix"] == "nightly-boolq"
    assert properties["Request"]["outputDataConfig"]["s3Uri"].endswith("/results/nightly-boolq/")


def test_default_name_prefix_is_derived_from_the_construct_path():
    stack = cdk.Stack(cdk.App(), "RagEvaluations")
    automatic(stack, "NightlyBoolQAccuracy")
    assert job_properties(template_of(stack))["JobNamePrefix"] == "rag-evaluations-nightly-bool-q-accuracy"


def test_long_construct_paths_give_a_bounded_prefix():
    stack = cdk.Stack(cdk.App(), "A" * 40)
    automatic(stack, "B" * 40)
    prefix = job_properties(template_of(stack))["JobNamePrefix"]
    assert len(prefix) <= 52


def test_one_bucket_and_one_provider_serve_every_job_in_a_stack(stack):
    automatic(stack, "A")
    automatic(stack, "B")
    template = template_of(stack)
    # The evaluation bucket, and the bucket that receives its server access logs.
    assert sorted(k[:-8] for k in resources_of_type(template, "AWS::S3::Bucket")) == [
        "BedrockEvaluationBucket",
        "BedrockEvaluationBucketAccessLogs",
    ]
    assert len(resources_of_type(template, "AWS::StepFunctions::StateMachine")) == 1


def test_bring_your_own_role_and_bucket(stack):
    role = iam.Role(stack, "MyRole", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    bucket = s3.Bucket(stack, "MyBucket")
    automatic(stack, role=role, output_bucket=bucket, output_prefix="evals/boolq")
    template = template_of(stack)
    request = job_properties(template)["Request"]
    assert request["roleArn"].endswith(":role/role-myrole" + request["roleArn"].split("role-myrole")[1])
    assert request["outputDataConfig"]["s3Uri"] == f"s3://{resolve({'Ref': _logical(template, 'AWS::S3::Bucket', 'MyBucket')}, template)}/evals/boolq/"
    assert len(resources_of_type(template, "AWS::S3::Bucket")) == 1, "the stack's own bucket is not created"
    statements = service_role_statements(template, "MyRoleDefaultPolicy")
    assert any("s3:PutObject" in s["Action"] for s in statements), "the given role still gets the job's grants"


def _logical(template: dict[str, Any], kind: str, prefix: str) -> str:
    (logical,) = [k for k in resources_of_type(template, kind) if k.startswith(prefix)]
    return logical


# --- permissions ------------------------------------------------------------------------------


def test_service_role_trusts_only_bedrock_evaluation_jobs_of_this_account(stack):
    automatic(stack)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "bedrock.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnEquals": {
                                "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:evaluation-job/*"}
                            },
                        },
                    }
                ]
            }
        },
    )


def test_service_role_may_invoke_exactly_the_models_in_the_request(stack):
    automatic(stack, evaluator_model=Model.bedrock(JUDGE), tasks=[file_task(Metric.CORRECTNESS)])
    statements = service_role_statements(template_of(stack))
    nova = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    profile = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{JUDGE}"
    judge_everywhere = "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
    for resource in (nova, profile, judge_everywhere):
        assert "bedrock:InvokeModel" in actions_on(statements, resource), resource
    assert actions_on(statements, profile) >= {"bedrock:GetInferenceProfile"}
    invoked = {r for s in statements if "bedrock:InvokeModel" in s["Action"] for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}
    assert invoked == {nova, profile, judge_everywhere}


def test_service_role_reads_exactly_the_dataset_object_and_writes_only_its_output_prefix(stack):
    automatic(stack, tasks=[file_task(Metric.ACCURACY)])
    template = template_of(stack)
    request = job_properties(template)["Request"]
    dataset_uri = request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["dataset"]["datasetLocation"]["s3Uri"]
    bucket, key = dataset_uri[len("s3://"):].split("/", 1)
    statements = service_role_statements(template)
    assert actions_on(statements, f"arn:aws:s3:::{bucket}/{key}") == {"s3:GetObject"}
    assert actions_on(statements, f"arn:aws:s3:::{bucket}/results/eval-job/*") == {
        "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"
    }
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert all(r.endswith("/results/eval-job/*") for s in writes for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))


def test_raw_rag_request_grants_its_knowledge_base_and_literal_dataset(stack):
    EvaluationJob(stack, "Job", request=rag_request())
    statements = service_role_statements(template_of(stack))
    kb = "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"
    assert actions_on(statements, kb) == {"bedrock:Retrieve", "bedrock:RetrieveAndGenerate"}
    assert actions_on(statements, "arn:aws:s3:::my-datasets/rag/questions.jsonl") == {"s3:GetObject"}


def test_handler_may_pass_only_the_job_roles_and_only_to_bedrock(stack):
    automatic(stack)
    template = template_of(stack)
    statements = service_role_statements(template, "BedrockEvaluationJobProviderJobHandlerRole")
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passes and all(s["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}} for s in passes)
    assert all(":role/" in r and "*" not in r for s in passes for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {"bedrock:CreateEvaluationJob", "bedrock:GetEvaluationJob", "bedrock:StopEvaluationJob",
            "bedrock:ListEvaluationJobs", "bedrock:BatchDeleteEvaluationJob"} <= actions
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    # ListEvaluationJobs authorizes on no resource, and public reports say CreateEvaluationJob is
    # refused on anything narrower than "*" (../shared/reference/bedrock-evaluation.md, "IAM"); a job
    # can use only what the one role the handler may pass allows.
    wildcard = [s for s in statements if s["Resource"] == "*"]
    on_star = sorted(a for s in wildcard for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert on_star == ["bedrock:CreateEvaluationJob", "bedrock:ListEvaluationJobs"]


def test_evaluation_bucket_blocks_public_access_enforces_tls_and_keeps_versions(stack):
    automatic(stack)
    assertions = Template.from_stack(stack)
    assertions.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": Match.any_value(),
        },
    )
    assertions.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})
    policy = json.dumps(assertions.find_resources("AWS::S3::BucketPolicy"))
    assert '"aws:SecureTransport": "false"' in policy


def test_grants_read_results_and_describe(stack):
    job = automatic(stack)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    job.grant_read_results(reader)
    job.grant_describe(reader)
    statements = service_role_statements(template_of(stack), "ReaderDefaultPolicy")
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert "bedrock:GetEvaluationJob" in actions and "s3:GetObject*" in actions
    assert not any("s3:Put" in a for a in actions)


# --- warnings ---------------------------------------------------------------------------------


def test_task_type_outside_botocores_list_is_a_warning_not_an_error(stack):
    # AWS enums are open: botocore never enforces them; "Summarise" is not in its list.
    automatic(stack, tasks=[EvaluationTask(task_type="Summarise", dataset=Dataset.from_file(DATASET), metrics=[Metric.ACCURACY])])
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("Summarise"))
    assert warnings


def test_a_judge_job_takes_general_without_a_warning_and_warns_on_other_task_types(stack):
    # AWS samples ("must be General for LLMaaJ") and Terraform's docs: judge jobs take taskType General.
    automatic(stack, "General", evaluator_model=Model.bedrock(JUDGE), tasks=[EvaluationTask(dataset=Dataset.from_file(DATASET), metrics=[Metric.CORRECTNESS])])
    automatic(stack, "Qa", evaluator_model=Model.bedrock(JUDGE), tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.from_file(DATASET), metrics=[Metric.CORRECTNESS])])
    request = Template.from_stack(stack).find_resources("Custom::BedrockEvaluationJob")
    task_types = sorted(r["Properties"]["Request"]["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["taskType"] for r in request.values())
    assert task_types == ["General", "QuestionAndAnswer"]
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("taskType"))
    assert [w.id for w in warnings] == ["/Eval/Qa"]
    assert "take taskType 'General'" in str(warnings[0].entry.data)


# --- refused at synth -------------------------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("no model", {"model": None}, "model is not given: give exactly one of model, models or rag"),
    ("no tasks", {"tasks": []}, "evaluationConfig.automated.datasetMetricConfigs is of length 0: must be at least 1 long"),
    ("six tasks", {"tasks": [boolq_task()] * 6}, "evaluationConfig.automated.datasetMetricConfigs is 6 items: at most 5 are allowed"),
    ("judge metric on an automatic job", {"tasks": [boolq_task(Metric.CORRECTNESS)]}, "metricNames[0] is 'Builtin.Correctness': is not a metric of automatic jobs"),
    ("automatic metric on a judge job", {"evaluator_model": Model.bedrock(JUDGE), "tasks": [file_task(Metric.ACCURACY)]}, "metricNames[0] is 'Builtin.Accuracy': is not a metric of LLM-as-a-judge jobs"),
    ("metric named twice", {"tasks": [boolq_task(Metric.ACCURACY, Metric.ACCURACY)]}, "names a metric twice"),
    ("built-in dataset on a judge job", {"evaluator_model": Model.bedrock(JUDGE), "tasks": [boolq_task(Metric.CORRECTNESS)]}, "LLM-as-a-judge jobs need a custom prompt dataset"),
    ("built-in dataset of another task type", {"tasks": [EvaluationTask(task_type=TaskType.SUMMARIZATION, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.ACCURACY])]}, "dataset.name is 'Builtin.BoolQ' for Builtin.Accuracy on Summarization (it is a dataset for"),
    ("description too long", {"description": "x" * 201}, "jobDescription is 201 characters long: at most 200 are allowed"),
    ("bad name prefix", {"job_name_prefix": "Nightly_Eval"}, "job_name_prefix is 'Nightly_Eval': must match [a-z0-9](-*[a-z0-9])*"),
    ("name prefix too long", {"job_name_prefix": "a" * 53}, "at most 52 characters"),
    ("bad output prefix", {"output_prefix": "/results with space"}, "output_prefix is '/results with space': must be key segments"),
    ("request and typed props", {"request": raw_request()}, "not both: request= was given with model, tasks"),
    ("unknown removal", {"removal": "destroy"}, "removal is 'destroy': expected JobRemoval | None, got str"),
    ("bad model id", {"model": Model.bedrock("not a model")}, "modelIdentifier is 'not a model'"),
]


@pytest.mark.parametrize(("case", "overrides", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_fails_at_synth(stack, case, overrides, message):
    with pytest.raises(EvaluationJobConfigError, match=_escaped(message)):
        automatic(stack, **overrides)


RAW_INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("client request token", raw_request(clientRequestToken="abc"), "clientRequestToken is 'abc': must be left out"),
    ("job name with underscore", raw_request(jobName="my_rag_eval"), "jobName is 'my_rag_eval': does not match the pattern"),
    ("unknown field", raw_request(evaluationContext="RAG"), "evaluationContext is set: is not a field of CreateEvaluationJob here"),
    ("list where the API takes an object", {**raw_request(), "evaluationConfig": {"automated": [{"datasetMetricConfigs": []}]}}, "evaluationConfig.automated is [{'datasetMetricConfigs': []}]: must be of type dict"),
    ("both halves of a union", {**raw_request(), "evaluationConfig": {"automated": raw_request()["evaluationConfig"]["automated"], "human": {"datasetMetricConfigs": []}}}, "evaluationConfig is ['automated', 'human']: is a union: set exactly one of automated, human"),
]


def _rag_with(number_of_results: int) -> dict[str, Any]:
    request = rag_request()
    request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveConfig"]["knowledgeBaseRetrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] = number_of_results
    return request


RAW_INVALID += [
    ("number of results above 100", _rag_with(101), "numberOfResults is 101: must be between 1 and 100"),
    ("number of results below 1", _rag_with(0), "numberOfResults"),
]


@pytest.mark.parametrize(("case", "request_", "message"), RAW_INVALID, ids=[c[0] for c in RAW_INVALID])
def test_raw_request_fails_at_synth(stack, case, request_, message):
    with pytest.raises(EvaluationJobConfigError, match=_escaped(message)):
        EvaluationJob(stack, "Job", request=request_)


def test_fails_when_role_is_given_twice(stack):
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    with pytest.raises(EvaluationJobConfigError, match="either role= or request.roleArn"):
        EvaluationJob(stack, "Job", request=raw_request(roleArn="arn:aws:iam::123456789012:role/x"), role=role)


def test_errors_name_the_construct(stack):
    with pytest.raises(EvaluationJobConfigError, match=r"^Eval/Nightly: "):
        automatic(stack, "Nightly", description="")


DATASET_INVALID = [
    ("not json", '{"prompt": "a", "referenceResponse": "b"}\n{"prompt": \n', r"qa\.jsonl': line 2 is not valid JSON"),
    ("no prompt", '{"prompt": "a", "referenceResponse": "b"}\n{"question": "b"}\n', r"qa\.jsonl': line 2: the record has no 'prompt' key"),
    ("empty", "\n", "has no records"),
    ("too many", '{"prompt": "a", "referenceResponse": "b"}\n' * 1001, "1001 records; a dataset holds at most 1000"),
]


@pytest.mark.parametrize(("case", "content", "message"), DATASET_INVALID, ids=[c[0] for c in DATASET_INVALID])
def test_fails_on_a_bad_local_dataset_naming_file_and_line(stack, tmp_path, case, content, message):
    path = tmp_path / "qa.jsonl"
    path.write_text(content)
    with pytest.raises(EvaluationJobConfigError, match=message):
        automatic(stack, tasks=[file_task(Metric.ACCURACY, path=path)])


def test_fails_on_a_dataset_that_is_not_utf8_naming_file_line_and_byte(stack, tmp_path):
    # JSON Lines is UTF-8 (jsonlines.org); a file saved as Latin-1 is refused before upload.
    path = tmp_path / "qa.jsonl"
    path.write_bytes('{"prompt": "a", "referenceResponse": "b"}\n{"prompt": "caf\u00e9"}\n'.encode("latin-1"))
    with pytest.raises(EvaluationJobConfigError) as raised:
        automatic(stack, tasks=[file_task(Metric.ACCURACY, path=path)])
    assert raised.value.value == str(path)
    assert raised.value.rule.startswith("line 2 is not UTF-8 (byte 16: b'\\xe9')"), raised.value.rule


def test_fails_on_value_types_that_cannot_be_datasets_or_models(tmp_path):
    with pytest.raises(EvaluationJobConfigError, match="is not a file"):
        Dataset.from_file(tmp_path / "missing.jsonl")
    with pytest.raises(EvaluationJobConfigError, match="is not a built-in dataset"):
        Dataset.builtin("Builtin.TriviaQa")
    with pytest.raises(EvaluationJobConfigError, match="inference_params .* is not valid JSON"):
        Model.bedrock(NOVA, inference_params="{maxTokens: 5}")
    bad_name = tmp_path / "my data.jsonl"
    bad_name.write_text('{"prompt": "a"}\n')
    with pytest.raises(EvaluationJobConfigError, match="file name 'my data.jsonl'"):
        Dataset.from_file(bad_name)


def test_tokens_are_not_validated_at_synth(stack):
    prefix = cdk.CfnParameter(stack, "Prefix").value_as_string
    automatic(stack, description=cdk.CfnParameter(stack, "Description").value_as_string, output_prefix=prefix)
    request = job_properties(template_of(stack))["Request"]
    assert request["jobDescription"] == "ref-description"


def _escaped(message: str) -> str:
    import re

    return re.escape(message)


def test_jobs_can_share_one_service_role(stack):
    from bedrock_evaluation import EvaluationServiceRole

    shared = EvaluationServiceRole(stack, "Shared")
    automatic(stack, "A", role=shared)
    automatic(stack, "B", role=shared, model=Model.bedrock("amazon.nova-micro-v1:0"))
    template = template_of(stack)
    assert [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith(("AServiceRole", "BServiceRole", "Shared"))] == [_logical(template, "AWS::IAM::Role", "Shared")]
    statements = service_role_statements(template, "Shared")
    for model in ("amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"):
        assert "bedrock:InvokeModel" in actions_on(statements, f"arn:aws:bedrock:us-east-1::foundation-model/{model}")
    passes = [s for s in service_role_statements(template, "BedrockEvaluationJobProviderJobHandlerRole") if s["Action"] == "iam:PassRole"]
    assert len(passes) == 1 and isinstance(passes[0]["Resource"], str), "one role, one PassRole"


def test_cdk_tags_flow_into_job_tags_and_explicit_tags_win(stack):
    automatic(stack, tags={"team": "search"})
    cdk.Tags.of(stack).add("team", "platform")
    cdk.Tags.of(stack).add("cost-center", "ml-42")
    request = job_properties(template_of(stack))["Request"]
    assert request["jobTags"] == [{"key": "cost-center", "value": "ml-42"}, {"key": "team", "value": "search"}]


def test_fails_when_cdk_tags_break_the_job_tag_rules(stack):
    automatic(stack)
    cdk.Tags.of(stack).add("k" * 129, "v")
    with pytest.raises(Exception, match=r"CDK tags is .*: they make jobTags invalid; jobTags\[0\].key is 129 characters long"):
        template_of(stack)


def test_human_job_role_may_run_human_loops_on_star_as_the_user_guide_requires(stack):
    # User guide, human-based evaluation service role: "you must use Resource: *" for these actions.
    from bedrock_evaluation import HumanMetric, HumanWorkflow, RatingMethod

    flow = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/eval-flow"
    EvaluationJob(
        stack,
        "Job",
        model=Model.bedrock(NOVA),
        human_workflow=HumanWorkflow(flow_definition_arn=flow),
        human_metrics=[HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)],
        tasks=[file_task("Helpful")],
    )
    statements = service_role_statements(template_of(stack))
    assert actions_on(statements, "*") == {
        "sagemaker:StartHumanLoop",
        "sagemaker:DescribeFlowDefinition",
        "sagemaker:DescribeHumanLoop",
        "sagemaker:StopHumanLoop",
        "sagemaker:DeleteHumanLoop",
    }
    assert not actions_on(statements, flow), "nothing more is needed on the flow definition itself"


def test_encryption_key_is_named_in_the_request_and_granted_to_bedrock_role_and_handler(stack):
    from aws_cdk import aws_kms as kms

    key = kms.Key(stack, "Key")
    automatic(stack, encryption_key=key)
    template = template_of(stack)
    request = job_properties(template)["Request"]
    assert request["customerEncryptionKeyId"].startswith("Key")  # the key's Arn attribute
    key_policy = json.dumps(resources_of_type(template, "AWS::KMS::Key"))
    assert "bedrock.amazonaws.com" in key_policy and "kms:EncryptionContext:evaluationJobArn" in key_policy
    role_actions = {a for s in service_role_statements(template) for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"} <= role_actions
    handler = {a for s in service_role_statements(template, "BedrockEvaluationJobProviderJobHandlerRole") for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"} <= handler


def test_output_bucket_gets_the_minimal_cors_rule_only_with_a_human_job():
    from bedrock_evaluation import HumanMetric, HumanWorkflow, RatingMethod

    plain = cdk.Stack(cdk.App(), "Plain")
    automatic(plain)
    assert "CorsConfiguration" not in json.dumps(template_of(plain))

    human = cdk.Stack(cdk.App(), "Human")
    for name in ("A", "B"):
        EvaluationJob(
            human,
            name,
            model=Model.bedrock(NOVA),
            human_workflow=HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f"),
            human_metrics=[HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)],
            tasks=[file_task("Helpful")],
        )
    buckets = resources_of_type(template_of(human), "AWS::S3::Bucket")
    (bucket,) = [b for b in buckets.values() if "CorsConfiguration" in b["Properties"]]
    assert "LoggingConfiguration" in bucket["Properties"], "the evaluation bucket, not its access-log bucket"
    assert bucket["Properties"]["CorsConfiguration"] == {
        "CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://mturk-console-template-preview-hooks.s3.amazonaws.com"]}]
    }
