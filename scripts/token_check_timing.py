"""Side by side in one run: 50 jobs built and synthesized with the package's Python token check,
then with every check asking Node (`Token.is_unresolved`), alternating, 3 rounds each (after one
warm-up), and the ratio of the medians.

    .venv/bin/python scripts/token_check_timing.py
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk  # noqa: E402
import bench_app  # noqa: E402

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationTask, Model, TaskType, tokens  # noqa: E402

MODULES = (
    "boundary", "compliance", "datasets", "flow_definition", "models", "naming",
    "references", "request_checks", "service_model", "uniqueness", "work_team",
)
JOBS = 50
ROUNDS = 3
Check = Callable[[object], bool]


def ask_node(value: object) -> bool:
    """What every check did before: a jsii round trip (values Node cannot carry stay in Python)."""
    try:
        return bool(cdk.Token.is_unresolved(value))
    except Exception:
        return tokens.is_unresolved(value)


def synth_seconds(check: Check) -> float:
    for name in MODULES:
        module = importlib.import_module(f"bedrock_evaluation.{name}")
        if hasattr(module, "is_unresolved"):
            module.is_unresolved = check  # type: ignore[attr-defined]
    app = cdk.App()
    stack = cdk.Stack(app, "Bench")
    start = time.perf_counter()
    for i in range(JOBS):
        model, metrics = bench_app.job_spec(i)
        EvaluationJob(
            stack,
            f"Job{i}",
            model=Model.bedrock(model),
            tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=list(metrics))],
        )
    app.synth()
    return time.perf_counter() - start


def main() -> None:
    synth_seconds(tokens.is_unresolved)  # warm-up
    runs: dict[str, list[float]] = {"python": [], "node": []}
    variants: list[tuple[str, Check]] = [("python", tokens.is_unresolved), ("node", ask_node)]
    for round_index in range(ROUNDS):
        for name, check in variants if round_index % 2 == 0 else variants[::-1]:
            runs[name].append(synth_seconds(check))
    python, node = statistics.median(runs["python"]), statistics.median(runs["node"])
    print(f"{JOBS} jobs, construct + synth, medians of {ROUNDS}: Python check {python:.2f} s, Node check {node:.2f} s, ratio {python / node:.2f}")


if __name__ == "__main__":
    main()
