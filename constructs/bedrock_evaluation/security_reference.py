"""The security reference, `SECURITY.md`, generated from the permission table (`access`) and the
acknowledged findings (`compliance`): `python -m bedrock_evaluation.security_reference` prints it."""

from __future__ import annotations

from collections.abc import Iterable

from . import access
from .access import Holder
from .compliance import RESOURCE_FINDINGS, WILDCARD_RESOURCES

_INTRO = """\
What a stack with evaluation jobs holds, besides the jobs themselves (`Custom::BedrockEvaluationJob`):
one provider (`BedrockEvaluationJobProvider`: the handler's `OnEvent` and `IsComplete` functions, the CDK
Provider framework's three functions and its waiter state machine, their roles and log groups, 3 months'
retention), one evaluation bucket (`BedrockEvaluationBucket`: public access blocked, TLS only, SSE-S3,
versioned, retained, server access logs to its own `AccessLogs` bucket, CORS only for human jobs) and, when
a dataset is a local file, one upload function with its own role. Each job gets its own service role unless
you pass one. Human review adds, per `HumanFlowDefinition`, its `Custom::SageMakerHumanFlowDefinition` and
SageMaker role, and per `EvaluationWorkTeam` an `AWS::SageMaker::Workteam`.

`make test` runs three checkers on the example app and on a matrix of configurations (every job kind,
your own role or bucket, a KMS key, each removal mode, raw requests): cdk-nag's `AwsSolutionsChecks` as a
`Validations` plugin, cfn-lint and checkov. None reports anything unacknowledged. The tests also assert
least privilege on the templates: no `*` in any action, a resource wildcard only where the table below
allows it, `iam:PassRole` only on the jobs' service roles and only to Bedrock, and service roles trusted
only with `aws:SourceAccount` and `aws:SourceArn`.

No wildcard comes from input: `*` and `?` are IAM wildcards, so synth refuses them in every value that
becomes a policy resource (dataset and external-source keys, output prefixes, model, generator and reranker
identifiers, knowledge base and guardrail ids, flow definition, role and KMS key ARNs), naming the field and
the value. The wildcards left are the ones the constructs write, each acknowledged only in the form they write
it: an S3 prefix only as `<bucket>/<literal prefix>/*` (never a whole bucket), a cross-region inference
profile's foundation model as `bedrock:*::foundation-model/<id>`. No two jobs of an app share an output
prefix or one inside another's on the same bucket, so no job's role can overwrite another's results.

Generated from `bedrock_evaluation/access.py` and `compliance.py` by
`python -m bedrock_evaluation.security_reference > SECURITY.md`; a test fails if this file differs.
"""

_FIXED = """\
Fixed rather than acknowledged: the Provider framework's functions run with roles of ours (no
`AWSLambdaBasicExecutionRole`, logs only to `HandlerLogs`); the dataset upload runs with a role of ours
instead of `BucketDeployment`'s (no managed policy, no `s3:GetObject*`/`s3:List*`/`s3:DeleteObject*`: one
asset object read, one key written per dataset); the evaluation bucket has server access logs (S1).
"""


def _code(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def security_reference() -> str:
    """The text of `SECURITY.md`."""
    lines = ["# Security", "", _INTRO, "## Permissions", ""]
    for holder in Holder:
        lines += [f"**{holder.value}**: {access.HOLDERS[holder]}", ""]
        lines += ["| actions | on | why |", "|---|---|---|"]
        for permission in access.PERMISSIONS:
            if permission.holder is holder:
                why = permission.why + (" (granted by CDK)" if permission.by_cdk else "")
                lines.append(f"| {_code(permission.actions)} | {_cell(permission.on)} | {_cell(why)} |")
        lines.append("")
    lines += ["## Acknowledged findings", "", _FIXED]
    lines += [
        "Wildcard resources (cdk-nag `AwsSolutions-IAM5[Resource::...]`), acknowledged on the policy that holds",
        "them, only for these actions and roles:",
        "",
        "| resource, as cdk-nag shows it | actions | roles | reason |",
        "|---|---|---|---|",
    ]
    for entry in WILDCARD_RESOURCES:
        holders = ", ".join(h.value for h in Holder if h in entry.holders)
        lines.append(f"| `{entry.example}` | {_code(sorted(entry.actions))} | {holders} | {_cell(entry.reason)} |")
    lines += ["", "Rules about one resource, acknowledged on it (checkov skips and cfn-lint ignores in its `Metadata`):", ""]
    lines += ["| rules | resources | reason |", "|---|---|---|"]
    for finding in RESOURCE_FINDINGS:
        lines.append(f"| {_code(finding.rules)} | {_cell(finding.where)} | {_cell(finding.reason)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(security_reference(), end="")
