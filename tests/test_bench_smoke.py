"""`make bench` cannot silently rot: its runner synthesizes one job each way and its measurements read them."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import bench  # noqa: E402
import bench_app  # noqa: E402


def test_one_job_with_our_construct_and_one_with_aws_custom_resource(tmp_path):
    # Both synths at once (each is a fresh process with its own jsii runtime): the test stays short.
    with ThreadPoolExecutor(max_workers=2) as pool:
        ours = pool.submit(bench.synth_once, "ours", 1, tmp_path / "ours", keep=True)
        theirs = pool.submit(bench.synth_once, "acr", 1, tmp_path / "acr")
        samples = {"ours": ours.result(), "acr": theirs.result()}

    for variant, sample in samples.items():
        facts = sample.facts
        assert facts.jobs == 1, f"{variant}: one {bench_app.JOB_RESOURCE_TYPE[variant]} resource"
        assert facts.resources > facts.jobs and facts.lambdas >= 1
        assert facts.handler_role is not None and facts.handler_role_chars > 0, f"{variant}: the handler role's policy is found"
        assert facts.cfn_ok and facts.iam_ok and not facts.refused
        assert sample.seconds > 0 and sample.cpu_seconds > 0 and sample.peak_mib > 100  # Python and Node together
        assert set(sample.phases) == {"import aws_cdk", "import library", "construct", "synth"}
        assert sample.calls.get("construct", 0) > 0, f"{variant}: jsii round trips are counted"

    asset = bench.asset_size(tmp_path / "ours")
    assert asset["python"] > 0 and 0 < asset["zipped"] < asset["unzipped"]

    # The least any app pays for our template: the same resources, included without our code.
    written = json.loads((tmp_path / "ours" / f"{bench_app.STACK_NAME}.template.json").read_text())
    source = tmp_path / "source.json"
    source.write_text(json.dumps(bench_app.template_source(written)))
    included = bench.synth_once(bench.TEMPLATE, 1, tmp_path / "included", keep=True, source=source)
    copy = json.loads((tmp_path / "included" / f"{bench_app.STACK_NAME}.template.json").read_text())
    assert unordered_dependencies(copy["Resources"]) == unordered_dependencies(written["Resources"])
    assert copy["Parameters"] == written["Parameters"]
    assert included.facts.bytes == samples["ours"].facts.bytes
    assert included.calls.get("construct", 0) == 3, "the app, the stack and one CfnInclude"


def unordered_dependencies(resources: dict) -> dict:
    """CfnInclude may write a resource's DependsOn in another order: the same dependencies."""
    return {k: {**r, "DependsOn": sorted(r.get("DependsOn", []))} for k, r in resources.items()}


def test_the_least_a_job_writes_keeps_its_request_trust_and_permissions(tmp_path):
    sample = bench.synth_once("ours", 1, tmp_path / "ours", keep=True)
    template = json.loads((tmp_path / "ours" / f"{bench_app.STACK_NAME}.template.json").read_text())
    least = bench.least_template(template, "Custom::BedrockEvaluationJob")
    (job_id, job), = ((k, r) for k, r in least["Resources"].items() if r["Type"] == "Custom::BedrockEvaluationJob")
    assert set(job) == {"Type", "Properties"} and set(job["Properties"]) == set(bench.JOB_NEEDS)
    assert job["Properties"]["Request"] == template["Resources"][job_id]["Properties"]["Request"]
    role_id = job["Properties"]["Request"]["roleArn"]["Fn::GetAtt"][0]
    role, written_role = least["Resources"][role_id], template["Resources"][role_id]
    assert set(role["Properties"]) == set(bench.ROLE_NEEDS)
    for needed in bench.ROLE_NEEDS:
        assert role["Properties"][needed] == written_role["Properties"][needed]
    assert "Metadata" in written_role and "Metadata" not in role  # what is cut: the acknowledgements, ...
    others = {k for k in template["Resources"] if k not in (job_id, role_id)}
    assert all(least["Resources"][k] == template["Resources"][k] for k in others)
    assert 0 < sample.facts.least_bytes < sample.facts.bytes


def test_rounds_interleave_every_variant_and_respect_the_repetitions():
    rounds = [bench.plan_round(r) for r in range(max(bench.REPETITIONS.values()))]
    for index, runs in enumerate(rounds):
        assert runs[0] == (bench.FLOOR, 1)
        for n, repetitions in bench.REPETITIONS.items():
            at_n = [variant for variant, m in runs[1:] if m == n]
            assert sorted(at_n) == (sorted(bench.TIMED_VARIANTS) if index < repetitions else [])
    # The order within an N rotates from round to round.
    assert len({tuple(v for v, n in runs[1:] if n == 1) for runs in rounds}) == len(bench.TIMED_VARIANTS)


def test_a_short_budget_drops_whole_n_and_keeps_the_target_n_longest():
    runs = bench.plan_round(0)
    kept, dropped = bench.trim_round(runs, lambda r: len(r) <= 1 + len(bench.TIMED_VARIANTS))
    assert kept == [(bench.FLOOR, 1)] + [(v, bench.TARGET_N) for v, n in runs if n == bench.TARGET_N]
    assert sorted(kept + dropped) == sorted(runs)
    kept, dropped = bench.trim_round(runs, lambda r: False)
    assert kept == [] and sorted(dropped) == sorted(runs)
    assert dropped[: len(bench.TIMED_VARIANTS)] == [(v, 150) for v, n in runs if n == 150]


def test_jobs_are_all_different_requests():
    specs = [bench_app.job_spec(i) for i in range(max(bench.NS))]
    assert len({(model, tuple(metrics)) for model, metrics in specs}) == len(specs)
