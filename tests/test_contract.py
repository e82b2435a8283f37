"""The contract between construct and handler: one module, imported under one name on both sides,
and the facts it states agree with the service model they describe."""

from __future__ import annotations

import re
from pathlib import Path

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationTask, JobRemoval, Metric, Model, TaskType, contract
from bedrock_evaluation.service_model import input_shape


def test_the_job_name_limits_are_botocores():
    # botocore's CreateEvaluationJob jobName: max 63, pattern [a-z0-9](-*[a-z0-9]){0,62}
    job_name = input_shape().members["jobName"]
    assert contract.JOB_NAME_MAX_LENGTH == job_name.metadata["max"]
    longest_prefix = "a" * contract.NAME_PREFIX_MAX_LENGTH
    generated = f"{longest_prefix}-{'0' * contract.NAME_DIGEST_LENGTH}"
    assert len(generated) == job_name.metadata["max"]
    assert re.fullmatch(job_name.metadata["pattern"], generated)


def test_a_prefix_the_contract_accepts_makes_a_job_name_botocore_accepts():
    pattern = input_shape().members["jobName"].metadata["pattern"]
    for prefix in ("a", "eval-1", "a--b", "x" * contract.NAME_PREFIX_MAX_LENGTH):
        assert contract.name_prefix_problem(prefix) is None
        assert re.fullmatch(pattern, f"{prefix}-0123456789")
    for prefix in ("", "-a", "a-", "A", "a_b", "x" * (contract.NAME_PREFIX_MAX_LENGTH + 1), None, 7):
        assert contract.name_prefix_problem(prefix) is not None


def test_the_removal_the_construct_exports_is_the_contracts():
    assert JobRemoval is contract.Removal


def test_a_job_without_removal_gets_the_contracts_default_which_stops_the_job(stack):
    job = EvaluationJob(
        stack,
        "Job",
        model=Model.bedrock("amazon.nova-lite-v1:0"),
        tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.ACCURACY])],
    )
    assert job.removal is contract.DEFAULT_REMOVAL
    assert contract.DEFAULT_REMOVAL is JobRemoval.STOP  # stopping is the promise the README makes
    assert contract.parse_removal(None) is JobRemoval.STOP


def test_parse_removal_accepts_each_value_and_refuses_anything_else():
    for removal in JobRemoval:
        assert contract.parse_removal(removal.value) is removal
    for wrong in ("destroy", "STOP", 1, ["stop"]):
        try:
            contract.parse_removal(wrong)
        except ValueError as error:
            assert repr(wrong) in str(error) and "'stop', 'delete', 'retain'" in str(error)
        else:
            raise AssertionError(f"{wrong!r} was accepted")


def test_the_contract_needs_nothing_but_the_standard_library():
    source = Path(contract.__file__).read_text()
    imports = re.findall(r"^(?:from|import) ([\w.]+)", source, flags=re.M)
    assert set(imports) <= {"__future__", "collections.abc", "re", "enum"}
