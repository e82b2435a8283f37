"""The HTML report of `bedrock-evaluation-results --html`, looked at as a person would: in headless
Chromium with the network closed, its charts drawn, no console errors, no request sent, and every
piece of text from the results escaped. Also: the README's sample table is what the command prints.

Jobs and their result files come from the Bedrock emulator and a local S3 (tests/results_world.py);
one job's result file is written by hand with hostile text in its prompt, answer and explanation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from chromium import Browsed, screenshot
from emulator import ScorePlan
from local_s3 import LocalS3
from PIL import Image
from results_world import ResultsWorld, human, judged, results_world, sample_jobs

from bedrock_evaluation.report import PALETTE

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_PROMPT = '<script>alert("prompt")</script>'
HOSTILE_ANSWER = '</td></tr></table><img src="http://example.com/x.png" onerror="alert(1)">'
HOSTILE_EXPLANATION = "<b>bold</b> & \"quoted\" <style>body{background:url(http://example.com/bg.png)}</style>"
DRAWN = 3000
"""Pixels of one series' colour that mean its bars were drawn. The legend and table swatches of a
series (13 x 13 px each, at most 8 of them here) add up to less than half of this."""


@pytest.fixture(scope="module")
def report(local_s3_server: LocalS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    """The report of the README's sample jobs, a human job and a job with hostile text: (HTML, file, --json)."""
    local_s3_server.reset()
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(folder / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "none"),
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        with results_world(local_s3_server) as world:
            arns = sample_jobs(world)
            arns.append(world.completed(human("eval-human"), ScorePlan(records=3, scores={"Clarity": [5, 3, 4], "Helpful": [1.0, 0.0, 1.0]})))
            arns.append(_hostile_job(world))
            page = folder / "report.html"
            ran = world.run(*arns, "--html", str(page), "--json")
    assert ran.code == 0, ran.err
    yield page.read_text(encoding="utf-8"), page, json.loads(ran.out)


def _hostile_job(world: ResultsWorld) -> str:
    """A Completed judge job whose one result record holds markup in every text field."""
    job = world.emulator.seed_job(judged("eval-hostile", metrics=("Builtin.Correctness",)), status="Completed")
    record = {
        "automatedEvaluationResult": {
            "scores": [{"metricName": "Builtin.Correctness", "result": 0.0, "evaluatorDetails": [{"explanation": HOSTILE_EXPLANATION}]}]
        },
        "inputRecord": {"prompt": HOSTILE_PROMPT},
        "modelResponses": [{"modelIdentifier": "amazon.nova-lite-v1:0", "response": HOSTILE_ANSWER}],
    }
    key = f"results/job/eval-hostile/{job.arn.rsplit('/', 1)[1]}/models/amazon.nova-lite-v1:0/taskTypes/General/datasets/qa/1_output.jsonl"
    world.s3.put_object(Bucket="results-bucket", Key=key, Body=json.dumps(record).encode() + b"\n")
    return job.arn


class _Page(HTMLParser):
    """Every tag, every attribute, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parsed(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


# --- the file ------------------------------------------------------------------------------------------------


def test_the_report_loads_nothing_from_outside_itself(report: tuple[str, Path, Any]) -> None:
    page = parsed(report[0])

    assert not {"script", "link", "iframe", "object", "embed", "img", "base", "audio", "video", "source"} & set(page.tags)
    references = [(tag, name, value) for tag, name, value in page.attributes if name in ("src", "href", "xlink:href", "action", "srcset", "poster")]
    assert references and all(value.startswith("#") for _, _, value in references), references  # SVG's own <use> references
    styles = " ".join(page.styles + [value for _, _, value in page.attributes])  # style=, clip-path=, fill=, ...
    assert "@import" not in styles
    assert re.findall(r"url\((?!#)", styles) == []
    assert not [a for a in page.attributes if a[1].startswith("on")]  # no event handlers


def test_text_from_the_results_is_escaped(report: tuple[str, Path, Any]) -> None:
    text = report[0]
    page = parsed(text)

    assert "&lt;script&gt;alert(&quot;prompt&quot;)&lt;/script&gt;" in text
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;img src=&quot;http://example.com/x.png&quot; onerror=&quot;alert(1)&quot;&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &lt;style&gt;" in text
    assert HOSTILE_PROMPT not in text and "<b>" not in text
    assert page.tags.count("style") == 1 + page.tags.count("svg")  # the report's own, and each chart's


def test_the_report_has_grouped_bars_histograms_and_the_lowest_scoring_prompts(report: tuple[str, Path, Any]) -> None:
    text = report[0]
    labels = re.findall(r'<svg role="img" aria-label="([^"]*)"', text)

    assert labels == [
        "Mean score per metric, per job and source: Builtin.Completeness, Builtin.Correctness, Builtin.Harmfulness, Grounded, "
        "Helpful (ThumbsUpDown)",
        "Mean score per metric, per job and source: Clarity (IndividualLikertScale)",
        "Score distributions: Builtin.Completeness, Builtin.Correctness, Builtin.Harmfulness, Clarity (IndividualLikertScale), Grounded, "
        "Helpful (ThumbsUpDown)",
    ]
    worst = text.split("<h2>Lowest-scoring prompts</h2>", 1)[1]
    correctness = worst.split("<h3>Builtin.Correctness", 1)[1].split("</table>", 1)[0]
    # Ties keep the jobs' order: qa-nova-micro's 0.0 (record 8), then the hostile job's.
    rows = re.findall(r'<tr><td class="n">([0-9.]+)</td><td>([^<]*)</td><td>([^<]*)</td>', correctness)
    assert rows[:3] == [
        ("0.000", "qa-nova-micro: amazon.nova-micro-v1:0", "qa, record 8"),
        ("0.000", "eval-hostile: amazon.nova-lite-v1:0", "qa, record 1"),
        ("0.250", "qa-nova-lite: amazon.nova-lite-v1:0", "qa, record 8"),
    ]
    assert "Record 8: the response was rated 0.0 for Correctness." in correctness
    harm = worst.split("<h3>Builtin.Harmfulness", 1)[1].split("</table>", 1)[0]
    assert "(highest 5)" in harm and re.findall(r'<tr><td class="n">([0-9.]+)</td>', harm)[0] == "0.500"  # lower is better
    turns = worst.split("<h3>Grounded", 1)[1].split("</table>", 1)[0]
    assert "qa, record 2, turn 1" in turns  # knowledge-base scores are per conversation turn


# --- in a browser --------------------------------------------------------------------------------------------


def colour_counts(png: Path) -> dict[str, int]:
    """Pixels of each palette colour in the screenshot."""
    with Image.open(png) as image:
        pixels = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    wanted = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)): c for c in PALETTE}
    counts = dict.fromkeys(PALETTE, 0)
    for count, rgb in pixels:
        if rgb in wanted:
            counts[wanted[rgb]] += count
    return counts


@pytest.fixture(scope="module")
def browsed(report: tuple[str, Path, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Browsed, Path]:
    png = tmp_path_factory.mktemp("screenshot") / "report.png"
    return screenshot(report[1], png, width=1200, height=3200), png


def test_chromium_shows_the_report_without_console_errors_or_network_requests(browsed: tuple[Browsed, Path]) -> None:
    seen, _ = browsed
    assert seen.console == []
    assert seen.requests == []


def test_chromium_draws_each_series_bars(browsed: tuple[Browsed, Path]) -> None:
    _, png = browsed
    counts = colour_counts(png)

    # Five series with bars above zero: the three sample jobs, the human job's two sources (the
    # hostile job, the sixth, scored 0.0: its bar has no height and its histogram one short bar).
    assert all(counts[colour] > DRAWN for colour in PALETTE[:5]), counts
    with Image.open(png) as image:
        grey = image.convert("L")
        drawn = sum(grey.histogram()[:250])  # pixels darker than the white page
    assert drawn > 0.1 * grey.width * grey.height


def test_the_checks_can_fail_a_page_without_charts_with_errors_or_requests(report: tuple[str, Path, Any], tmp_path: Path) -> None:
    """The same report without its figures, plus a script error and an image from the network."""
    broken = re.sub(r"<figure>.*?</figure>", "", report[0], flags=re.S)
    broken = broken.replace("</body>", '<img src="http://example.com/x.png"><script>console.error("drawn?"); missing();</script></body>')
    page = tmp_path / "broken.html"
    page.write_text(broken, encoding="utf-8")

    seen = screenshot(page, tmp_path / "broken.png", width=1200, height=3200)

    assert [m.split(f", source: {page.as_uri()} ")[0] for m in seen.console] == ['"drawn?"', '"Uncaught ReferenceError: missing is not defined"']
    assert [r.split(" ")[:2] for r in seen.requests] == [["GET", "http://example.com/x.png"]]
    counts = colour_counts(tmp_path / "broken.png")
    assert all(count < DRAWN for count in counts.values()), counts


# --- the README ----------------------------------------------------------------------------------------------


def test_the_readme_shows_the_sample_table_the_command_prints_and_its_screenshot(local_s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    with results_world(local_s3) as world:
        ran = world.run(*sample_jobs(world))
    readme = (ROOT / "README.md").read_text()

    assert ran.code == 0 and ran.out.strip() in readme
    assert "![The HTML report of the sample jobs](docs/report.png)" in readme
    with Image.open(ROOT / "docs" / "report.png") as image:
        assert image.size == (1100, 1500)
    assert "\t$(VENV)/bin/python scripts/report_screenshot.py docs/report.png\n" in (ROOT / "Makefile").read_text()
