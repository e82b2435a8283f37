"""`make bench` cannot silently rot: its runner synthesizes one job each way and its measurements read them."""

from __future__ import annotations

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


def test_rounds_interleave_every_variant_and_respect_the_repetitions():
    rounds = [bench.plan_round(r) for r in range(max(bench.REPETITIONS.values()))]
    for index, runs in enumerate(rounds):
        assert runs[0] == (bench.FLOOR, 1)
        for n, repetitions in bench.REPETITIONS.items():
            at_n = [variant for variant, m in runs[1:] if m == n]
            assert sorted(at_n) == (sorted(bench.JOB_VARIANTS) if index < repetitions else [])
    # The order within an N rotates from round to round.
    assert len({tuple(v for v, n in runs[1:] if n == 1) for runs in rounds}) == len(bench.JOB_VARIANTS)


def test_a_short_budget_drops_whole_n_and_keeps_the_target_n_longest():
    runs = bench.plan_round(0)
    kept, dropped = bench.trim_round(runs, lambda r: len(r) <= 4)
    assert kept == [(bench.FLOOR, 1)] + [(v, bench.TARGET_N) for v, n in runs if n == bench.TARGET_N]
    assert sorted(kept + dropped) == sorted(runs)
    kept, dropped = bench.trim_round(runs, lambda r: False)
    assert kept == [] and sorted(dropped) == sorted(runs)
    assert dropped[:3] == [(v, 150) for v, n in runs if n == 150]


def test_jobs_are_all_different_requests():
    specs = [bench_app.job_spec(i) for i in range(max(bench.NS))]
    assert len({(model, tuple(metrics)) for model, metrics in specs}) == len(specs)
