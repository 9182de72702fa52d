"""The multi-model report: several tuned models (one experiment each) compared in one HTML page.

``hpviz.report([exp_a, exp_b, ...], "models.html")`` (or ``hpviz report a.json b.json -o models.html``)
writes ``models.html`` with the verdict of :func:`hpviz.compare_models` (what the evidence supports and
what it does not, by trials, seconds and training steps), the comparison view (each best with its
interval, expected best against each budget axis, the cross-model Pareto front with ``metrics=``),
the verdict per axis as a table, coverage per model, and one section per model linking to that model's
own full report: written next to it as ``models-<k>-<name>.html``, or an existing report given in
``reports=[...]`` (``None`` for the ones to write).
"""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpviz.errors import SchemaError

__all__ = ["models_report"]


def _best_cell(row: Any) -> str:
    if not isinstance(row.winner, str):
        return "none established"
    return row.winner if row.decisive else f"{row.winner} (ahead at smaller budgets only)"


def _axis_table(mc: Any) -> str:
    """The verdict per budget axis as an HTML table (axes without data: why)."""
    esc = html.escape
    rows = [f"<tr><td>{esc(r.axis)}</td><td>{r.budget:.4g}</td><td>{esc(_best_cell(r))}</td>"
            f"<td>{esc(r.ranking)}</td><td>{esc(r.statement)}</td></tr>" for r in mc.by_axis.itertuples()]
    rows += [f"<tr><td>{esc(a)}</td><td></td><td>not compared</td><td></td><td>{esc(why)}</td></tr>"
             for a, why in mc.missing_axes.items()]
    return ("<table><tr><th>axis</th><th>budget</th><th>best model</th><th>ranking at that budget</th>"
            "<th>evidence</th></tr>" + "".join(rows) + "</table>")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:40] or "model"


def models_report(objs: Sequence[Any], path: Path, *, names: Sequence[str] | None = None,
                  objective: str | None = None, metrics: Mapping[str, str] | None = None,
                  axes: Sequence[str] | None = None, reports: Sequence[Any] | None = None, seed: int = 0,
                  title: str | None = None, dpi: int = 100, **report_options: Any) -> Path:
    """Write the comparison page and one full report per model (see the module docstring)."""
    import base64

    from hpviz.analysis.models import compare_models
    from hpviz.convert import experiment
    from hpviz.io import atomic_write
    from hpviz.plot._common import style
    from hpviz.plot._models import ModelsDisplay
    from hpviz.reporting import _CSS, report

    if path.suffix.lower() not in (".html", ".htm"):
        raise SchemaError(f"a report on several models is one HTML page: use a .html path, got {str(path)!r}")
    if reports is not None and (isinstance(reports, (str, bytes)) or len(reports) != len(objs)):
        raise SchemaError(f"reports must list one existing report (or None) per model, {len(objs)} in all; "
                          f"got {reports!r:.120}")
    for r in reports or ():
        if r is not None and not Path(r).is_file():
            raise SchemaError(f"reports: {str(r)!r} is not an existing report file; give None to have it written")
    exps = [experiment(o) for o in objs]
    mc = compare_models(exps, names=names, objective=objective, metrics=metrics, axes=axes, seed=seed)
    links = []
    for k, (name, exp) in enumerate(zip(mc.names, exps)):
        given = None if reports is None else reports[k]
        if given is not None:
            links.append(os.path.relpath(Path(given).resolve(), path.resolve().parent).replace(os.sep, "/"))
            continue
        own = path.with_name(f"{path.stem}-{k + 1}-{_slug(name)}{path.suffix}")
        report(exp, own, objective=mc.objective, seed=seed, dpi=dpi, title=f"hpviz report: {name}",
               **report_options)
        links.append(own.name)
    disp = ModelsDisplay.from_result(mc)
    buf = io.BytesIO()
    with style():
        disp.figure_.savefig(buf, format="png", dpi=dpi)
    img = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    esc = html.escape
    head = title or f"hpviz: {len(mc.names)} models compared"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(head)}</title><style>{_CSS}</style></head><body>", f"<h1>{esc(head)}</h1>",
             f'<p class="meta">Objective: <b>{esc(mc.objective)}</b> ({esc(mc.direction)}); models: '
             f"{esc(', '.join(mc.names))}.</p>",
             '<section id="verdict"><h2>Verdict</h2><h3>Supported by the evidence</h3><ul>',
             *(f"<li>{esc(s)}</li>" for s in mc.supported or ("nothing beyond the ranking below",)),
             "</ul><h3>Not supported</h3><ul>", *(f"<li>{esc(s)}</li>" for s in mc.not_supported or ("-",)),
             "</ul></section>",
             '<section id="models"><h2>Comparison</h2><p class="about">Each best with its interval; expected '
             'best against the budget on each axis (bands: simultaneous, at the level of the test; dotted: the '
             'largest budget every model reached, up to which models are compared); the trade-offs across '
             'models.</p>',
             f'<img src="{img}" alt="model comparison">',
             mc.best.to_html(index=False, float_format=lambda x: f"{x:.4g}", escape=True), "</section>",
             '<section id="axes"><h2>Verdict per budget axis</h2><p class="about">Trials: the same number of '
             'trials per model. Seconds: the same training time (trials run one after another). Steps: the '
             'same number of training steps (epochs, iterations). Budget: the largest every model reached.</p>',
             _axis_table(mc), "</section>"]
    for k, name in enumerate(mc.names):
        cov = mc.coverage.get(name)
        row = mc.best.iloc[k]
        parts += [f'<section id="model-{k + 1}"><h2>{esc(name)}</h2>',
                  f"<p>{int(row['n_trials'])} usable trials; best {esc(mc.objective)} = {row['best']:.4g} "
                  f"(uncertainty: {esc(str(row['uncertainty']))}).</p>",
                  f"<p>{esc(cov.message)}</p>" if cov is not None else "",
                  f'<p><a href="{esc(links[k])}">Full report for {esc(name)}</a></p></section>']
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts))
    return path
