"""Human evaluation in one stack: the flow definition (its own custom resource type, served by the
stack's one provider), the work team, both roles and the output bucket's CORS rule.

Sources of the rules about the real service, cited where each is tested:
- Bedrock user guide, model-evaluation-jobs-management-create-human: CreateFlowDefinition must name
  the request source "AWS/Bedrock/Evaluation" and SageMaker's task UI
  arn:aws:sagemaker:<region>:394669845002:human-task-ui/Evaluation ("you can only modify the AWS
  Region"); the Bedrock service role needs access to the flow definition's output bucket.
- Bedrock user guide, model-eval-service-roles: two roles; the SageMaker one trusted by SageMaker;
  the S3 policy (datasets, output) "attached to both the SageMaker AI service role and the Amazon
  Bedrock service role".
- Bedrock user guide, CORS for human jobs: GET from https://mturk-console-template-preview-hooks.s3.amazonaws.com.
- botocore 1.44.5, sagemaker CreateFlowDefinition: TaskCount 1 to 3, TaskTimeLimitInSeconds at least
  30, TaskKeywords 1 to 5, WorkteamArn pattern.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Template
from cfn import policy_documents, resolve, resources_of_type

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    EvaluationWorkTeam,
    HumanFlowDefinition,
    HumanMetric,
    HumanWorkflow,
    Model,
    RatingMethod,
    TaskType,
)
from bedrock_evaluation.compliance import as_list, render

QA = Path(__file__).resolve().parents[1] / "datasets" / "qa.jsonl"
TEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/reviewers"
FLOW_TYPE = "Custom::SageMakerHumanFlowDefinition"
CORS = {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://mturk-console-template-preview-hooks.s3.amazonaws.com"]}


def team(stack: cdk.Stack, **overrides: Any) -> EvaluationWorkTeam:
    props: dict[str, Any] = {
        "user_pool": cognito.UserPool.from_user_pool_id(stack, "Workforce", "us-east-1_Workforce"),
        "user_pool_client": cognito.UserPoolClient.from_user_pool_client_id(stack, "WorkforceClient", "workforceclient"),
        "user_group": "bedrock-reviewers",
    }
    props.update(overrides)
    return EvaluationWorkTeam(stack, "Reviewers", **props)


def human_job(stack: cdk.Stack, workflow: HumanWorkflow, construct_id: str = "HeadToHead", **overrides: Any) -> EvaluationJob:
    props: dict[str, Any] = {
        "models": [Model.bedrock("amazon.nova-lite-v1:0"), Model.bedrock("amazon.nova-micro-v1:0")],
        "human_workflow": workflow,
        "human_metrics": [
            HumanMetric(name="Quality", rating_method=RatingMethod.INDIVIDUAL_LIKERT_SCALE),
            HumanMetric(name="Preference", rating_method=RatingMethod.COMPARISON_CHOICE),
        ],
        "tasks": [EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.from_file(QA), metrics=["Quality", "Preference"])],
    }
    props.update(overrides)
    return EvaluationJob(stack, construct_id, **props)


def one_stack(stack: cdk.Stack, **flow_props: Any) -> tuple[HumanFlowDefinition, EvaluationJob, dict[str, Any]]:
    flow = HumanFlowDefinition(stack, "ReviewFlow", work_team=team(stack), **flow_props)
    job = human_job(stack, HumanWorkflow(flow_definition=flow, instructions="Rate each answer, then pick the better one."))
    return flow, job, Template.from_stack(stack).to_json()


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources_of_type(template, kind).items()
    return found


def policy_of(template: dict[str, Any], role_path_part: str) -> dict[str, set[str]]:
    """rendered resource -> actions, over every policy attached to the role whose logical id contains the part."""
    granted: dict[str, set[str]] = {}
    roles = [k for k, r in resources_of_type(template, "AWS::IAM::Role").items() if role_path_part in k]
    for role in roles:
        for _, document in policy_documents(template, role):
            for statement in document["Statement"]:
                for target in as_list(statement["Resource"]):
                    granted.setdefault(render(target), set()).update(as_list(statement["Action"]))
    return granted


# --- the flow definition resource ----------------------------------------------------------------


def test_a_few_lines_make_the_work_team_the_flow_definition_and_the_job_that_uses_it(stack):
    _, _, template = one_stack(stack, task_count=2, task_time_limit=cdk.Duration.minutes(30), task_keywords=["bedrock"])

    _, flow = only(template, FLOW_TYPE)
    request = resolve(flow["Properties"]["FlowDefinition"], template)
    # user guide (create-human): the Bedrock request source and SageMaker's task UI, only the region changes
    assert request["HumanLoopRequestSource"] == {"AwsManagedHumanLoopRequestSource": "AWS/Bedrock/Evaluation"}
    assert request["HumanLoopConfig"]["HumanTaskUiArn"] == "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/Evaluation"
    assert {k: v for k, v in request["HumanLoopConfig"].items() if k.startswith("Task")} == {
        "TaskTitle": "Amazon Bedrock model evaluation",
        "TaskDescription": "Rate the model responses to each prompt as the job's instructions ask.",
        "TaskCount": 2,
        "TaskTimeLimitInSeconds": 1800,
        "TaskKeywords": ["bedrock"],
    }
    bucket = next(k for k in resources_of_type(template, "AWS::S3::Bucket") if k.startswith("BedrockEvaluationBucket") and "AccessLogs" not in k)
    assert request["OutputConfig"] == {"S3OutputPath": f"s3://{bucket.lower()[:40]}/human-reviews/eval-review-flow/"}
    assert flow["Properties"]["NamePrefix"] == "eval-review-flow"

    # and the job's request names the flow definition this stack made
    _, job = only(template, "Custom::BedrockEvaluationJob")
    flow_id = only(template, FLOW_TYPE)[0]
    assert job["Properties"]["Request"]["evaluationConfig"]["human"]["humanWorkflowConfig"] == {
        "flowDefinitionArn": {"Fn::GetAtt": [flow_id, "FlowDefinitionArn"]},
        "instructions": "Rate each answer, then pick the better one.",
    }


def test_the_work_team_is_the_cognito_group_of_the_private_workforce(stack):
    _, _, template = one_stack(stack)
    team_id, workteam = only(template, "AWS::SageMaker::Workteam")
    assert workteam["Properties"]["MemberDefinitions"] == [
        {"CognitoMemberDefinition": {"CognitoUserPool": "us-east-1_Workforce", "CognitoClientId": "workforceclient", "CognitoUserGroup": "bedrock-reviewers"}}
    ]
    _, flow = only(template, FLOW_TYPE)
    assert flow["Properties"]["FlowDefinition"]["HumanLoopConfig"]["WorkteamArn"] == {"Fn::GetAtt": [team_id, "WorkteamArn"]}


def test_an_existing_work_team_is_given_by_its_arn(stack):
    flow = HumanFlowDefinition(stack, "ReviewFlow", work_team=TEAM_ARN)
    human_job(stack, HumanWorkflow(flow_definition=flow))
    template = Template.from_stack(stack).to_json()
    assert resources_of_type(template, "AWS::SageMaker::Workteam") == {}
    assert only(template, FLOW_TYPE)[1]["Properties"]["FlowDefinition"]["HumanLoopConfig"]["WorkteamArn"] == TEAM_ARN


def test_the_flow_definition_is_served_by_the_stacks_one_provider_after_its_role_and_the_handlers_grants(stack):
    _, _, template = one_stack(stack)
    _, flow = only(template, FLOW_TYPE)
    _, job = only(template, "Custom::BedrockEvaluationJob")
    assert flow["Properties"]["ServiceToken"] == job["Properties"]["ServiceToken"]
    assert [k for k in resources_of_type(template, "AWS::Lambda::Function") if "OnEvent" in k] == [
        next(k for k in resources_of_type(template, "AWS::Lambda::Function") if k.startswith("BedrockEvaluationJobProviderOnEvent"))
    ]
    assert any(d.startswith("ReviewFlowRoleDefaultPolicy") for d in flow["DependsOn"])
    # the handler's statements are inline in its role (provider.InlineRole): the flow waits for the role
    assert any(d.startswith("BedrockEvaluationJobProviderJobHandlerRole") for d in flow["DependsOn"])
    # the job starts only once SageMaker's role may read its datasets and write its answers
    assert any(d.startswith("ReviewFlowRoleDefaultPolicy") for d in job["DependsOn"])


def test_the_arn_form_keeps_working_and_makes_no_flow_definition(stack):
    human_job(stack, HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/made-elsewhere"))
    template = Template.from_stack(stack).to_json()
    assert resources_of_type(template, FLOW_TYPE) == {}
    _, job = only(template, "Custom::BedrockEvaluationJob")
    assert job["Properties"]["Request"]["evaluationConfig"]["human"]["humanWorkflowConfig"]["flowDefinitionArn"].endswith("/made-elsewhere")


# --- both roles ----------------------------------------------------------------------------------


def test_the_sagemaker_role_is_trusted_only_by_sagemaker_for_this_account_and_region(stack):
    # user guide (model-eval-service-roles): "a trust policy which defines SageMaker AI as the service principal"
    _, _, template = one_stack(stack)
    roles = [r for k, r in resources_of_type(template, "AWS::IAM::Role").items() if k.startswith("ReviewFlowRole")]
    (statement,) = roles[0]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert render(statement["Condition"]["ArnLike"]["aws:SourceArn"]) == "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:*"


def test_the_sagemaker_role_may_use_exactly_the_jobs_dataset_and_both_output_prefixes(stack):
    # user guide (model-eval-service-roles): the datasets and output policy goes on both roles
    _, _, template = one_stack(stack)
    granted = policy_of(template, "ReviewFlowRole")
    bucket = next(r for r in granted if r.endswith(".Arn>"))
    assert granted == {
        bucket: {"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"},
        f"{bucket}/human-reviews/eval-review-flow/*": {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},
        f"{bucket}/results/eval-head-to-head/*": {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},
        next(r for r in granted if r.endswith("/qa.jsonl")): {"s3:GetObject"},
    }


def test_the_bedrock_role_gets_the_flow_definitions_output_and_its_human_loops(stack):
    # user guide (create-human): "The Amazon Bedrock service role must also have permissions to access
    # the output bucket of the flow definition"
    _, _, template = one_stack(stack)
    granted = policy_of(template, "HeadToHeadServiceRole")
    bucket = next(r for r in granted if r.endswith(".Arn>"))
    assert granted[f"{bucket}/human-reviews/eval-review-flow/*"] == {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}
    # The same user guide page's role policy: the human-loop actions "must use Resource: *".
    assert granted["*"] == {
        "sagemaker:StartHumanLoop",
        "sagemaker:DescribeFlowDefinition",
        "sagemaker:DescribeHumanLoop",
        "sagemaker:StopHumanLoop",
        "sagemaker:DeleteHumanLoop",
    }


def test_the_handler_manages_only_its_prefixes_flow_definitions_and_passes_the_role_only_to_sagemaker(stack):
    _, _, template = one_stack(stack)
    granted = policy_of(template, "JobHandlerRole")
    assert granted["arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:flow-definition/eval-review-flow-*"] == {
        "sagemaker:CreateFlowDefinition", "sagemaker:DescribeFlowDefinition", "sagemaker:DeleteFlowDefinition"
    }
    (handler,) = [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith("BedrockEvaluationJobProviderJobHandlerRole")]
    passes = [s for _, document in policy_documents(template, handler) for s in document["Statement"] if s["Action"] == "iam:PassRole"]
    to_sagemaker = [s for s in passes if s["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}]
    (statement,) = to_sagemaker
    assert statement["Resource"]["Fn::GetAtt"][0].startswith("ReviewFlowRole")


def test_a_key_encrypts_the_answers_and_both_roles_may_use_it_only_through_s3(stack):
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    _, _, template = one_stack(stack, encryption_key=key)
    _, flow = only(template, FLOW_TYPE)
    key_id = only(template, "AWS::KMS::Key")[0]
    assert flow["Properties"]["FlowDefinition"]["OutputConfig"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for role in ("ReviewFlowRole", "HeadToHeadServiceRole"):
        assert policy_of(template, role)[f"<{key_id}.Arn>"] == {"kms:Decrypt", "kms:GenerateDataKey"}, role


# --- CORS on the output bucket -------------------------------------------------------------------


def cors_of(template: dict[str, Any]) -> list[Any]:
    return [b["Properties"]["CorsConfiguration"]["CorsRules"] for b in resources_of_type(template, "AWS::S3::Bucket").values() if "CorsConfiguration" in b["Properties"]]


def test_the_documented_cors_rule_goes_on_the_users_own_output_bucket(stack):
    results = s3.Bucket(stack, "Results")
    human_job(stack, HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f"), output_bucket=results)
    human_job(stack, HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f"), "Second", output_bucket=results)
    template = Template.from_stack(stack).to_json()
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    (results_id,) = [k for k in buckets if k.startswith("Results")]
    assert buckets[results_id]["Properties"]["CorsConfiguration"] == {"CorsRules": [CORS]}
    assert cors_of(template) == [[CORS]], "once, and only on the output bucket"


def test_an_imported_output_bucket_gets_a_warning_saying_why_and_what_to_add(stack):
    shared = s3.Bucket.from_bucket_name(stack, "Shared", "shared-results")
    human_job(stack, HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f"), output_bucket=shared)
    warnings = Annotations.from_stack(stack).find_warning("/Eval/HeadToHead", cdk.assertions.Match.string_like_regexp("is imported.*AllowedOrigins https://mturk"))
    assert len(warnings) == 1
    assert cors_of(Template.from_stack(stack).to_json()) == []


def test_a_raw_human_request_with_its_own_output_gets_the_warning_too(stack):
    job = human_job(stack, HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f"), "Typed")
    raw = dict(job.request)
    raw.pop("roleArn")
    raw["outputDataConfig"] = {"s3Uri": "s3://team-results/human/"}
    EvaluationJob(stack, "Raw", request=raw)
    warnings = Annotations.from_stack(stack).find_warning("/Eval/Raw", cdk.assertions.Match.string_like_regexp("names its own output location.*CORS rule"))
    assert len(warnings) == 1


# --- refused at synth ----------------------------------------------------------------------------


def test_fails_without_a_work_team_saying_what_must_exist(stack):
    with pytest.raises(EvaluationJobConfigError) as raised:
        HumanFlowDefinition(stack, "ReviewFlow")
    assert str(raised.value).startswith("Eval/ReviewFlow: work_team is not given: is required: give an EvaluationWorkTeam")
    assert "private workforce" in str(raised.value)


def test_fails_for_a_work_team_without_its_workforces_pool_client_or_group(stack):
    with pytest.raises(EvaluationJobConfigError) as raised:
        EvaluationWorkTeam(stack, "Reviewers")
    assert [v.field for v in raised.value.violations] == ["user_pool", "user_pool_client", "user_group"]
    assert "Labeling workforces > Private" in raised.value.violations[0].rule


@pytest.mark.parametrize(
    ("case", "props", "message"),
    [
        # botocore sagemaker CreateFlowDefinition: FlowDefinitionTaskCount min 1, max 3
        ("four workers per prompt", {"task_count": 4}, "HumanLoopConfig.TaskCount is 4: must be between 1 and 3"),
        ("no worker", {"task_count": 0}, "HumanLoopConfig.TaskCount is 0: must be at least 1"),
        # FlowDefinitionTaskTimeLimitInSeconds min 30
        ("ten seconds per task", {"task_time_limit": cdk.Duration.seconds(10)}, "HumanLoopConfig.TaskTimeLimitInSeconds is 10: must be at least 30"),
        # FlowDefinitionTaskKeywords max 5
        ("six keywords", {"task_keywords": list("abcdef")}, "HumanLoopConfig.TaskKeywords is 6 items: at most 5 are allowed"),
        # WorkteamArn pattern arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:workteam/.*
        ("a work team name for an ARN", {"work_team": "reviewers"}, "HumanLoopConfig.WorkteamArn is 'reviewers': does not match the pattern"),
        ("a prefix that cannot name it", {"name_prefix": "Review_Flow"}, "name_prefix is 'Review_Flow'"),
    ],
)
def test_fails_at_synth(stack, case, props, message):
    given: dict[str, Any] = {"work_team": TEAM_ARN, **props}
    with pytest.raises(EvaluationJobConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace("*", r"\*")):
        HumanFlowDefinition(stack, "ReviewFlow", **given)


def test_fails_for_a_workflow_with_both_or_neither_flow_definition(stack):
    flow = HumanFlowDefinition(stack, "ReviewFlow", work_team=TEAM_ARN)
    for props in ({}, {"flow_definition": flow, "flow_definition_arn": TEAM_ARN}):
        with pytest.raises(EvaluationJobConfigError, match="give exactly one of flow_definition"):
            HumanWorkflow(**props)


def test_the_bedrock_request_source_is_not_a_warning_though_botocore_does_not_list_it(stack):
    HumanFlowDefinition(stack, "ReviewFlow", work_team=TEAM_ARN)
    assert Annotations.from_stack(stack).find_warning("*", cdk.assertions.Match.any_value()) == []
