"""The provider's roles hold their statements in themselves, so the fixed part of a stack is small.

The handler's role and the Provider framework's two roles take their statements as plain data,
written by the stack's LateProperties into the role's inline policy (then managed policies of the
role): no `AWS::IAM::Policy` per role. The provider's five functions log to one log group. What is
left of CloudFormation's 500 resources per template ("AWS CloudFormation quotas", Resources: 500)
is for the jobs: 240 of them with roles of their own fit one stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cfn import DeployedNames, dependency_cycle, policy_documents, resolve, resources_of_type

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationServiceRole, EvaluationTask, JobWait, Model, TaskType
from bedrock_evaluation.provider import EvaluationJobProvider

NOVA = "amazon.nova-lite-v1:0"
PROVIDER = "BedrockEvaluationJobProvider"
CLOUDFORMATION_RESOURCES = 500  # AWS CloudFormation quotas: resources per template


def jobs(stack: cdk.Stack, count: int, **props: Any) -> None:
    for index in range(count):
        task = EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])
        EvaluationJob(stack, f"Job{index:03d}", model=Model.bedrock(NOVA), tasks=[task], **props)


def role_id(template: dict[str, Any], name: str) -> str:
    (found,) = [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith(PROVIDER + name)]
    return found


def test_the_provider_roles_hold_their_statements_inline_with_no_default_policy():
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 2)
    template = Template.from_stack(stack).to_json()
    assert [k for k in resources_of_type(template, "AWS::IAM::Policy") if k.startswith(PROVIDER)] == [
        next(k for k in resources_of_type(template, "AWS::IAM::Policy") if k.startswith(PROVIDER + "waiterstatemachineRole"))
    ]  # only the state machine's role, which CDK makes and we do not
    handler = template["Resources"][role_id(template, "JobHandlerRole")]["Properties"]["Policies"]
    assert [p["PolicyName"] for p in handler] == ["EvaluationJobHandler"]
    actions = {a for s in handler[0]["PolicyDocument"]["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"bedrock:CreateEvaluationJob", "iam:PassRole", "logs:PutLogEvents"} <= actions
    for name in ("FrameworkOnEventRole", "FrameworkWaiterRole"):
        (policy,) = template["Resources"][role_id(template, name)]["Properties"]["Policies"]
        assert policy["PolicyName"] == "ProviderFramework"
        statements = policy["PolicyDocument"]["Statement"]
        # the framework's own grants (CDK's grantInvoke) joined ours
        assert any(s["Action"] == "lambda:InvokeFunction" for s in statements), name
    on_event = template["Resources"][role_id(template, "FrameworkOnEventRole")]["Properties"]["Policies"][0]
    assert any(s["Action"] == "states:StartExecution" for s in on_event["PolicyDocument"]["Statement"])


def test_the_provider_functions_log_to_one_log_group():
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 1)
    template = Template.from_stack(stack).to_json()
    (log_group,) = resources_of_type(template, "AWS::Logs::LogGroup")
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert len(functions) == 5
    for logical_id, function in functions.items():
        assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": log_group}, logical_id


def test_a_job_waits_for_the_handler_role_that_holds_its_pass_role():
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 1)
    template = Template.from_stack(stack).to_json()
    (job,) = resources_of_type(template, "Custom::BedrockEvaluationJob").values()
    assert job["DependsOn"] == [role_id(template, "JobHandlerRole")]


def test_what_you_add_to_the_handler_role_stays_in_its_default_policy_which_the_jobs_wait_for():
    """Our acknowledgements are per resource: a statement of yours beside ours would hide under them."""
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 1)
    provider = EvaluationJobProvider.of(stack)
    provider.role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::team-data/*"]))
    template = Template.from_stack(stack).to_json()
    (default_policy,) = [k for k in resources_of_type(template, "AWS::IAM::Policy") if k.startswith(PROVIDER + "JobHandlerRoleDefaultPolicy")]
    statements = template["Resources"][default_policy]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == ["s3:GetObject"]
    (job,) = resources_of_type(template, "Custom::BedrockEvaluationJob").values()
    assert default_policy in job["DependsOn"]


def test_a_stack_holds_240_jobs_with_roles_of_their_own():
    """Two resources a job (itself and its role), the handler's PassRole packed into its role and
    managed policies of it, and CDK's synth-time validation passes."""
    app = cdk.App(context={"@aws-cdk/core:validateAgainstDefaultRules": True})
    stack = cdk.Stack(app, "Eval")
    jobs(stack, 240)
    template = json.loads(Path(app.synth().get_stack_by_name("Eval").template_full_path).read_text())  # raises if validation refuses it
    resources = template["Resources"]
    assert len(resources) <= CLOUDFORMATION_RESOURCES
    handler = role_id(template, "JobHandlerRole")
    managed = [holder for holder, _ in policy_documents(template, handler) if resources[holder]["Type"] == "AWS::IAM::ManagedPolicy"]
    assert 1 <= len(managed) <= 3


@pytest.mark.parametrize("shared", [False, True], ids=["a role per job", "a shared role"])
def test_the_handler_passes_each_role_once(shared: bool):
    stack = cdk.Stack(cdk.App(), "Eval")
    role = EvaluationServiceRole(stack, "Shared") if shared else None
    jobs(stack, 3, role=role)
    template = Template.from_stack(stack).to_json()
    passed = [
        r
        for _, document in policy_documents(template, role_id(template, "JobHandlerRole"))
        for s in document["Statement"]
        if s["Action"] == "iam:PassRole"
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert len(passed) == len({json.dumps(r) for r in passed}) == (1 if shared else 3)


def test_an_upgrade_gives_the_handler_a_new_role():
    """The earlier releases' handler role (this logical id) held these statements in its
    DefaultPolicy. CloudFormation updates a role before it deletes a policy the template no longer
    has (that waits for the cleanup after the update), and IAM allows a role 10,240 characters of
    inline policies together ("IAM and AWS STS quotas"): the old DefaultPolicy and the new inline
    policy on one role would be refused for a stack of many jobs. A new role has only the new one."""
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 1)
    template = Template.from_stack(stack).to_json()
    assert not [k for k in template["Resources"] if k.startswith(PROVIDER + "HandlerRole")]
    assert role_id(template, "JobHandlerRole") != "BedrockEvaluationJobProviderHandlerRole074BD17F"


def key_naming_the_handler_role(stack: cdk.Stack) -> kms.Key:
    key = kms.Key(stack, "ResultsKey")
    key.add_to_resource_policy(
        iam.PolicyStatement(principals=[EvaluationJobProvider.of(stack).role], actions=["kms:Decrypt"], resources=["*"])
    )
    return key


def test_a_key_whose_policy_names_the_handler_role_is_named_in_a_managed_policy_of_the_role():
    """In the role itself, the role would need the key and the key the role: CloudFormation
    refuses a template with such a cycle ("Circular dependency between resources")."""
    stack = cdk.Stack(cdk.App(), "Eval")
    key = key_naming_the_handler_role(stack)
    bucket = s3.Bucket(stack, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    task = EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])
    EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[task], output_bucket=bucket, wait=JobWait.until_done(timeout=Duration.hours(1)))
    template = Template.from_stack(stack).to_json()
    assert dependency_cycle(template) == []
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    handler = role_id(template, "JobHandlerRole")
    holders = {holder for holder, document in policy_documents(template, handler) if key_id in json.dumps(document)}
    (managed,) = holders
    assert template["Resources"][managed]["Type"] == "AWS::IAM::ManagedPolicy"
    assert template["Resources"][managed]["Properties"]["Description"] == "Statements of this role not in its inline policy"
    (results,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockEvaluationResults"]
    assert managed in results["DependsOn"]  # it reads the results only once it may decrypt them


def test_a_bucket_encrypted_by_a_key_naming_the_handler_role_makes_no_cycle():
    """Without wait= the handler's statements do not name the key; they name the job's role, which
    attaches the listing of its output bucket, which needs the key, which needs the handler's role."""
    stack = cdk.Stack(cdk.App(), "Eval")
    key = key_naming_the_handler_role(stack)
    bucket = s3.Bucket(stack, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    jobs(stack, 2, output_bucket=bucket)
    template = Template.from_stack(stack).to_json()
    assert dependency_cycle(template) == []
    handler = role_id(template, "JobHandlerRole")
    assert "Policies" not in template["Resources"][handler]["Properties"]
    for job in resources_of_type(template, "Custom::BedrockEvaluationJob").values():
        (managed,) = job["DependsOn"]  # the managed policy that holds its PassRole
        assert template["Resources"][managed]["Type"] == "AWS::IAM::ManagedPolicy"


def test_a_key_whose_policy_does_not_name_the_role_stays_inline():
    stack = cdk.Stack(cdk.App(), "Eval")
    key = kms.Key(stack, "ResultsKey")
    bucket = s3.Bucket(stack, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    task = EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])
    EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[task], output_bucket=bucket, wait=JobWait.until_done(timeout=Duration.hours(1)))
    template = Template.from_stack(stack).to_json()
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    holders = {holder for holder, document in policy_documents(template, role_id(template, "JobHandlerRole")) if key_id in json.dumps(document)}
    assert holders == {role_id(template, "JobHandlerRole")}
    assert dependency_cycle(template) == []


def test_a_policy_added_to_the_handler_role_beyond_its_inline_room_leaves_the_role_within_iams_limit():
    """IAM counts every inline policy of a role together ("IAM and AWS STS quotas": 10,240
    characters), the DefaultPolicy that holds what you add among them. Ours leaves it the room it
    may take; CDK moves what it cannot hold to overflow managed policies of the role, which the
    resources the handler serves wait for too."""
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 1)
    role = EvaluationJobProvider.of(stack).role
    # about 12,000 characters in four statements (of different actions: CDK would merge them into one)
    added_actions = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectAcl")
    for part, action in enumerate(added_actions):
        role.add_to_principal_policy(iam.PolicyStatement(actions=[action], resources=[f"arn:aws:s3:::team-data-{part}-{i:03d}/*" for i in range(100)]))
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    handler = role_id(template, "JobHandlerRole")
    documents = policy_documents(template, handler)
    inline = [document for holder, document in documents if resources[holder]["Type"] != "AWS::IAM::ManagedPolicy"]
    assert sum(len(json.dumps(resolve(d, template, DeployedNames("Eval")), separators=(",", ":"))) for d in inline) <= 10_240
    resolved = [s for _, d in documents for s in d["Statement"]]
    granted = {r for s in resolved if s["Action"] in added_actions for r in s["Resource"]}
    assert len(granted) == 400  # nothing lost
    assert {"bedrock:CreateEvaluationJob", "iam:PassRole"} <= {a for s in resolved for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    (job,) = resources_of_type(template, "Custom::BedrockEvaluationJob").values()
    overflow = [h for h, _ in documents if "OverflowPolicy" in h]
    assert overflow and set(overflow) <= set(job["DependsOn"])


def test_a_statement_added_to_the_handler_role_that_fits_no_policy_is_refused():
    """Over the role's inline size, CDK moves what you added to managed policies a statement at a
    time, and IAM allows a managed policy 6,144 characters ("IAM and AWS STS quotas")."""
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs(stack, 1)
    objects = [f"arn:aws:s3:::team-data-{index:04d}/*" for index in range(400)]  # about 12,000 characters
    EvaluationJobProvider.of(stack).role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=objects))
    with pytest.raises(RuntimeError) as raised:  # raised while the stack is synthesized, through jsii
        Template.from_stack(stack)
    message = str(raised.value)
    assert message.startswith("Eval/BedrockEvaluationJobProvider/JobHandlerRole: DefaultPolicy is 'a statement of at least 12,")
    assert "6,144 each: split that statement into statements of fewer resources" in message


def test_a_key_of_a_nested_stack_naming_the_handler_role_makes_no_cycle():
    """The nested stack's resource would need the role (a parameter), and the role the nested stack
    (the bucket's ARN, an output of it)."""
    stack = cdk.Stack(cdk.App(), "Eval")
    nested = cdk.NestedStack(stack, "Storage")
    key = kms.Key(nested, "ResultsKey")
    key.add_to_resource_policy(iam.PolicyStatement(principals=[EvaluationJobProvider.of(stack).role], actions=["kms:Decrypt"], resources=["*"]))
    bucket = s3.Bucket(nested, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    jobs(stack, 1, output_bucket=bucket, wait=JobWait.until_done(timeout=Duration.hours(1)))
    template = Template.from_stack(stack).to_json()
    assert dependency_cycle(template) == []
    assert "Policies" not in template["Resources"][role_id(template, "JobHandlerRole")]["Properties"]


def test_a_key_naming_a_handler_role_whose_logical_id_is_overridden_makes_no_cycle():
    stack = cdk.Stack(cdk.App(), "Eval")
    role = EvaluationJobProvider.of(stack).role
    cfn_role: Any = role.node.default_child
    cfn_role.override_logical_id("EvaluationHandlerRole")
    key = key_naming_the_handler_role(stack)
    bucket = s3.Bucket(stack, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    jobs(stack, 1, output_bucket=bucket)
    template = Template.from_stack(stack).to_json()
    assert dependency_cycle(template) == []
    assert "Policies" not in template["Resources"]["EvaluationHandlerRole"]["Properties"]


def test_a_synth_after_a_key_names_the_role_takes_the_statements_out_of_the_role():
    """An app may synthesize more than once (assertions do); each synth writes what the stack holds then."""
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    key = kms.Key(stack, "ResultsKey")
    bucket = s3.Bucket(stack, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    jobs(stack, 1, output_bucket=bucket, wait=JobWait.until_done(timeout=Duration.hours(1)))

    def synthesized() -> dict[str, Any]:
        return json.loads(Path(app.synth(force=True).get_stack_by_name("Eval").template_full_path).read_text())

    first = synthesized()
    assert "Policies" in first["Resources"][role_id(first, "JobHandlerRole")]["Properties"]
    key.add_to_resource_policy(iam.PolicyStatement(principals=[EvaluationJobProvider.of(stack).role], actions=["kms:Decrypt"], resources=["*"]))
    template = synthesized()
    assert "Policies" not in template["Resources"][role_id(template, "JobHandlerRole")]["Properties"]
    assert dependency_cycle(template) == []
