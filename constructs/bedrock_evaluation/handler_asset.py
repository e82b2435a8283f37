"""The custom resource handler's code asset, built on this machine (no Docker).

The asset is the handler's Python files, this package's contract module, and the Bedrock
service model of the botocore installed with this package, so the deployed handler validates and sends requests with
the same model that synth validated against.
"""

from __future__ import annotations

import gzip
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from . import contract

PACKAGE = "bedrock_evaluation"
CONTRACT_ONLY = "Only the contract of the bedrock_evaluation package: what the construct and this handler share."
# The services the handler calls: evaluation jobs, knowledge-base ingestion, flow definitions.
SERVICES = ("bedrock", "bedrock-agent", "sagemaker")


@cache
def handler_source_dir() -> Path:
    """lambda/evaluation_job in a checkout (editable install), else its copy inside the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "lambda" / "evaluation_job", here / "_lambda" / "evaluation_job"):
        if (candidate / "index.py").is_file():
            return candidate
    raise FileNotFoundError(f"the evaluation job handler is missing: looked in {here / '_lambda'} and the checkout")


def service_model_dir(service: str) -> Path:
    """botocore/data/<service>/<api-version> of the installed botocore (the newest version)."""
    root = Path(botocore.__file__).parent / "data" / service
    versions = sorted(p for p in root.iterdir() if p.is_dir())
    return versions[-1]


def build_asset(output_dir: Path) -> None:
    """Write the handler files and the bundled service model into output_dir."""
    for source in sorted(handler_source_dir().glob("*.py")):
        shutil.copyfile(source, output_dir / source.name)
    # The contract, under the name the handler imports it by: the same file on both sides.
    package = output_dir / PACKAGE
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f'"""{CONTRACT_ONLY}"""\n')
    shutil.copyfile(Path(contract.__file__), package / "contract.py")
    for service in SERVICES:
        model_dir = service_model_dir(service)
        target = output_dir / "data" / service / model_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(model_dir.iterdir()):
            # Plain JSON: every botocore the Lambda runtime may carry can read it.
            if source.suffix == ".gz":
                (target / source.stem).write_bytes(gzip.decompress(source.read_bytes()))
            else:
                shutil.copyfile(source, target / source.name)


@jsii.implements(ILocalBundling)
class _LocalBuild:
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        build_asset(Path(output_dir))
        return True


def handler_code() -> lambda_.Code:
    # The hash is taken of the built output: it changes when the handler or the bundled model
    # changes, and never because of where or when synth ran.
    return lambda_.Code.from_asset(
        str(handler_source_dir()),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            image=DockerImage.from_registry("local-build-only"),  # never pulled: local build always succeeds
            local=_LocalBuild(),
        ),
    )
