"""The custom resource handler's code asset, built on this machine (no Docker).

The asset is the handler's Python files, this package's contract and results modules, and the service
models of the botocore installed with this package (SageMaker's cut to the operations used), so the deployed handler validates and sends requests with
the same model that synth validated against.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import aws_lambda as lambda_

from . import contract, results
from .service_model import service_model_dir

PACKAGE = "bedrock_evaluation"
CONTRACT_ONLY = "Only what this handler shares with the bedrock_evaluation package: the contract, and the reader of evaluation results."
# The services the handler calls: evaluation jobs, knowledge-base ingestion, flow definitions.
SERVICES = ("bedrock", "bedrock-agent", "sagemaker")
# Of SageMaker's ~400 operations the handler calls three: the asset carries only them and the
# shapes they reach (a few KB instead of ~2.6 MB of JSON to read at a cold start).
OPERATIONS: dict[str, frozenset[str]] = {
    "sagemaker": frozenset({"CreateFlowDefinition", "DescribeFlowDefinition", "DeleteFlowDefinition"}),
}
# What botocore reads to make a client and page through lists; examples are documentation.
MODEL_FILES = ("service-2.json", "endpoint-rule-set-1.json", "paginators-1.json")


@cache
def handler_source_dir() -> Path:
    """lambda/evaluation_job in a checkout (editable install), else its copy inside the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "lambda" / "evaluation_job", here / "_lambda" / "evaluation_job"):
        if (candidate / "index.py").is_file():
            return candidate
    raise FileNotFoundError(f"the evaluation job handler is missing: looked in {here / '_lambda'} and the checkout")


def build_asset(output_dir: Path) -> None:
    """Write the handler files and the bundled service model into output_dir."""
    for source in sorted(handler_source_dir().glob("*.py")):
        shutil.copyfile(source, output_dir / source.name)
    # The contract, under the name the handler imports it by: the same file on both sides.
    package = output_dir / PACKAGE
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f'"""{CONTRACT_ONLY}"""\n')
    shutil.copyfile(Path(contract.__file__), package / "contract.py")
    # The reader of result records and score gates, shared with the results command.
    shutil.copyfile(Path(results.__file__), package / "results.py")
    for service in SERVICES:
        model_dir = service_model_dir(service)
        target = output_dir / "data" / service / model_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for name in MODEL_FILES:
            if not (model_dir / name).is_file() and not (model_dir / f"{name}.gz").is_file():
                continue
            # Plain JSON: every botocore the Lambda runtime may carry can read it.
            text = _model_text(model_dir, name)
            if name == "service-2.json" and service in OPERATIONS:
                text = json.dumps(service_subset(json.loads(text), OPERATIONS[service]), sort_keys=True)
            (target / name).write_text(text)


def _model_text(model_dir: Path, name: str) -> str:
    plain, packed = model_dir / name, model_dir / f"{name}.gz"
    return plain.read_text() if plain.is_file() else gzip.decompress(packed.read_bytes()).decode()


def service_subset(model: dict[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """The service model with only these operations and every shape they reach."""
    kept = {name: model["operations"][name] for name in sorted(operations)}
    reached: set[str] = set()
    pending = [ref["shape"] for op in kept.values() for ref in (op.get("input"), op.get("output"), *op.get("errors", [])) if ref]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = model["shapes"][name]
        refs = [*shape.get("members", {}).values(), shape.get("member"), shape.get("key"), shape.get("value")]
        pending += [ref["shape"] for ref in refs if ref]
    return {**model, "operations": kept, "shapes": {name: model["shapes"][name] for name in sorted(reached)}}


def asset_inputs() -> list[Path]:
    """Every file the built asset is made from: the handler, the contract, the service models read,
    and this module (how they are put together)."""
    inputs = sorted(handler_source_dir().glob("*.py")) + [Path(contract.__file__), Path(__file__)]
    for service in SERVICES:
        model_dir = service_model_dir(service)
        inputs += sorted(p for name in MODEL_FILES for p in (model_dir / name, model_dir / f"{name}.gz") if p.is_file())
    return inputs


def inputs_digest() -> str:
    """A digest of the inputs' contents (and of which input each is: its name and the service it
    belongs to, never where the machine keeps it)."""
    digest = hashlib.sha256(f"{BUILD_FORMAT}\n".encode())
    for path in asset_inputs():
        digest.update(f"{path.parent.parent.name}/{path.parent.name}/{path.name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# Changed when build_asset writes something else from the same inputs.
BUILD_FORMAT = "handler-asset-1"


def cache_root() -> Path:
    """$BEDROCK_EVALUATION_CACHE, else the user's cache directory (XDG_CACHE_HOME or ~/.cache)."""
    given = os.environ.get("BEDROCK_EVALUATION_CACHE")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bedrock-evaluation"


@cache
def built_asset_dir() -> Path:
    """The asset, built once per digest of its inputs into the cache and reused by every later
    synth: a synth only reads the inputs to digest them. Built beside its final place and renamed
    into it, so a concurrent synth sees a complete asset or none."""
    target = cache_root() / "handler" / inputs_digest()
    if (target / "index.py").is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache (a read-only home): this process builds its own copy
        target = Path(tempfile.mkdtemp(prefix="bedrock-evaluation-")) / target.name
        target.parent.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:16]}-", dir=target.parent))
    try:
        build_asset(staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "index.py").is_file():  # not another synth's rename: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def handler_code() -> lambda_.Code:
    # The asset's hash is CDK's fingerprint of the built files: it changes when the handler or the
    # bundled model changes, and never because of where or when synth ran (the cache directory's
    # path is in no template).
    return lambda_.Code.from_asset(str(built_asset_dir()))
