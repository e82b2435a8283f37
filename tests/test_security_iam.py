"""Least privilege, read from the synthesized templates of the example app and of every
configuration in the security matrix (see test_security_nag.py): what a reviewer checks by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from test_security_nag import MATRIX, example, matrix

from bedrock_evaluation import access
from bedrock_evaluation.access import Holder
from bedrock_evaluation.compliance import WILDCARD_RESOURCES, as_list, render, wildcard_resources

BEDROCK = "bedrock.amazonaws.com"
SAGEMAKER = "sagemaker.amazonaws.com"


def templates() -> dict[str, dict[str, Any]]:
    """Every matrix template, and the example's model stack (its knowledge-base stack declares roles
    of its own, which are the app's)."""
    return {**matrix().templates, "example": example()[0]["BedrockModelEvaluation"]}


def path_of(resource: dict[str, Any]) -> str:
    return resource.get("Metadata", {}).get("aws:cdk:path", "")


def trusts(role: dict[str, Any], service: str) -> bool:
    return any(
        service in as_list(statement.get("Principal", {}).get("Service", []))
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    )


def holder_of(template: dict[str, Any], role_logical_id: str) -> Holder:
    """Which row of access.py a role is, told from the template alone."""
    role = template["Resources"][role_logical_id]
    path = path_of(role)
    if trusts(role, BEDROCK):
        return Holder.SERVICE_ROLE
    if trusts(role, SAGEMAKER):
        return Holder.FLOW_DEFINITION_ROLE
    if path.endswith("/JobHandlerRole/Resource"):
        return Holder.HANDLER_ROLE
    if re.search(r"/Framework(OnEvent|Waiter)Role/Resource$", path):
        return Holder.FRAMEWORK_ROLES
    if path.endswith("/waiter-state-machine/Role/Resource"):
        return Holder.WAITER_ROLE
    if path.endswith("/BedrockEvaluationBucket/UploadRole/Resource"):
        return Holder.UPLOAD_ROLE
    raise AssertionError(f"{path}: a role the security tables do not know")


def identity_policies(template: dict[str, Any]) -> Iterator[tuple[str, Holder, dict[str, Any]]]:
    """(policy logical id, holder of the role it is attached to, document) for every IAM policy."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Policy":
            for role in resource["Properties"].get("Roles", []):
                yield logical_id, holder_of(template, role["Ref"]), resource["Properties"]["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                yield logical_id, holder_of(template, logical_id), policy["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            # A customer managed policy of the stack: the roles that attach it hold its statements.
            attached = {r["Ref"] for r in resource["Properties"].get("Roles", [])}
            for role_id, role in template["Resources"].items():
                if role["Type"] == "AWS::IAM::Role" and {"Ref": logical_id} in role["Properties"].get("ManagedPolicyArns", []):
                    attached.add(role_id)
            for role_id in sorted(attached):
                yield logical_id, holder_of(template, role_id), resource["Properties"]["PolicyDocument"]


def allow_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in document["Statement"] if s["Effect"] == "Allow"]


def resource_policies_of_ours(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The bucket policies of our buckets and the statements we add to a key policy."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::S3::BucketPolicy" and "/BedrockEvaluationBucket/" in path_of(resource):
            yield logical_id, resource["Properties"]["PolicyDocument"]
        if resource["Type"] == "AWS::KMS::Key":
            ours = [s for s in resource["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid", "").startswith("BedrockEvaluationJobs")]
            yield logical_id, {"Statement": ours}


CASES = sorted([*MATRIX, "example"])


@pytest.mark.parametrize("name", CASES)
def test_no_allowed_action_has_a_wildcard(name):
    template = templates()[name]
    documents = [(i, d) for i, _, d in identity_policies(template)] + list(resource_policies_of_ours(template))
    assert documents
    for logical_id, document in documents:
        for statement in allow_statements(document):
            wild = [a for a in as_list(statement["Action"]) if "*" in a]
            assert wild == [], f"{logical_id}: {wild}"


@pytest.mark.parametrize("name", CASES)
def test_resource_wildcards_are_only_those_the_table_lists_for_that_role_and_those_actions(name):
    template = templates()[name]
    for logical_id, holder, document in identity_policies(template):
        for resource, actions in wildcard_resources(document).items():
            allowed = [w.key for w in WILDCARD_RESOURCES if w.covers(resource, actions, holder)]
            assert allowed, f"{logical_id} ({holder.value}): {sorted(actions)} on {resource}"


@pytest.mark.parametrize("name", CASES)
def test_every_granted_action_is_in_the_permissions_table_for_its_role(name):
    """So the README's permission tables, generated from access.py, name everything the roles may do."""
    for logical_id, holder, document in identity_policies(templates()[name]):
        for statement in allow_statements(document):
            undocumented = set(as_list(statement["Action"])) - access.actions_of(holder)
            assert not undocumented, f"{logical_id} ({holder.value}) may {sorted(undocumented)}, which access.py does not list"


@pytest.mark.parametrize("name", CASES)
def test_pass_role_is_only_for_the_service_roles_and_only_to_the_service_that_assumes_them(name):
    template = templates()[name]
    resources = template["Resources"]
    # A raw request's literal roleArn: a role managed elsewhere, which the handler passes on.
    requested_roles = {
        job["Properties"]["Request"]["roleArn"]
        for job in resources.values()
        if job["Type"] == "Custom::BedrockEvaluationJob" and isinstance(job["Properties"]["Request"]["roleArn"], str)
    }
    passes = 0
    for logical_id, holder, document in identity_policies(template):
        for statement in allow_statements(document):
            if "iam:PassRole" not in as_list(statement["Action"]):
                continue
            passes += 1
            assert holder is Holder.HANDLER_ROLE, logical_id
            assert as_list(statement["Action"]) == ["iam:PassRole"], logical_id
            # Each role only to the service that assumes it: job roles to Bedrock, flow definition roles to SageMaker.
            (service,) = statement["Condition"]["StringEquals"].values()
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": service}} and service in (BEDROCK, SAGEMAKER), logical_id
            for role in as_list(statement["Resource"]):
                if isinstance(role, dict):
                    role_id, attribute = role["Fn::GetAtt"]
                    assert attribute == "Arn" and trusts(resources[role_id], service), f"{logical_id}: {role}"
                else:
                    assert service == BEDROCK and role in requested_roles, f"{logical_id}: {role} is no job's roleArn"
    assert passes >= 1


@pytest.mark.parametrize("name", CASES)
def test_service_roles_trust_only_bedrock_evaluation_jobs_of_this_account(name):
    for logical_id, role in templates()[name]["Resources"].items():
        if role["Type"] != "AWS::IAM::Role" or not trusts(role, BEDROCK):
            continue
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": BEDROCK} and statement["Action"] == "sts:AssumeRole", logical_id
        condition = statement["Condition"]
        assert set(condition) == {"StringEquals", "ArnEquals"}, logical_id
        assert set(condition["StringEquals"]) == {"aws:SourceAccount"}, logical_id
        assert render(condition["ArnEquals"]["aws:SourceArn"]).endswith(":evaluation-job/*"), logical_id


@pytest.mark.parametrize("name", CASES)
def test_flow_definition_roles_trust_only_sagemaker_for_this_account(name):
    for logical_id, role in templates()[name]["Resources"].items():
        if role["Type"] != "AWS::IAM::Role" or not trusts(role, SAGEMAKER):
            continue
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": SAGEMAKER} and statement["Action"] == "sts:AssumeRole", logical_id
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, logical_id
        assert render(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":sagemaker:<AWS::Region>:<AWS::AccountId>:*"), logical_id


@pytest.mark.parametrize("name", CASES)
def test_no_role_has_an_aws_managed_policy(name):
    """The Provider framework and the dataset upload would get AWSLambdaBasicExecutionRole from CDK.
    A role may attach a customer managed policy of the stack (the statements job roles share)."""
    resources = templates()[name]["Resources"]
    for logical_id, role in resources.items():
        if role["Type"] == "AWS::IAM::Role":
            for arn in role["Properties"].get("ManagedPolicyArns", []):
                assert isinstance(arn, dict) and resources[arn["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy", (logical_id, arn)


def test_the_dataset_upload_reads_one_asset_object_and_writes_one_key_per_dataset():
    template = templates()["example"]
    (document,) = [d for _, h, d in identity_policies(template) if h is Holder.UPLOAD_ROLE]
    granted = {render(r): set(as_list(s["Action"])) for s in allow_statements(document) for r in as_list(s["Resource"])}
    (asset,) = [r for r, a in granted.items() if a == {"s3:GetObject"}]
    assert re.fullmatch(r"arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/[0-9a-f]{64}\.zip", asset)
    (dataset,) = [r for r, a in granted.items() if a == {"s3:PutObject", "s3:AbortMultipartUpload"}]
    assert re.fullmatch(r"<BedrockEvaluationBucket[0-9A-F]{8}\.Arn>/datasets/[0-9a-f]{16}/qa\.jsonl", dataset)
    (bucket,) = [r for r in granted if re.fullmatch(r"<BedrockEvaluationBucket[0-9A-F]{8}\.Arn>", r)]
    assert granted[bucket] == {"s3:ListBucket"}
    assert not any("Delete" in action for actions in granted.values() for action in actions)


def test_the_access_log_bucket_accepts_only_s3_log_delivery_for_the_evaluation_bucket():
    template = templates()["example"]
    (policy,) = [
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and "/AccessLogs/" in path_of(r)
    ]
    (delivery,) = allow_statements(policy["Properties"]["PolicyDocument"])
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert render(delivery["Resource"]).endswith("/evaluation-bucket/*")
    assert render(delivery["Condition"]["ArnLike"]["aws:SourceArn"]).startswith("<BedrockEvaluationBucket")
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    buckets = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert all("AccessControl" not in b.get("Properties", {}) for b in buckets), "log delivery by bucket policy, not ACLs"


def test_bedrock_may_use_the_customer_key_only_for_evaluation_jobs_of_this_account():
    template = templates()["customer-managed-key"]
    (key,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    ours = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid", "").startswith("BedrockEvaluationJobs")}
    assert set(ours) == {"BedrockEvaluationJobsUseKey", "BedrockEvaluationJobsDescribeKey"}
    for statement in ours.values():
        assert statement["Principal"] == {"Service": BEDROCK}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        assert render(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":evaluation-job/*")
    context = ours["BedrockEvaluationJobsUseKey"]["Condition"]["ArnLike"]["kms:EncryptionContext:evaluationJobArn"]
    assert render(context).endswith(":evaluation-job/*")


def test_only_a_human_jobs_output_bucket_is_opened_to_the_review_console():
    for name, template in templates().items():
        cors = [
            r["Properties"]["CorsConfiguration"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::S3::Bucket" and "CorsConfiguration" in r.get("Properties", {})
        ]
        human = '"human"' in json.dumps([r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockEvaluationJob"])
        assert len(cors) == (1 if human else 0), name
        for configuration in cors:
            assert configuration == {
                "CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://mturk-console-template-preview-hooks.s3.amazonaws.com"]}]
            }
