"""How result objects show themselves: compact HTML for Jupyter (``_repr_html_``) and plain text for a terminal.

Every public result (Experiment, Diagnosis, Importance, SpaceSuggestion,
ExpectedBest, Comparison, RoundComparison, ParetoFront, and the analyses of the
questions: Replay, BudgetImportance, LocalImportance, Coverage, Lineage,
ModelComparison) delegates its
``_repr_html_`` to :func:`html` and its ``summary()`` to :func:`text`, so all of
them look alike: a one-line head, then the essential table, capped so a result
over 500 parameters or 5,000 trials stays one screen (what was cut is said).

No Matplotlib here: the importance bars are CSS widths. User text (parameter
names, messages, choices) is always escaped.

Private: the public API is the results' ``_repr_html_``/``summary()``/``__repr__``.
"""

from __future__ import annotations

import html as _html
from typing import Any

import numpy as np

from hpviz._numbers import fmt, fmt_p, fmt_value, is_real, pct
from hpviz._severity import SEVERITY_COLORS, severity_rank

__all__ = ["RichResult", "html", "text", "describe", "findings_table", "changes_table", "MAX_ROWS"]

#: Rows shown at most in a table of a rich display (the rest are counted).
MAX_ROWS = 15

_e = _html.escape
_STYLE = ("font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;line-height:1.35;"
          "max-width:60em")
_CELL = "padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #eee"


def _wrap(title: str, head: str, body: str) -> str:
    return (f'<div class="hpviz-result" style="{_STYLE}"><b>{_e(title)}</b> '
            f'<span style="color:#555">{head}</span>{body}</div>')


def _table(headers: list[str], rows: list[list[str]], total: int | None = None, what: str = "rows") -> str:
    """An HTML table of already-escaped cells; ``total`` > shown adds a "... and N more" line."""
    th = "".join(f'<th style="{_CELL};background:#f4f4f4">{_e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>" for row in rows)
    more = ""
    if total is not None and total > len(rows):
        more = f'<div style="color:#555">… and {total - len(rows)} more {_e(what)}</div>'
    return f'<table style="border-collapse:collapse;margin:.4em 0">{th and "<tr>" + th + "</tr>"}{body}</table>{more}'


def _badge(label: str, color: str) -> str:
    return (f'<span style="background:{color};color:#fff;font-weight:bold;font-size:.8em;padding:0 .4em;'
            f'border-radius:.3em;white-space:nowrap">{_e(label.upper())}</span>')


def _bar(share: float, top: float) -> str:
    width = 0.0 if not top > 0 or not share > 0 else min(100.0, 100.0 * share / top)
    return (f'<div style="width:10em;background:#eef2f7"><div style="width:{width:.1f}%;height:.8em;'
            f'background:#0072B2"></div></div>')


def _num(x: Any) -> str:
    try:
        return _e(fmt(float(x)))
    except (TypeError, ValueError):
        return _e(str(x))


# --------------------------------------------------------------------------- per result


def _experiment(exp: Any) -> tuple[str, str, str]:
    counts = {k.lower(): v for k, v in exp.count_by_state().items() if v}
    objectives = ", ".join(f"{k} ({v})" for k, v in exp.objectives.items())
    params = list(exp.space)
    head = (f"{len(exp)} trials ({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none'}); "
            f"objective {objectives}; {len(params)} parameters; {len(exp.rounds)} round"
            f"{'s' if len(exp.rounds) != 1 else ''}" + (f"; framework {exp.framework}" if exp.framework else ""))
    best = exp.best()
    lines = []
    if best is not None:
        shown = list(best.params.items())[:MAX_ROWS]
        more = f", … {len(best.params) - len(shown)} more" if len(best.params) > len(shown) else ""
        lines.append(f"best trial #{best.number}: {exp.primary} = {fmt(best.values[exp.primary])} with "
                     + ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={fmt(v) if is_real(v) else v}"
                                 for k, v in shown) + more)
    else:
        lines.append("no completed feasible trial yet")
    return f"Experiment {exp.name!r}" if exp.name else "Experiment", head, "\n".join(lines)


def _experiment_html(exp: Any) -> str:
    title, head, best = _experiment(exp)
    names = list(exp.space)
    cut = f" … {len(names) - MAX_ROWS} more" if len(names) > MAX_ROWS else ""
    body = (f"<div>{_e(best)}</div><div style='color:#555'>parameters: "
            f"{_e(', '.join(names[:MAX_ROWS]))}{_e(cut)}</div>")
    return _wrap(title, _e(head), body)


def findings_table(findings: Any, limit: int | None = MAX_ROWS) -> str:
    """The findings, most serious first, as an HTML table: severity badge, message then advice, parameters, code.

    ``limit=None``: every finding (the report); else the first ``limit`` and a count of the rest.
    """
    items = sorted(findings, key=lambda f: severity_rank(f.severity))
    rows = []
    for f in items[:limit]:
        advice = f'<br><span class="advice" style="color:#444">{_e(f.advice)}</span>' if f.advice else ""
        names = list(getattr(f, "params", None) or ())
        params = ", ".join(names[:8]) + (f", … {len(names) - 8} more" if len(names) > 8 else "")
        rows.append([_badge(f.severity, SEVERITY_COLORS.get(f.severity, "#666")), _e(f.message) + advice,
                     _e(params), f"<code>{_e(f.code)}</code>"])
    return _table(["severity", "finding", "parameters", "code"], rows, len(items), "findings")


def changes_table(changes: Any, limit: int | None = MAX_ROWS) -> str:
    """Suggested changes as an HTML table: action badge, parameter, before, after, the reason."""
    changes = list(changes)
    rows = [[_badge(c.action, "#009E73"), _e(c.param), _e(describe(c.before)), _e(describe(c.after)), _e(c.reason)]
            for c in changes[:limit]]
    return _table(["change", "parameter", "before", "after", "why"], rows, len(changes), "changes")


def _diagnosis_html(d: Any) -> str:
    head = (f"{d.n_trials} trials, {d.n_usable} usable; objective {_e(d.objective)} ({d.direction}); "
            f"{len(d.findings)} finding{'s' if len(d.findings) != 1 else ''}")
    if not d.findings:
        return _wrap("Diagnosis", head, f"<div>{_badge('ok', '#009E73')} No problem found: the search looks "
                                        "healthy.</div>")
    return _wrap("Diagnosis", head, findings_table(d.findings))


def _importance_rows(imp: Any) -> tuple[list[tuple[str, float, float]], int]:
    ind = imp.individual
    std = imp.individual_std
    rows = [(str(k), float(v), float(std.get(k, float("nan")))) for k, v in ind.head(MAX_ROWS).items()]
    return rows, len(ind)


def _importance_html(imp: Any) -> str:
    rows, total = _importance_rows(imp)
    head = (f"objective {_e(imp.objective)}; {imp.n_used} trials used, {imp.n_excluded} excluded; "
            f"{total} parameters; {imp.n_trees} trees")
    top = max((v for _, v, _ in rows), default=0.0)
    cells = [[_e(name), _bar(v, top), f"{_e(pct(v))} ± {_e(pct(s))}"] for name, v, s in rows]
    body = _table(["parameter", "share of variance", "alone"], cells, total, "parameters (smaller shares)")
    if len(imp.pairwise):
        pairs = [[_e(f"{a} × {b}"), _bar(float(v), top), _e(pct(float(v)))]
                 for (a, b), v in imp.pairwise.head(5).items()]
        body += _table(["interaction", "", "share"], pairs, len(imp.pairwise), "pairs")
    return _wrap("Importance", head, body)


def _suggestion_html(s: Any) -> str:
    head = (f"{len(s.changes)} change{'s' if len(s.changes) != 1 else ''} from {s.n_used} trials "
            f"({s.n_good} good); objective {_e(s.objective)} ({s.direction})")
    if not s.changes:
        body = "<div>No change suggested: keep searching the same space.</div>"
    else:
        body = changes_table(s.changes)
    if s.notes:
        notes = list(s.notes)
        body += "<ul style='margin:.2em 0'>" + "".join(f"<li>{_e(n)}</li>" for n in notes[:5]) + "</ul>"
        if len(notes) > 5:
            body += f"<div style='color:#555'>… and {len(notes) - 5} more notes (summary())</div>"
    return _wrap("SpaceSuggestion", head, body)


def describe(param: Any) -> str:
    """Short human form of a parameter definition: ``float [1e-05, 0.1] log``."""
    from hpviz.schema import Categorical, Float, Int  # here: the schema's results import this module

    if param is None:
        return "(removed)"
    if isinstance(param, Categorical):
        inner = ", ".join(fmt_value(c) for c in param.choices[:8]) + (", …" if len(param.choices) > 8 else "")
        return f"one of {{{inner}}}"
    kind = "int" if isinstance(param, Int) else "float"
    extra = " log" if param.log else ""
    if isinstance(param, Float) and param.step is not None or isinstance(param, Int) and param.step != 1:
        extra += f" step {param.step!r}"
    return f"{kind} [{fmt_value(param.low)}, {fmt_value(param.high)}]{extra}"


def _expected_best_text(eb: Any) -> tuple[str, list[str]]:
    n = len(eb.n)
    head = (f"objective {eb.objective} ({eb.direction}); {eb.n_trials} trials; observed best "
            f"{fmt(eb.observed_best)}; estimator {eb.estimator!r}"
            + (f", {pct(eb.band)} band" if eb.band is not None else ""))
    picks = sorted({b for b in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, n) if 1 <= b <= n})
    lines = []
    for b in picks:
        band = (f" [{fmt(eb.lower[b - 1])}, {fmt(eb.upper[b - 1])}]" if eb.band is not None else "")
        lines.append(f"n={b}: expected best {fmt(eb.mean[b - 1])}{band}")
    return head, lines


def _expected_best_html(eb: Any) -> str:
    head, lines = _expected_best_text(eb)
    n = len(eb.n)
    picks = sorted({b for b in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, n) if 1 <= b <= n})
    rows = [[str(b), _num(eb.mean[b - 1]), _num(eb.lower[b - 1]), _num(eb.upper[b - 1])] for b in picks]
    return _wrap("ExpectedBest", _e(head), _table(["trials", "expected best", "lower", "upper"], rows))


def _comparison_html(c: Any) -> str:
    head = (f"{len(c.names)} runs at equal budgets up to {c.n_common} trials; objective {_e(c.objective)} "
            f"({c.direction}); winner: {_e(c.winner) if c.winner else 'none (bands overlap)'}")
    rows = [[str(i + 1), _e(name), _num(c.curves[name].at(c.n_common)), _num(c.curves[name].observed_best),
             str(c.curves[name].n_trials)] for i, name in enumerate(c.ranking)]
    body = _table(["rank", "run", f"expected best at {c.n_common}", "observed best", "trials"], rows)
    body += f"<div>{_e(c.statement)}</div>"
    if c.warnings:
        body += "<ul style='margin:.2em 0'>" + "".join(f"<li>{_e(w)}</li>" for w in c.warnings) + "</ul>"
    return _wrap("Comparison", head, body)


def _rounds_html(rc: Any) -> str:
    table = rc.to_dataframe()
    head = f"{len(table)} rounds; objective {_e(rc.objective)} ({rc.direction})"
    rows = []
    for _, r in table.iterrows():
        beats = r["beats_previous"]
        verdict = "" if beats is None else ("better" if beats else "not better")
        p = "" if r["p_value"] != r["p_value"] else f" (p = {fmt_p(float(r['p_value']))})"
        rows.append([str(int(r["round"]) + 1), str(int(r["n_used"])), _num(r["best"]), _num(r["median"]),
                     _e(verdict + p)])
    return _wrap("RoundComparison", head, _table(["round", "usable trials", "best", "median",
                                                  "vs previous (equal trial counts)"], rows))


def _pareto_html(pf: Any) -> str:
    objs = ", ".join(f"{k} ({v})" for k, v in pf.objectives.items())
    head = (f"{len(pf.trials)} trials on the front of {len(pf.all)} over {_e(objs)}"
            + (f"; {len(pf.infeasible)} infeasible left out" if pf.infeasible else ""))
    frame = pf.frame
    cols = ["number", *pf.objectives]
    rows = [[_e(str(int(r["number"]))), *(_num(r[k]) for k in pf.objectives)]
            for _, r in frame.head(MAX_ROWS).iterrows()]
    return _wrap("ParetoFront", head, _table(cols, rows, len(frame), "front trials"))


# --------------------------------------------------------------------------- the analyses of the questions


def _cell(value: Any) -> str:
    """One escaped table cell: numbers formatted the shared way, booleans as yes/no, the rest as text."""
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if is_real(value):
        return "–" if value != value else _num(value)  # NaN: not applicable (e.g. choices of a float)
    return _e("" if value is None else str(value))


def frame_table(frame: Any, what: str = "rows", limit: int | None = MAX_ROWS) -> str:
    """A DataFrame as the shared compact table (first ``limit`` rows, the rest counted)."""
    rows = [[_cell(v) for v in r] for r in frame.head(limit if limit is not None else len(frame)).itertuples(
        index=False, name=None)]
    return _table([str(c) for c in frame.columns], rows, len(frame), what)


def _paragraphs(*texts: str | None, advice: bool = False) -> str:
    style = ' class="advice" style="color:#444"' if advice else ""
    return "".join(f"<div{style}>{_e(t)}</div>" for t in texts if t)


def _replay_html(r: Any) -> str:
    head = (f"objective {_e(r.objective)} ({r.direction}); {r.n_curves} learning curves of {r.n_trials} trials; "
            f"horizon step {fmt(r.horizon)}")
    badge = (_badge(f"sentinel step {fmt(r.sentinel_step)}", "#009E73") + " " if r.sentinel_step is not None
             else _badge("no sentinel step", "#666") + " ")
    frame = r.to_dataframe()
    keep = ["step", "spearman", "low", "high", *(c for c in frame.columns if c.endswith(("_saved", "_best_survived")))]
    body = f"<div>{badge}{_e(r.message)}</div>" + _paragraphs(r.advice, advice=True)
    return _wrap("Replay", _e(head), body + frame_table(frame[keep], "steps"))


def _budget_importance_html(b: Any) -> str:
    head = (f"objective {_e(b.objective)}; {len(b.levels)} budget levels "
            f"({', '.join(fmt(x) for x in b.levels)}) with {', '.join(str(n) for n in b.n_trials)} trials")
    table = b.table()
    top = float(np.nanmax(table.to_numpy())) if table.size else 0.0
    rows = [[_e(str(p)), *(f"{_bar(float(v), top)}{_e(pct(float(v)))}" if v == v else "" for v in r)]
            for p, r in zip(table.index[:MAX_ROWS], table.to_numpy()[:MAX_ROWS])]
    cells = _table(["parameter", *(f"budget {fmt(x)}" for x in table.columns)], rows, len(table), "parameters")
    return _wrap("BudgetImportance", _e(head), _paragraphs(b.message) + cells)


def _local_importance_html(li: Any) -> str:
    head = (f"objective {_e(li.objective)}; the best {pct(li.q)} of trials ({li.n_top}, at or better than "
            f"{fmt(li.cutoff)})")
    frame = li.to_dataframe()
    top = float(max(frame["local"].max(), frame["global"].max(), 0.0)) if len(frame) else 0.0
    rows = [[_e(str(r.param)), f"{_bar(r.local, top)}{_e(pct(r.local))} ± {_e(pct(r.local_std))}",
             f"{_bar(r.global_, top)}{_e(pct(r.global_))} ± {_e(pct(r.global_std))}"]
            for r in frame.rename(columns={"global": "global_"}).head(MAX_ROWS).itertuples(index=False)]
    cells = _table(["parameter", "among the best (local)", "over all trials (global)"], rows, len(frame),
                   "parameters")
    return _wrap("LocalImportance", _e(head), _paragraphs(li.message) + cells)


def _coverage_html(c: Any) -> str:
    ratio = c.ratio
    head = (f"{c.n_trials} configurations" + (f" of {c.name!r}" if c.name else "")
            + (f"; largest empty region {fmt(ratio)} times random search's" if ratio == ratio else ""))
    badge = _badge("thin", SEVERITY_COLORS.get("warning", "#E69F00")) if c.thin else _badge("ok", "#009E73")
    return _wrap("Coverage", _e(head), f"<div>{badge} {_e(c.message)}</div>" + frame_table(c.params, "parameters"))


def _lineage_html(lin: Any) -> str:
    head = (f"objective {_e(lin.objective)} ({lin.direction}); {len(lin.events)} exploits over "
            f"{len(lin.roots)} trials; {len(lin.findings)} finding{'s' if len(lin.findings) != 1 else ''}")
    body = _paragraphs(lin.message)
    if lin.findings:
        body += findings_table(lin.findings)
    return _wrap("Lineage", _e(head), body + frame_table(lin.events, "exploits"))


def _models_html(mc: Any) -> str:
    head = (f"{len(mc.names)} models ({_e(', '.join(mc.names))}); objective {_e(mc.objective)} ({mc.direction}); "
            f"verdict at {pct(mc.level)} over {', '.join(mc.comparisons)}")
    items = ([f"<li>{_badge('supported', '#009E73')} {_e(s)}</li>" for s in mc.supported]
             + [f"<li>{_badge('not supported', '#666')} {_e(s)}</li>" for s in mc.not_supported])
    body = f"<ul style='margin:.2em 0;padding-left:1.2em'>{''.join(items)}</ul>"
    body += frame_table(mc.best, "models")
    axes = mc.by_axis.assign(winner=mc.by_axis["winner"].map(lambda w: w if isinstance(w, str) else "none"))
    body += frame_table(axes[["axis", "budget", "winner", "decisive", "ranking"]], "axes")
    return _wrap("ModelComparison", head, body)


#: The analyses whose terminal form is their message (:func:`_question_text`).
_QUESTION_TEXT = frozenset({"Replay", "BudgetImportance", "LocalImportance", "Coverage", "Lineage", "ModelComparison"})


def _question_text(result: Any) -> str:
    """Terminal form of the analyses of the questions: their head line and message."""
    kind = type(result).__name__
    if kind == "ModelComparison":
        return f"ModelComparison of {', '.join(result.names)} on {result.objective!r}:\n{result.verdict}"
    lines = [f"{kind}: {result.message}"]
    advice = getattr(result, "advice", None)
    if advice:
        lines.append(advice)
    return "\n".join(lines)


# --------------------------------------------------------------------------- dispatch


class RichResult:
    """Mixin of the public results: ``_repr_html_`` for Jupyter, ``summary()`` for a terminal.

    A result with its own ``summary()`` (Diagnosis, SpaceSuggestion) keeps it.
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        return html(self)

    def summary(self) -> str:
        """Plain text for a terminal: the head line and the essential numbers."""
        return text(self)


_HTML = {"Experiment": _experiment_html, "Diagnosis": _diagnosis_html, "Importance": _importance_html,
         "SpaceSuggestion": _suggestion_html, "ExpectedBest": _expected_best_html, "Comparison": _comparison_html,
         "RoundComparison": _rounds_html, "ParetoFront": _pareto_html, "Replay": _replay_html,
         "BudgetImportance": _budget_importance_html, "LocalImportance": _local_importance_html,
         "Coverage": _coverage_html, "Lineage": _lineage_html, "ModelComparison": _models_html}


def html(result: Any) -> str:
    """The compact HTML of a result object (its ``_repr_html_``)."""
    return _HTML[type(result).__name__](result)


def text(result: Any) -> str:
    """Plain text of a result object for a terminal (its ``summary()`` where it has no own one)."""
    kind = type(result).__name__
    if kind == "Experiment":
        title, head, best = _experiment(result)
        return f"{title}: {head}\n{best}"
    if kind == "Importance":
        rows, total = _importance_rows(result)
        width = max((len(n) for n, _, _ in rows), default=0)
        lines = [f"Importance of {result.objective!r} ({result.n_used} trials, {total} parameters):"]
        lines += [f"  {n.ljust(width)}  {pct(v):>6} ± {pct(s)}" for n, v, s in rows]
        if total > len(rows):
            lines.append(f"  … and {total - len(rows)} more parameters")
        lines += [f"  {a} × {b}: {pct(float(v))}" for (a, b), v in result.pairwise.head(3).items()]
        return "\n".join(lines)
    if kind == "ExpectedBest":
        head, lines = _expected_best_text(result)
        return "\n".join([f"ExpectedBest: {head}", *(f"  {ln}" for ln in lines)])
    if kind == "Comparison":
        lines = [f"Comparison of {len(result.names)} runs up to {result.n_common} trials: "
                 f"ranking {', '.join(result.ranking)}; winner {result.winner or 'none'}", result.statement]
        return "\n".join([*lines, *result.warnings])
    if kind == "RoundComparison":
        lines = [f"RoundComparison of {result.objective!r} ({result.direction}):"]
        for _, r in result.to_dataframe().iterrows():
            beats = r["beats_previous"]
            verdict = "" if beats is None else (f"; {'better' if beats else 'not better'} than the round before "
                                                f"(p = {fmt_p(float(r['p_value']))})")
            lines.append(f"  round {int(r['round']) + 1}: {int(r['n_used'])} usable, best {fmt(float(r['best']))}"
                         f"{verdict}")
        return "\n".join(lines)
    if kind == "ParetoFront":
        objs = ", ".join(f"{k} ({v})" for k, v in result.objectives.items())
        lines = [f"ParetoFront over {objs}: {len(result.trials)} of {len(result.all)} trials"]
        for _, r in result.frame.head(MAX_ROWS).iterrows():
            lines.append(f"  #{int(r['number'])}: " + ", ".join(f"{k}={fmt(float(r[k]))}" for k in result.objectives))
        if len(result.frame) > MAX_ROWS:
            lines.append(f"  … and {len(result.frame) - MAX_ROWS} more")
        return "\n".join(lines)
    if kind in _QUESTION_TEXT:
        return _question_text(result)
    if type(result).summary is RichResult.summary:
        raise TypeError(f"no text form for {kind}")
    return result.summary()
