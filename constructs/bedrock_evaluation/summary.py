"""Print where `cdk synth` wrote each template and what evaluation jobs it holds.

Installed with the package as the console command `bedrock-evaluation-summary [cdk.out]`, also run as
`python -m bedrock_evaluation.summary [cdk.out]`; `make synth` prints it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import contract

JOB_TYPE = "Custom::BedrockEvaluationJob"


def kind(request: dict[str, Any]) -> str:
    config = request.get("evaluationConfig", {})
    if "human" in config:
        return "human"
    automated = config.get("automated", {})
    if "ragConfigs" in request.get("inferenceConfig", {}):
        rag = json.dumps(request["inferenceConfig"]["ragConfigs"])
        return "rag retrieve-and-generate" if "retrieveAndGenerate" in rag else "rag retrieve-only"
    return "llm-as-a-judge" if "evaluatorModelConfig" in automated else "automatic"


def text(value: Any) -> str:
    """A short rendering of a value that may still be a CloudFormation intrinsic."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(text(part) for part in value["Fn::Join"][1])
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    rendered: str = json.dumps(value)
    return rendered


def _walk(value: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) or (isinstance(item, dict) and ("Ref" in item or "Fn::GetAtt" in item)):
                found.append((key, item))
            else:
                found += _walk(item)
    elif isinstance(value, list):
        for item in value:
            found += _walk(item)
    return found


def summarize(outdir: Path) -> int:
    manifest = json.loads((outdir / "manifest.json").read_text())
    total = 0
    for artifact in manifest["artifacts"].values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        path = outdir / artifact["properties"]["templateFile"]
        template = json.loads(path.read_text())
        jobs = {k: r for k, r in template.get("Resources", {}).items() if r["Type"] == JOB_TYPE}
        print(f"{path}: {len(template['Resources'])} resources, {len(jobs)} evaluation job(s)")
        for logical_id, job in jobs.items():
            properties = job["Properties"]
            request = properties["Request"]
            models = [m.get("bedrockModel", {}).get("modelIdentifier") or "precomputed" for m in request.get("inferenceConfig", {}).get("models", [])]
            evaluation: dict[str, Any] = next(iter(request.get("evaluationConfig", {}).values()), {})
            configs = evaluation.get("datasetMetricConfigs", [])
            print(f"  {logical_id}: {kind(request)}, name {properties.get('JobNamePrefix', request.get('jobName'))}-<digest>, removal {properties.get('Removal')}")
            if models:
                print(f"    models:  {', '.join(text(m) for m in models)}")
            for rag in request.get("inferenceConfig", {}).get("ragConfigs", []):
                found = [text(v) for k, v in _walk(rag) if k in ("knowledgeBaseId", "modelArn", "ragSourceIdentifier")]
                print(f"    rag:     {', '.join(found)}")
            for config in configs:
                dataset = config["dataset"]
                where = text(dataset["datasetLocation"]["s3Uri"]) if "datasetLocation" in dataset else "built in"
                print(f"    dataset: {dataset['name']} ({where}) -> {', '.join(config['metricNames'])}")
            print(f"    results: {text(request['outputDataConfig']['s3Uri'])}<job name>/")
            waited = _waited(template, logical_id)
            if waited:
                print(f"    wait:    {waited}")
        total += len(jobs)
    print(f"{total} evaluation job(s) in all")
    for asset in sorted(outdir.glob("asset.*/lifecycle.py")):
        files = [f for f in asset.parent.rglob("*") if f.is_file()]
        model = sum(f.stat().st_size for f in files if "data" in f.relative_to(asset.parent).parts)
        size = sum(f.stat().st_size for f in files)
        print(f"handler asset {asset.parent.name}: {len(files)} files, {size / 1024:.0f} KiB unzipped "
              f"({model / 1024:.0f} KiB of it the bundled Bedrock service model)")
    return 0


def _waited(template: dict[str, Any], job_id: str) -> str:
    """How the deploy waits for the job, and the gate it must pass ("" when it does not wait)."""
    resources = template.get("Resources", {})

    def follows(resource: dict[str, Any]) -> bool:
        return bool(resource["Properties"].get(contract.PROP_RESULTS_JOB_ARN) == {"Fn::GetAtt": [job_id, contract.ATTR_JOB_ARN]})

    results = [r for r in resources.values() if r["Type"] == contract.RESULTS_RESOURCE_TYPE and follows(r)]
    if not results:
        return ""
    properties = results[0]["Properties"]
    watches = [r for r in resources.values() if r["Type"] == contract.WATCH_RESOURCE_TYPE and follows(r)]
    seconds = int(watches[0]["Properties"][contract.PROP_WAIT_SECONDS] if watches else properties[contract.PROP_WAIT_SECONDS])
    how = "wait condition and poller" if watches else "the results resource"
    bounds = json.loads(properties.get(contract.PROP_THRESHOLDS) or "{}")
    gate = [f"{metric} {'>=' if kind == 'at_least' else '<='} {value}" for metric, (kind, value) in sorted(bounds.items())]
    if properties.get(contract.PROP_MAX_DROP):
        gate.append(f"drop at most {properties[contract.PROP_MAX_DROP]}")
    return f"up to {seconds // 3600} h {seconds % 3600 // 60} min ({how}); gate: {', '.join(gate) or 'none'}"


def main(argv: Sequence[str] | None = None) -> int:
    """The console command: the cloud assembly directory is the one argument, `cdk.out` by default."""
    args = sys.argv[1:] if argv is None else list(argv)
    return summarize(Path(args[0] if args else "cdk.out"))


if __name__ == "__main__":
    sys.exit(main())
