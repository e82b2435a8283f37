#!/usr/bin/env python3
"""Example app: three model evaluations in one env-agnostic stack (no AWS account needed to synth)."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from constructs import Construct

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationTask, Metric, Model, TaskType

HERE = Path(__file__).resolve().parent
EVALUATED_MODEL = "amazon.nova-lite-v1:0"
JUDGE_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


class ModelEvaluationStack(cdk.Stack):
    """An automatic job on a built-in dataset, one on a local dataset, and an LLM-as-a-judge job."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model = Model.bedrock(EVALUATED_MODEL, inference_params={"inferenceConfig": {"maxTokens": 512, "temperature": 0}})
        qa = Dataset.from_file(HERE / "datasets" / "qa.jsonl")

        jobs = {
            "BoolQAccuracy": EvaluationJob(
                self,
                "BoolQAccuracy",
                description="Nova Lite on BoolQ: accuracy and robustness",
                model=model,
                tasks=[
                    EvaluationTask(
                        task_type=TaskType.QUESTION_AND_ANSWER,
                        dataset=Dataset.builtin("Builtin.BoolQ"),
                        metrics=[Metric.ACCURACY, Metric.ROBUSTNESS],
                    )
                ],
            ),
            "LocalQaAccuracy": EvaluationJob(
                self,
                "LocalQaAccuracy",
                description="Nova Lite on the shipped QA dataset: accuracy and toxicity",
                model=model,
                tasks=[
                    EvaluationTask(
                        task_type=TaskType.QUESTION_AND_ANSWER,
                        dataset=qa,
                        metrics=[Metric.ACCURACY, Metric.TOXICITY],
                    )
                ],
            ),
            "LocalQaJudge": EvaluationJob(
                self,
                "LocalQaJudge",
                description="Nova Lite on the shipped QA dataset, judged by Claude 3.5 Haiku",
                model=model,
                evaluator_model=Model.bedrock(JUDGE_MODEL),
                tasks=[
                    EvaluationTask(
                        task_type=TaskType.QUESTION_AND_ANSWER,
                        dataset=qa,
                        metrics=[Metric.CORRECTNESS, Metric.COMPLETENESS, Metric.HELPFULNESS],
                    )
                ],
            ),
        }
        for name, job in jobs.items():
            cdk.CfnOutput(self, f"{name}Arn", value=job.job_arn, description=f"{name}: evaluation job ARN")
            cdk.CfnOutput(self, f"{name}Results", value=job.output_s3_uri, description=f"{name}: results location")
            cdk.CfnOutput(
                self,
                f"{name}Console",
                value=f"https://{self.region}.console.aws.amazon.com/bedrock/home?region={self.region}#/evaluations",
                description=f"{name}: the Bedrock console's evaluations page (find the job by the name in its ARN output)",
            )


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    ModelEvaluationStack(app, "BedrockModelEvaluation")
    return app


if __name__ == "__main__":
    build_app().synth()
