"""What a job writes into the template once every grant and tag is in place, and what it costs.

A job's request is written when the job is made, with only its jobTags read when the template is
written (after every Tags aspect has run); its role's policy is written once per stack by
`LateProperties`, as plain data. A policy's ARNs are written as one Fn::Sub only where every
reference in them is a pseudo parameter or a resource of the same stack: a reference to another
stack must stay a token, which CDK turns into an export and an Fn::ImportValue.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cfn import resources_of_type

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationServiceRole, EvaluationTask, Model, TaskType

NOVA = "amazon.nova-lite-v1:0"


def job(stack: cdk.Stack, construct_id: str, **props: Any) -> EvaluationJob:
    task = EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=props.pop("dataset", Dataset.builtin("Builtin.BoolQ")), metrics=["Builtin.Accuracy"])
    return EvaluationJob(stack, construct_id, model=Model.bedrock(NOVA), tasks=[task], **props)


def only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = resources_of_type(template, kind).values()
    return resource


def subs(value: Any) -> list[str]:
    """Every Fn::Sub string in a template value."""
    if isinstance(value, dict):
        found = [value["Fn::Sub"]] if isinstance(value.get("Fn::Sub"), str) else []
        return found + [s for v in value.values() for s in subs(v)]
    if isinstance(value, list):
        return [s for v in value for s in subs(v)]
    return []


def test_the_job_role_holds_its_policy_as_its_own_property():
    """cdk-nag reads a role's policies from the construct, not from the template: the inline
    policy is the CfnRole's `policies`, not an override it could not see."""
    stack = cdk.Stack(cdk.App(), "Eval")
    evaluation = job(stack, "Job")
    template = Template.from_stack(stack).to_json()
    role = template["Resources"][stack.get_logical_id(evaluation.role.node.default_child)]  # type: ignore[arg-type]
    cfn_role = evaluation.role.node.default_child
    on_construct = stack.resolve(cfn_role.policies)  # type: ignore[union-attr]
    assert [{"PolicyDocument": p["policyDocument"], "PolicyName": p["policyName"]} for p in on_construct] == role["Properties"]["Policies"]
    (policy,) = role["Properties"]["Policies"]
    assert policy["PolicyName"] == "EvaluationJob"
    assert {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/" + NOVA} in [s["Resource"] for s in policy["PolicyDocument"]["Statement"]]


def test_our_bucket_is_written_in_one_fn_sub_in_the_policy_and_as_cdk_writes_it_in_the_request():
    """The request keeps CDK's own form (the golden example pins it): a logical id renamed after the
    job was made is still right there."""
    stack = cdk.Stack(cdk.App(), "Eval")
    job(stack, "Job")
    template = Template.from_stack(stack).to_json()
    (bucket,) = [k for k in resources_of_type(template, "AWS::S3::Bucket") if k.startswith("BedrockEvaluationBucket") and "AccessLogs" not in k]
    request = only(template, "Custom::BedrockEvaluationJob")["Properties"]["Request"]
    assert request["outputDataConfig"]["s3Uri"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket}, "/results/eval-job/"]]}
    assert "${" + bucket + ".Arn}/results/eval-job/*" in subs(template["Resources"])


def test_a_bucket_of_another_stack_is_imported_not_named_in_an_fn_sub():
    """A Ref or Fn::GetAtt of a resource of another stack inside an Fn::Sub string would name a
    resource the template does not have: CloudFormation refuses it, and CDK cannot see it to
    export it. Such a value is left to CDK, which imports it."""
    app = cdk.App()
    data = cdk.Stack(app, "Data")
    datasets = s3.Bucket(data, "Datasets")
    results = s3.Bucket(data, "Results")
    evaluation = cdk.Stack(app, "Eval")
    job(evaluation, "Job", dataset=Dataset.from_s3(datasets, "qa.jsonl", name="qa"), output_bucket=results)
    assembly = app.synth()
    template = json.loads(open(assembly.get_stack_by_name("Eval").template_full_path).read())
    data_ids = set(json.loads(open(assembly.get_stack_by_name("Data").template_full_path).read())["Resources"])
    for written in subs(template["Resources"]):
        assert not any("${" + logical_id in written for logical_id in data_ids), written
    text = json.dumps(template)
    assert text.count("Fn::ImportValue") >= 3  # the dataset bucket's ARN, the results bucket's ARN and name
    request = only(template, "Custom::BedrockEvaluationJob")["Properties"]["Request"]
    assert "Fn::ImportValue" in json.dumps(request["outputDataConfig"]["s3Uri"])
    assert "Fn::ImportValue" in json.dumps(request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["dataset"]["datasetLocation"])


def test_a_user_bucket_of_the_same_stack_is_written_in_one_fn_sub_too():
    stack = cdk.Stack(cdk.App(), "Eval")
    bucket = s3.Bucket(stack, "Mine")
    job(stack, "Job", output_bucket=bucket)
    logical_id = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    assert "${" + logical_id + ".Arn}/results/eval-job/*" in subs(Template.from_stack(stack).to_json()["Resources"])


def test_a_logical_id_renamed_after_the_job_was_made_is_written_renamed():
    stack = cdk.Stack(cdk.App(), "Eval")
    bucket = s3.Bucket(stack, "Mine")
    job(stack, "Job", output_bucket=bucket)
    bucket.node.default_child.override_logical_id("Results")  # type: ignore[union-attr]
    template = Template.from_stack(stack).to_json()
    assert "${Results.Arn}/results/eval-job/*" in subs(template["Resources"])
    request = only(template, "Custom::BedrockEvaluationJob")["Properties"]["Request"]
    assert request["outputDataConfig"]["s3Uri"] == {"Fn::Join": ["", ["s3://", {"Ref": "Results"}, "/results/eval-job/"]]}


def requests(stack: cdk.Stack) -> dict[str, dict[str, Any]]:
    template = Template.from_stack(stack).to_json()
    return {k: r["Properties"]["Request"] for k, r in resources_of_type(template, "Custom::BedrockEvaluationJob").items()}


def test_cdk_tags_reach_every_job_wherever_it_is_declared():
    """CDK invokes aspects as it walks the tree: the tags must not depend on where a job is among
    the stack's children (before or after the constructs our library adds to the stack)."""
    stack = cdk.Stack(cdk.App(), "Eval")
    job(stack, "First")
    job(stack, "Second")
    cdk.Tags.of(stack).add("team", "search")
    assert [r.get("jobTags") for r in requests(stack).values()] == [[{"key": "team", "value": "search"}]] * 2


def test_cdk_tags_reach_the_jobs_of_a_role_declared_before_them():
    stack = cdk.Stack(cdk.App(), "Eval")
    role = EvaluationServiceRole(stack, "Shared")
    job(stack, "First", role=role)
    job(stack, "Second", role=role)
    cdk.Tags.of(stack).add("team", "search")
    assert [r.get("jobTags") for r in requests(stack).values()] == [[{"key": "team", "value": "search"}]] * 2


def test_an_override_of_a_request_field_stays_with_cdk_tags():
    stack = cdk.Stack(cdk.App(), "Eval")
    evaluation = job(stack, "Job")
    evaluation.resource.add_property_override("Request.jobDescription", "described by hand")
    cdk.Tags.of(stack).add("team", "search")
    (request,) = requests(stack).values()
    assert request["jobDescription"] == "described by hand"
    assert request["jobTags"] == [{"key": "team", "value": "search"}]


def test_a_job_without_cdk_tags_has_no_job_tags():
    stack = cdk.Stack(cdk.App(), "Eval")
    job(stack, "Plain")
    request = only(Template.from_stack(stack).to_json(), "Custom::BedrockEvaluationJob")["Properties"]["Request"]
    assert "jobTags" not in request


def test_custom_resources_are_deleted_on_removal_and_replacement_by_default():
    """CloudFormation's default for both policies is Delete (AWS CloudFormation User Guide,
    "DeletionPolicy attribute" and "UpdateReplacePolicy attribute"): nothing is written."""
    stack = cdk.Stack(cdk.App(), "Eval")
    job(stack, "Job")
    resource = only(Template.from_stack(stack).to_json(), "Custom::BedrockEvaluationJob")
    assert "DeletionPolicy" not in resource and "UpdateReplacePolicy" not in resource


def test_statements_others_add_to_a_job_role_go_to_its_default_policy():
    stack = cdk.Stack(cdk.App(), "Eval")
    evaluation = job(stack, "Job")
    evaluation.role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::elsewhere/key"]))
    template = Template.from_stack(stack).to_json()
    policies = [p for k, p in resources_of_type(template, "AWS::IAM::Policy").items() if k.startswith("JobServiceRoleDefaultPolicy")]
    assert len(policies) == 1
    assert policies[0]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] == "arn:aws:s3:::elsewhere/key"


class JsiiMessages:
    """Counts the messages Python sends to the jsii runtime (every construct made, method called,
    property read, and every answer to a callback from Node)."""

    def __init__(self) -> None:
        from jsii._kernel.providers import process

        self._process = process
        self._original = process._NodeProcess.send
        self.count = 0

    def __enter__(self) -> JsiiMessages:
        original = self._original

        def send(node_process: Any, request: Any, response_type: Any) -> Any:
            self.count += 1
            return original(node_process, request, response_type)

        self._process._NodeProcess.send = send
        return self

    def __exit__(self, *exc: object) -> None:
        self._process._NodeProcess.send = self._original


def messages_for(jobs: int) -> int:
    with JsiiMessages() as counted:
        stack = cdk.Stack(cdk.App(), "Eval")
        for i in range(jobs):
            job(stack, f"Job{i}")
        Template.from_stack(stack)
    return counted.count


def test_each_job_costs_fewer_jsii_round_trips_than_a_hand_written_aws_custom_resource():
    """BENCHMARKS.md: an AwsCustomResource per job costs 18 round trips (make bench traces them);
    a job of ours, its role, its grants and its acknowledgement, at most 13."""
    per_job = (messages_for(11) - messages_for(1)) / 10
    assert per_job <= 13, per_job


# --- a role many jobs share ------------------------------------------------------------------------


def shared_jobs(stack: cdk.Stack, count: int) -> EvaluationServiceRole:
    role = EvaluationServiceRole(stack, "Shared")
    for i in range(count):
        job(stack, f"Job{i:03d}", role=role)
    return role


def test_a_shared_role_takes_what_exceeds_its_inline_policy_in_managed_policies_within_iams_limits():
    """IAM User Guide, "IAM and AWS STS quotas": a role's inline policies hold 10,240 characters
    together, a managed policy 6,144, and a role takes 10 managed policies (whitespace not counted).
    Counted with names as long as CloudFormation makes them."""
    from cfn import DeployedNames, policy_documents, resolve

    stack = cdk.Stack(cdk.App(), "Eval")
    shared_jobs(stack, 300)
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    role = next(k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith("Shared"))
    inline, managed = 0, []
    holder_of: dict[str, str] = {}
    for holder, document in policy_documents(template, role):
        chars = len(json.dumps(resolve(document, template, DeployedNames("Eval")), separators=(",", ":")))
        if resources[holder]["Type"] == "AWS::IAM::ManagedPolicy":
            managed.append(holder)
            assert chars <= 6_144, (holder, chars)
        else:
            inline += chars
        for statement in document["Statement"]:
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for target in targets:
                if "s3:PutObject" in statement["Action"]:
                    prefix = target["Fn::Sub"].rsplit("/", 2)[-2]
                    assert prefix not in holder_of, f"{prefix} is granted twice"
                    holder_of[prefix] = holder
    assert inline <= 8_192  # of the 10,240: room for statements others add to its DefaultPolicy
    assert 3 <= len(managed) <= 10
    # then every job's output prefix is granted once, and a job waits for the managed policy that grants it
    jobs = resources_of_type(template, "Custom::BedrockEvaluationJob")
    assert len(holder_of) == len(jobs) == 300
    for logical_id, resource in jobs.items():
        prefix = resource["Properties"]["JobNamePrefix"]
        holder = holder_of[prefix]
        ours = [d for d in resource.get("DependsOn", []) if d.startswith("SharedPolicy")]
        assert ours == ([holder] if holder != role else []), logical_id


def test_the_wildcards_of_a_shared_role_are_acknowledged_where_they_are_written():
    stack = cdk.Stack(cdk.App(), "Eval")
    shared_jobs(stack, 120)
    resources = Template.from_stack(stack).to_json()["Resources"]
    holders = {k: r for k, r in resources.items() if k.startswith("Shared") and r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")}
    assert len(holders) >= 2
    for logical_id, resource in holders.items():
        document = resource["Properties"]["Policies"][0]["PolicyDocument"] if resource["Type"] == "AWS::IAM::Role" else resource["Properties"]["PolicyDocument"]
        written = {s["Fn::Sub"].replace("${", "<").replace("}", ">") for st in document["Statement"] for s in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]) if "*" in str(s)}
        acknowledged = {rule[len("AwsSolutions-IAM5[Resource::") : -1] for rule in resource["Metadata"]["bedrock-evaluation:acknowledged"]}
        assert acknowledged == written, logical_id


def test_fails_when_one_role_holds_more_statements_than_iam_lets_it_attach(monkeypatch):
    from bedrock_evaluation import late_properties

    monkeypatch.setattr(late_properties, "MANAGED_POLICIES_PER_ROLE", 2)  # the same rule, reached with fewer jobs
    stack = cdk.Stack(cdk.App(), "Eval")
    shared_jobs(stack, 150)
    with pytest.raises(Exception, match=r"Eval/Shared: role is '150 jobs': their statements need \d managed policies besides the inline one, and the role may take 1 more"):
        Template.from_stack(stack)


def test_jobs_in_a_nested_stack_wait_for_the_managed_policies_of_a_parent_role():
    """A dependency on a resource of the parent stack becomes one of the nested stack's resource."""
    stack = cdk.Stack(cdk.App(), "Eval")
    role = EvaluationServiceRole(stack, "Shared")
    results = s3.Bucket(stack, "Results")  # in the parent too: a parent policy naming a nested bucket would be a cycle
    nested = cdk.NestedStack(stack, "Suite")
    for i in range(150):
        job(nested, f"Job{i:03d}", role=role, output_bucket=results)
    resources = Template.from_stack(stack).to_json()["Resources"]
    managed = {k for k, r in resources.items() if k.startswith("SharedPolicy") and r["Type"] == "AWS::IAM::ManagedPolicy"}
    (suite,) = [r for k, r in resources.items() if r["Type"] == "AWS::CloudFormation::Stack"]
    assert managed and managed <= set(suite.get("DependsOn", []))


def test_jobs_wait_for_the_statements_others_add_to_their_role():
    stack = cdk.Stack(cdk.App(), "Eval")
    role = EvaluationServiceRole(stack, "Shared")
    job(stack, "First", role=role)
    job(stack, "Second", role=role)
    role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=["arn:aws:kms:us-east-1:123456789012:key/k"]))
    template = Template.from_stack(stack).to_json()
    (default_policy,) = [k for k in resources_of_type(template, "AWS::IAM::Policy") if k.startswith("SharedDefaultPolicy")]
    for resource in resources_of_type(template, "Custom::BedrockEvaluationJob").values():
        assert default_policy in resource["DependsOn"]


def test_a_second_synth_writes_the_same_managed_policies():
    """Annotations.from_stack synthesizes again (force): the aspects run a second time."""
    from aws_cdk.assertions import Annotations

    stack = cdk.Stack(cdk.App(), "Eval")
    shared_jobs(stack, 120)
    first = Template.from_stack(stack).to_json()
    Annotations.from_stack(stack)
    second = Template.from_stack(stack).to_json()
    assert first == second
    assert any(k.startswith("SharedPolicy2") for k in first["Resources"])


def test_managed_policies_attached_otherwise_count_toward_the_quota(monkeypatch):
    stack = cdk.Stack(cdk.App(), "Eval")
    role = shared_jobs(stack, 200)  # needs managed policies of its own: more than one
    for name in ("ReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AmazonBedrockReadOnly", "CloudWatchReadOnlyAccess", "AWSCloudTrail_ReadOnlyAccess", "IAMReadOnlyAccess", "AmazonSQSReadOnlyAccess", "AmazonSNSReadOnlyAccess"):
        role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(name))
    with pytest.raises(Exception, match=r"Eval/Shared: .*the role may take 1 more \(IAM attaches at most 10: 8 are attached, one is left for you\)"):
        Template.from_stack(stack)


def test_jobs_wait_for_the_overflow_policies_cdk_makes_of_what_others_add_to_their_role():
    """Over a role's inline size (10,240 characters, "IAM and AWS STS quotas"), CDK moves the
    DefaultPolicy's statements to managed policies of the role (OverflowPolicy1, ...): a job may
    need any of them, so it waits for all."""
    stack = cdk.Stack(cdk.App(), "Eval")
    role = EvaluationServiceRole(stack, "Shared")
    for index in range(80):
        s3.Bucket.from_bucket_name(stack, f"TeamData{index}", f"team-data-{index:03d}").grant_read(role)
    job(stack, "First", role=role)
    job(stack, "Second", role=role)
    template = Template.from_stack(stack).to_json()
    overflow = [k for k in resources_of_type(template, "AWS::IAM::ManagedPolicy") if k.startswith("SharedOverflowPolicy")]
    assert overflow
    for resource in resources_of_type(template, "Custom::BedrockEvaluationJob").values():
        assert set(overflow) <= set(resource["DependsOn"])
