"""Build the README's sample report and take its screenshot, offline: `make report-screenshot`.

    .venv/bin/python scripts/report_screenshot.py docs/report.png

Three emulated jobs (tests/results_world.py: two models judged on the same prompts, a knowledge
base answering two-turn conversations) complete and write Bedrock-shaped result files into a local
S3; `bedrock-evaluation-results` reads them through its own seam and writes the HTML report, which
headless Chromium opens with the network closed. Prints the command's table, which the README shows
(tests/test_results_report.py checks that it still is what the command prints).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "lambda" / "evaluation_job"))  # the handler's modules, as the test helpers import them

from chromium import screenshot  # noqa: E402
from results_world import results_world, sample_jobs  # noqa: E402

WIDTH, HEIGHT = 1100, 1500
"""The top of the report: the jobs, the grouped bars and the scores table."""


def main(png: Path) -> int:
    # The emulator and the local S3 take any credentials; none of the machine's AWS set-up is read.
    os.environ.update(
        AWS_ACCESS_KEY_ID="sample", AWS_SECRET_ACCESS_KEY="sample", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    os.environ.pop("AWS_PROFILE", None)
    with tempfile.TemporaryDirectory() as folder, results_world() as world:
        page = Path(folder) / "report.html"
        ran = world.run(*sample_jobs(world), "--html", str(page))
        if ran.code != 0:
            print(ran.err, file=sys.stderr)
            return ran.code
        png.parent.mkdir(parents=True, exist_ok=True)
        browsed = screenshot(page, png, width=WIDTH, height=HEIGHT)
    if browsed.console or browsed.requests:
        print(f"the report wrote to its console {browsed.console} or sent requests {browsed.requests}", file=sys.stderr)
        return 1
    print(ran.out, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/report.png")))
