"""The HTML report of `bedrock-evaluation-results --html`: one self-contained file to open offline
or attach to a pull request.

Charts are drawn by matplotlib into SVG and inlined: no JavaScript, no network, no fonts to load
(matplotlib writes glyphs as paths). The page has only inline styles and inline SVG, and every
piece of text from the results (prompts, answers, the judge's explanations, names) is HTML-escaped.

- Mean score per metric, one bar per job and model or knowledge base, side by side (grouped bars);
  metrics scored 0..1 share one chart, others (human Likert scales, ranks) get one each.
- Score distributions: a histogram per metric, the sources side by side in each bin.
- The lowest-scoring prompts of each metric (highest where lower is better), with the model's
  answer and the judge's explanation.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .results import BUILTIN_PREFIX, Score
from .results_view import JobResults, Series, lower_is_better, metric_label, share, worst

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#882255")
"""Okabe and Ito's colour-blind-safe palette (its black replaced by a wine red, so that no text is drawn in a
series' colour): one colour per job and source, the same in every chart."""
MetricKey = tuple[str, str | None]
"""A metric and, for human ratings, its rating method."""

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1b1b1b; background: #ffffff; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1rem; margin-bottom: 0.3rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; width: 100%; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 22rem; }
.status-Completed { color: #1a7f37; } .status-Failed, .status-Stopped { color: #b42318; } .muted { color: #666; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; } figcaption { font-size: 0.85rem; color: #555; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; vertical-align: -0.1rem; }
"""


def render(jobs: Sequence[JobResults], *, worst: int = 5) -> str:
    """The whole report: a complete HTML document as one string."""
    series = [s for job in jobs for s in job.per_source()]
    colours = {s.label: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(_title(jobs))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(_title(jobs))}</h1>",
        f'<p class="muted">{len(jobs)} evaluation job{"" if len(jobs) == 1 else "s"}; '
        f"{len(series)} model{'' if len(series) == 1 else 's'} or knowledge base{'' if len(series) == 1 else 's'} with scores.</p>",
        _jobs_table(jobs),
    ]
    if not series:
        parts.append("<p>No job has results yet: only Completed jobs have scores.</p>")
    else:
        keys = _metric_keys(series)
        parts += ["<h2>Mean score per metric</h2>", _legend(series, colours)]
        parts += [_bars(group, series, colours, n) for n, group in enumerate(_by_scale(keys, series))]
        parts.append(_scores_table(series, colours))
        parts += ["<h2>Score distributions</h2>", _legend(series, colours), _histograms(keys, series, colours)]
        parts += ["<h2>Lowest-scoring prompts</h2>", _worst(series, worst)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _title(jobs: Sequence[JobResults]) -> str:
    if len(jobs) == 1:
        return f"Evaluation results: {jobs[0].name}"
    return "Evaluation results: " + ", ".join(job.name for job in jobs[:4]) + (", ..." if len(jobs) > 4 else "")


# --- tables --------------------------------------------------------------------------------------


def _jobs_table(jobs: Sequence[JobResults]) -> str:
    rows = []
    for job in jobs:
        notes = "; ".join(job.failure_messages)
        summary = job.summary
        counted = f"{summary.records} records in {summary.files} file{'' if summary.files == 1 else 's'}" if summary is not None else ""
        rows.append(
            f"<tr><td>{_e(job.name)}</td><td class=\"status-{_e(job.status)}\">{_e(job.status)}</td><td>{_e(job.kind)}</td>"
            f"<td>{_e(counted)}</td><td class=\"text\">{_e(job.arn)}{'<br>' + _e(notes) if notes else ''}</td></tr>"
        )
    return "<table><tr><th>Job</th><th>Status</th><th>Kind</th><th>Results</th><th>ARN</th></tr>" + "".join(rows) + "</table>"


def _legend(series: Sequence[Series], colours: dict[str, str]) -> str:
    items = [f'<span><span class="swatch" style="background:{colours[s.label]}"></span>{_e(s.label)}</span>' for s in series]
    return '<p class="muted">' + " &nbsp; ".join(items) + "</p>"


def _scores_table(series: Sequence[Series], colours: dict[str, str]) -> str:
    rows = []
    for s in series:
        for m in s.summary.overall:
            fraction = share(m.scored, m.not_scored)
            direction = " (lower is better)" if lower_is_better(m.metric, m.rating_method) else ""
            rows.append(
                f'<tr><td><span class="swatch" style="background:{colours[s.label]}"></span>{_e(s.label)}</td>'
                f"<td>{_e(metric_label(m.metric, m.rating_method) + direction)}</td><td class=\"n\">{_number(m.mean)}</td>"
                f'<td class="n">{_number(m.minimum)}</td><td class="n">{m.scored + m.not_scored}</td>'
                f'<td class="n">{"-" if fraction is None else f"{fraction:.0%}"}</td></tr>'
            )
    header = "<tr><th>Job: source</th><th>Metric</th><th>Mean</th><th>Min</th><th>Count</th><th>Scored</th></tr>"
    return "<table>" + header + "".join(rows) + "</table>"


def _worst(series: Sequence[Series], per_metric: int) -> str:
    if per_metric == 0:
        return '<p class="muted">Left out (--worst 0).</p>'
    scores = [score for s in series for score in s.scores]
    labels = {(s.job.name, s.source): s.label for s in series}
    owner = {score.key: s.job.name for s in series for score in s.scores}
    parts = []
    for (metric, method), found in worst(scores, per_metric).items():
        direction = "highest" if lower_is_better(metric, method) else "lowest"
        parts.append(f"<h3>{_e(metric_label(metric, method))} <span class=\"muted\">({direction} {len(found)})</span></h3>")
        rows = "".join(_worst_row(score, labels[(owner[score.key], score.source)]) for score in found)
        parts.append(
            "<table><tr><th>Score</th><th>Job: source</th><th>Where</th><th>Prompt</th><th>Answer</th><th>Judge's explanation</th></tr>"
            + rows
            + "</table>"
        )
    return "\n".join(parts) or '<p class="muted">No scored prompts.</p>'


def _worst_row(score: Score, label: str) -> str:
    where = f"{score.dataset}, record {score.record + 1}" + (f", turn {score.turn + 1}" if score.turn is not None else "")
    return (
        f'<tr><td class="n">{_number(score.value)}</td><td>{_e(label)}</td><td>{_e(where)}</td>'
        f'<td class="text">{_e(score.prompt or "")}</td><td class="text">{_e(score.response or "")}</td>'
        f'<td class="text">{_e(score.explanation or "")}</td></tr>'
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# --- charts --------------------------------------------------------------------------------------


def _metric_keys(series: Sequence[Series]) -> list[MetricKey]:
    keys = {(m.metric, m.rating_method) for s in series for m in s.summary.overall}
    return sorted(keys, key=lambda key: (key[0], key[1] or ""))


def _values(s: Series, key: MetricKey) -> list[float]:
    return [score.value for score in s.scores if (score.metric, score.rating_method) == key and score.value is not None]


def _unit_scale(key: MetricKey, series: Sequence[Series]) -> bool:
    return all(0.0 <= v <= 1.0 for s in series for v in _values(s, key))


def _by_scale(keys: Sequence[MetricKey], series: Sequence[Series]) -> list[list[MetricKey]]:
    """Metrics scored 0..1 together (judges and automatic metrics are normalised to it); any other
    scale (a Likert scale, a rank) in a chart of its own."""
    unit = [key for key in keys if _unit_scale(key, series)]
    return ([unit] if unit else []) + [[key] for key in keys if key not in unit]


def _tick(key: MetricKey) -> str:
    metric, method = key
    text = metric.removeprefix(BUILTIN_PREFIX) + (f"\n{method}" if method else "")
    return text + ("\n(lower is better)" if lower_is_better(metric, method) else "")


def _bars(keys: Sequence[MetricKey], series: Sequence[Series], colours: dict[str, str], n: int) -> str:
    """Grouped bars: one group per metric, one bar in it per job and source that reports the metric."""
    reporting = {key: [s for s in series if _mean(s, key) is not None] for key in keys}
    bars = sum(len(found) for found in reporting.values())
    figure = Figure(figsize=(min(11.0, max(6.0, 1.0 + 0.45 * len(keys) + 0.3 * bars)), 3.6), layout="constrained")
    axes = figure.add_subplot()
    top = 1.0
    for s in series:
        positions, widths, means = [], [], []
        for k, key in enumerate(keys):
            if s in reporting[key]:
                width = 0.8 / len(reporting[key])
                positions.append(k - 0.4 + width * (reporting[key].index(s) + 0.5))
                widths.append(width * 0.92)
                means.append(_mean(s, key) or 0.0)
        if not means:
            continue
        drawn = axes.bar(positions, means, widths, color=colours[s.label], label=s.label)
        axes.bar_label(drawn, labels=[f"{m:.2f}" for m in means], fontsize=7, padding=2)
        top = max([top, *means])
    axes.set_xticks(range(len(keys)), [_tick(key) for key in keys], fontsize=8)
    axes.set_xlim(-0.5, len(keys) - 0.5)
    axes.set_ylim(0, top * 1.15)
    axes.set_ylabel("mean score")
    axes.grid(axis="y", color="#e5e5e5")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
    names = ", ".join(metric_label(*key) for key in keys)
    return _figure(figure, f"Mean score per metric, per job and source: {names}", f"bars-{n}")


def _mean(s: Series, key: MetricKey) -> float | None:
    for m in s.summary.overall:
        if (m.metric, m.rating_method) == key:
            return m.mean
    return None


def _histograms(keys: Sequence[MetricKey], series: Sequence[Series], colours: dict[str, str]) -> str:
    """One histogram per metric, three to a row; each bin holds a bar per source, side by side."""
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure = Figure(figsize=(3.6 * columns, 2.7 * rows), layout="constrained")
    for i, key in enumerate(keys):
        axes = figure.add_subplot(rows, columns, i + 1)
        shown = [s for s in series if _values(s, key)]
        values = [_values(s, key) for s in shown]
        axes.hist(values, bins=_bins([v for vs in values for v in vs]), color=[colours[s.label] for s in shown], label=[s.label for s in shown])
        axes.set_title(_tick(key).replace("\n", " "), fontsize=9)
        axes.set_ylabel("scores", fontsize=8)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts
        axes.tick_params(labelsize=7)
        axes.spines[["top", "right"]].set_visible(False)
    return _figure(figure, "Score distributions: " + ", ".join(metric_label(*key) for key in keys), "histograms")


def _bins(values: Sequence[float]) -> list[float]:
    """For 0..1 scores, nine bins centred on eighths (a judge's five-point 0, 0.25, ..., 1 each
    fall in the middle of one); one bin per whole number for other scales (Likert values, ranks)."""
    if all(0.0 <= v <= 1.0 for v in values):
        return [(i - 0.5) / 8 for i in range(10)]
    low, high = math.floor(min(values)), math.ceil(max(values))
    return [low - 0.5 + i for i in range(high - low + 2)]


def _figure(figure: Figure, description: str, salt: str) -> str:
    """The figure as inline SVG: no XML prologue, no metadata, ids salted per figure so that
    several figures share a page without clashing."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace(' xmlns="http://www.w3.org/2000/svg"', "")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(description)}" ', 1)
    return f"<figure>{svg}<figcaption>{_e(description)}</figcaption></figure>"
