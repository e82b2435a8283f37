"""Every code block of the README is either run here or says why it cannot be.

Python blocks are complete: each brings its own imports and is synthesized as the body of a fresh
stack's ``__init__`` (``self`` is the stack, the working directory the repository root, as for
``cdk synth``). Shell blocks hold only commands CI runs, or say they need AWS credentials."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```$", README, flags=re.S | re.M)
PYTHON = [code for language, code in BLOCKS if language == "python"]
SHELL = [code for language, code in BLOCKS if language in ("sh", "bash", "shell", "console")]

NEEDS_CREDENTIALS = "# needs AWS credentials"
# Each command a shell block may hold without that mark, and what runs it in CI (`.ci/run` is `make test`).
RUN_BY_CI = {
    "make synth": "tests/test_example_app.py synthesizes the app make synth synthesizes, with the set-up make test shares",
    "make test": ".ci/run",
    "make report": "tests/test_readme_figures.py runs scripts/reliability_report.py, the whole of make report",
    "pip install /path/to/this/checkout": "tests/test_package.py installs the checkout into a fresh virtual environment",
}


def _first_line(code: str) -> str:
    return code.strip().splitlines()[0][:60]


def test_the_readme_has_the_blocks_this_test_reads():
    assert len(PYTHON) >= 9 and SHELL


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_each_python_block_synthesizes_on_its_own(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    stack = cdk.Stack(cdk.App(), "Readme")
    exec(compile(code, "README.md", "exec"), {"self": stack})  # only `self`: a block names everything else itself
    template = Template.from_stack(stack)
    assert template.find_resources("Custom::BedrockEvaluationJob"), f"no evaluation job in: {_first_line(code)}"
    errors = [m for m in stack.node.metadata if m.type == "aws:cdk:error"]
    for child in stack.node.find_all():
        errors += [m for m in child.node.metadata if m.type == "aws:cdk:error"]
    assert not errors, [e.data for e in errors]


def test_a_block_that_names_what_it_does_not_define_fails():
    """The check above can fail: a block that leaves out its imports does not synthesize."""
    stack = cdk.Stack(cdk.App(), "Readme")
    with pytest.raises(NameError, match="EvaluationJob"):
        exec('EvaluationJob(self, "Job", request={})', {"self": stack})


@pytest.mark.parametrize("code", SHELL, ids=[f"shell-{i}" for i in range(len(SHELL))])
def test_each_shell_command_is_run_by_ci_or_marked_as_needing_credentials(code: str) -> None:
    lines = [line.strip() for line in code.splitlines() if line.strip()]
    if lines[0] == NEEDS_CREDENTIALS:
        return
    for line in lines:
        command = line.split("#", 1)[0].strip()
        if command:
            assert command in RUN_BY_CI, f"{command!r}: not run by CI; mark its block {NEEDS_CREDENTIALS!r}"


JSON = [code for language, code in BLOCKS if language == "json"]
SHIPPED_LINES = {line for path in (ROOT / "datasets").glob("*.jsonl") for line in path.read_text().splitlines()}


def test_each_sample_dataset_line_is_a_line_of_a_shipped_dataset():
    assert len(JSON) >= 5
    for code in JSON:
        (line,) = code.splitlines()
        assert line in SHIPPED_LINES, f"not a line of any datasets/*.jsonl: {line[:80]}"


def test_the_readme_reads_in_a_newcomers_order():
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    assert sections == [
        "Install",
        "Two commands",
        "Each kind of job",
        "Dataset formats",
        "Checked at synth",
        "Reading the synthesized template",
        "What the handler does",
        "Waiting for the job, and a quality gate",
        "Results",
        "Inside the package",
        "Limits",
        "Security",
    ]
