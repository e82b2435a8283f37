"""aws-cdk-lib modules only some jobs need are imported when first used (lazy_modules.py), and
nothing else changes: the user's imports, and objects Node hands Python, work as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = ("aws_cdk.aws_sagemaker", "aws_cdk.aws_cognito", "aws_cdk.aws_bedrock")


def run(code: str) -> dict:
    """Runs code in a fresh interpreter (its own sys.modules and jsii runtime); it prints JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "constructs"), str(ROOT / "scripts")])}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_automatic_job_synthesizes_without_sagemaker_cognito_or_bedrock(tmp_path):
    # given an app with one automatic model evaluation, synthesized in a fresh process
    loaded = run(f"""
import json, sys
import aws_cdk as cdk
import bench_app
app = cdk.App(outdir={str(tmp_path)!r})
bench_app.add_ours(cdk.Stack(app, "S"), 1, shared_role=False)
app.synth()
print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))
""")
    # then none of the modules only human and knowledge-base jobs need was imported
    assert loaded == []


def test_objects_node_hands_python_and_the_users_imports_are_unaffected(tmp_path):
    # given our package imported first, then a template with a knowledge base and a work team
    # included (Node makes their constructs: Python gets them only when it asks for them)
    found = run(f"""
import json, sys
import bedrock_evaluation.job
from bedrock_evaluation import rag
import aws_cdk as cdk
from aws_cdk import cloudformation_include as inc
template = {{"Resources": {{
    "KB": {{"Type": "AWS::Bedrock::KnowledgeBase", "Properties": {{"Name": "kb", "RoleArn": "arn:aws:iam::123456789012:role/kb",
        "KnowledgeBaseConfiguration": {{"Type": "VECTOR"}}}}}},
    "Team": {{"Type": "AWS::SageMaker::Workteam", "Properties": {{"Description": "raters", "MemberDefinitions": []}}}},
}}}}
path = {str(tmp_path / "included.json")!r}
with open(path, "w") as f:
    json.dump(template, f)
stack = cdk.Stack(cdk.App(), "S")
included = inc.CfnInclude(stack, "T", template_file=path)
# when Python walks the tree (the jsii runtime imports the module of each type it meets) and
# the user imports a deferred module themselves
kinds = sorted(type(c).__module__ + "." + type(c).__name__ for c in stack.node.find_all() if type(c).__name__.startswith("Cfn"))
from aws_cdk import aws_bedrock
kb = included.get_resource("KB")
print(json.dumps({{"kinds": kinds, "declared": rag._declared(kb) is kb, "user": isinstance(kb, aws_bedrock.CfnKnowledgeBase)}}))
""")
    # then each construct has its own class, and our checks and the user's see the same one
    assert found["kinds"] == [
        "aws_cdk.aws_bedrock.CfnKnowledgeBase",
        "aws_cdk.aws_sagemaker.CfnWorkteam",
        "aws_cdk.cloudformation_include.CfnInclude",
    ]
    assert found["declared"] and found["user"]


def test_the_stand_in_answers_copies_and_introspection_without_importing():
    # given the stand-in for a module nobody imported yet (a fresh interpreter)
    found = run("""
import copy, json, pickle, sys
from bedrock_evaluation import rag
stand_in = rag.bedrock
copied = copy.copy(stand_in)
restored = pickle.loads(pickle.dumps(stand_in))
wrapped = hasattr(stand_in, "__wrapped__")
loaded = "aws_cdk.aws_bedrock" in sys.modules
print(json.dumps({"wrapped": wrapped, "loaded": loaded,
                  "copy": copied.CfnKnowledgeBase.__name__, "pickle": restored.CfnKnowledgeBase.__name__}))
""")
    # then copying, pickling and dunder lookups neither recurse nor import; the copies still work
    assert found == {"wrapped": False, "loaded": False, "copy": "CfnKnowledgeBase", "pickle": "CfnKnowledgeBase"}
