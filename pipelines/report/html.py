"""Write a comparison to a folder: ``report.html`` (self-contained), ``results.json``, ``results.md``
and ``charts/*.png``."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.decisions import events
from anomaly.metrics import tables, to_markdown
from pipelines.compare import attribution_hit_rates, detection_tables
from pipelines.report import charts
from pipelines.sinks import atomic_write, write_text

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:13px;margin:8px 0 18px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}tr.baseline td{color:#777;font-style:italic}img{max-width:100%}
h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}code{background:#f4f4f4;padding:1px 4px}
"""


def _table_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [table.index.name or "", *table.columns])
    rows = []
    for name, row in table.iterrows():
        cells = "".join(f"<td>{v:.3f}</td>" if isinstance(v, (float, np.floating)) else f"<td>{html.escape(str(v))}</td>" for v in row)
        css = ' class="baseline"' if str(name).startswith("baseline:") else ""
        rows.append(f"<tr{css}><td>{html.escape(str(name))}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def write_report(folder: str | Path, splits, runs, result: dict, meta: dict) -> list[Path]:
    """Render the comparison into ``folder``; returns the written paths."""
    folder = Path(folder)
    shown = tables(result)
    hit_rates = attribution_hit_rates(splits, runs)
    if hit_rates:
        shown["attribution"] = pd.DataFrame(hit_rates).T
    shown.update(detection_tables(result))
    first = splits[0]
    labels = np.concatenate([s.labels for s in splits])
    pngs: dict[str, bytes] = {"pr_curves": charts.pr_curves(labels, {r.name: np.concatenate(r.scores) for r in runs})}
    sections, attribution = [], {}
    for run in runs:
        errors = run.errors[0]
        channels = errors.sum().sort_values(ascending=False).index[:3]
        test = first.test[list(errors.columns)]
        signals = (test[channels] - first.train[channels].mean()) / first.train[channels].std().replace(0, 1)
        pngs[f"timeline_{run.name}"] = charts.timeline(signals, run.scores[0], run.thresholds[0], first.labels, run.flags[0],
                                                       f"{run.name} on {first.name}")
        pngs[f"heatmap_{run.name}"] = charts.heatmap(errors, first.labels, f"{run.name}: per-channel error on {first.name}")
        found = events(pd.Series(run.flags[0], index=errors.index), errors, pd.Series(run.scores[0], index=errors.index),
                       min_duration=3, merge_gap=10, cooldown=0)
        attribution[run.name] = [e.to_dict() for e in sorted(found, key=lambda e: -e.score)[:10]]
        rows = "".join(
            f"<tr><td>{html.escape(str(e['start']))}</td><td>{e['length']}</td><td>{e['score']:.3g}</td>"
            f"<td>{html.escape(', '.join(e['channels']))}</td></tr>"
            for e in attribution[run.name]
        )
        sections.append(
            f"<h3>{html.escape(run.name)}</h3>{_img(pngs[f'timeline_{run.name}'], f'timeline {run.name}')}"
            f"{_img(pngs[f'heatmap_{run.name}'], f'heatmap {run.name}')}"
            f"<p>Top detected events on {html.escape(first.name)} (by peak score) and the channels with the largest error share:</p>"
            f"<table><tr><th>start</th><th>rows</th><th>peak score</th><th>top channels</th></tr>{rows}</table>"
        )
    body = [
        f"<h1>Detector comparison: {html.escape(str(meta['dataset']))}</h1>",
        f"<p>{len(splits)} split(s), {len(labels):,} test rows, {labels.mean():.1%} labelled anomalous. Thresholds are fitted on "
        "normal data only; metrics pool the test rows of all splits. Baselines (grey) show what random scores and flagging "
        "everything achieve.</p>",
        "<h2>Metrics</h2>", _table_html(shown["metrics"]),
    ]
    if "range_metrics" in shown:
        body += ["<h2>Range-aware metrics</h2><p>VUS-PR/ROC (Paparrizos et al. 2022), range-based F1 (Tatbul et al. "
                 "2018), NAB (standard profile), and point-adjusted F1 only beside unadjusted F1 and the point-adjusted "
                 "F1 of random flags at the same rate.</p>", _table_html(shown["range_metrics"])]
    if "fault_recall" in shown:
        body += ["<h2>Recall per fault type</h2>", _table_html(shown["fault_recall"])]
    if "detection" in shown:
        rules = result["detection"]["rules"]
        body += [f"<h2>Fault detection per run</h2><p>Alarms: each detector's own threshold and the default alert logic "
                 f"scaled to {rules['rate_hz']:.3g} Hz (minimum {rules['min_duration']} rows, merge gap {rules['merge_gap']}, "
                 f"cooldown {rules['cooldown']}, exit at {rules['exit_ratio']} x the threshold). A fault is detected by an "
                 "alarm that starts at or after its onset (delay: onset to alarm start); an alarm that starts before the "
                 "onset is a false alarm, per hour of the time before the onsets.</p>",
                 _table_html(shown["detection"]), _table_html(shown["flights"])]
    if hit_rates:
        body += ["<h2>Attribution: HitRate</h2><p>Share of the labelled cause channels among each anomalous row's top "
                 "channels by error (top |causes| for @100 %, 1.5 x for @150 %), averaged over rows and segments.</p>",
                 _table_html(shown["attribution"])]
    if "robustness" in shown:
        body += ["<h2>Robustness: median evasion epsilon</h2><p>Smallest L-infinity perturbation (PGD, in units of the "
                 "detector's channel scaling, e.g. training standard deviations) that brings every score of a fault "
                 "excerpt below the threshold, median over the excerpts that raised an alarm; nan when more than half "
                 "were not evaded within the search range (see metadata). Lower = easier to fool.</p>",
                 _table_html(shown["robustness"])]
    body += ["<h2>Precision-recall</h2>", _img(pngs["pr_curves"], "precision-recall curves"),
             f"<h2>Per detector (first split: {html.escape(first.name)})</h2>", *sections,
             "<h2>Run metadata</h2>", f"<pre>{html.escape(json.dumps(meta, indent=2))}</pre>"]
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Detector comparison</title><style>{STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>")
    written = [write_text(folder / "report.html", page)]
    written.append(write_text(folder / "results.json", json.dumps(
        {**result, "hit_rates": hit_rates, "top_events": attribution, "metadata": meta}, indent=2, default=str)))
    markdown = [f"# Detector comparison: {meta['dataset']}", ""] + [f"## {t}\n\n{to_markdown(tb)}\n" for t, tb in shown.items()]
    written.append(write_text(folder / "results.md", "\n".join(markdown)))
    for name, png in pngs.items():  # a variant's label (pca:changes=4) as a plain file name (pca_changes_4)
        file_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        written.append(atomic_write(folder / "charts" / f"{file_name}.png", lambda tmp, data=png: tmp.write_bytes(data)))
    return written
