"""Text panels: the diagnosis findings (severity shown) and the suggested next space, as pasteable code."""

from __future__ import annotations

import textwrap
from typing import Any

from matplotlib.figure import Figure

from hpviz.plot._common import SEVERITY_COLORS, new_figure, style
from hpviz.schema import Categorical, Float, Int, SearchSpace

__all__ = ["findings", "suggestions", "space_code", "describe"]

_SEVERITY_ORDER = {"problem": 0, "warning": 1, "info": 2}
_WRAP = 110


def _num(value: Any) -> str:
    """repr, but floats with 4 significant digits (0.00016165369223028543 reads as 0.0001617)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def describe(param: Any) -> str:
    """Short human form of a parameter definition: ``float [1e-05, 0.1] log``."""
    if param is None:
        return "(removed)"
    if isinstance(param, Categorical):
        inner = ", ".join(_num(c) for c in param.choices[:8]) + (", …" if len(param.choices) > 8 else "")
        return f"one of {{{inner}}}"
    kind = "int" if isinstance(param, Int) else "float"
    extra = " log" if param.log else ""
    if isinstance(param, Float) and param.step is not None or isinstance(param, Int) and param.step != 1:
        extra += f" step {param.step!r}"
    return f"{kind} [{_num(param.low)}, {_num(param.high)}]{extra}"


def _text_figure(title: str, blocks: list[tuple[str, str | None, str, bool]]) -> Figure:
    """Stack text blocks ``(badge, badge colour, text, monospace)`` top-down on a figure sized to fit."""
    lines_per = []
    for _badge, _, text, mono in blocks:
        width = 100 if mono else _WRAP
        wrapped = []
        for para in text.splitlines() or [""]:
            wrapped += (textwrap.wrap(para, width, break_long_words=True, break_on_hyphens=False, replace_whitespace=False) or [""]) \
                if not mono else [para[:width]]
        lines_per.append(wrapped)
    n_lines = sum(len(w) for w in lines_per) + len(blocks) * 0.6
    line_h = 0.165  # inches per text line at 8.5 pt, line spacing 1.35
    height = 0.75 + line_h * n_lines
    fig = new_figure(11, max(1.2, height))
    fig.set_layout_engine("none")
    fig.suptitle(title, x=0.02, ha="left", y=1 - 0.12 / max(1.2, height))
    y = 1 - 0.55 / max(1.2, height)
    for (badge, color, _, mono), wrapped in zip(blocks, lines_per):
        x0 = 0.02
        if badge:
            fig.text(x0, y, f" {badge} ", fontsize=7.5, color="white", fontweight="bold", va="top", ha="left",
                     family="monospace", bbox=dict(boxstyle="round,pad=0.25", fc=color or "0.4", ec="none"))
            x0 = 0.02 + (len(badge) + 4) * 0.0625 / 11  # monospace badge width at 7.5 pt, plus padding
        fig.text(x0, y, "\n".join(wrapped), fontsize=8.5, va="top", ha="left", linespacing=1.35,
                 family="monospace" if mono else None, color="0.1",
                 bbox=dict(boxstyle="round,pad=0.5", fc="#f6f8fa", ec="#e1e4e8") if mono else None)
        y -= (len(wrapped) + 0.6) * line_h / max(1.2, height)
    return fig


def findings(result_or_obj: Any, ax: Any = None, *, objective: str | None = None, max_findings: int = 25) -> Figure:
    """The diagnosis as a text panel: one line per finding, most severe first, severity as a badge.

    Parameters
    ----------
    result_or_obj:
        A :class:`hpviz.Diagnosis` or anything :func:`hpviz.diagnose` accepts.
    ax:
        Ignored (a text panel sizes its own figure); accepted for a uniform signature.
    """
    diag = result_or_obj
    if not hasattr(diag, "findings"):
        from hpviz.analysis.progress import diagnose

        diag = diagnose(result_or_obj, objective=objective)
    items = sorted(diag.findings, key=lambda f: _SEVERITY_ORDER.get(str(f.severity), 3))
    blocks: list[tuple[str, str | None, str, bool]] = []
    for f in items[:max_findings]:
        sev = str(f.severity)
        params = f" [{', '.join(map(str, f.params))}]" if getattr(f, "params", None) else ""
        blocks.append((sev.upper().ljust(7), SEVERITY_COLORS.get(sev, "0.4"), f"{f.message}{params}  ({f.code})", False))
    if len(items) > max_findings:
        blocks.append(("", None, f"… and {len(items) - max_findings} more findings", False))
    if not blocks:
        blocks.append(("OK".ljust(7), "#009E73", "No problem found: the search looks healthy.", False))
    with style():
        return _text_figure("Findings: is the optimizer working?", blocks)


# --------------------------------------------------------------------------- space as code


def _r(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _optuna_line(name: str, p: Any) -> str:
    n = repr(name)
    if isinstance(p, Categorical):
        return f"trial.suggest_categorical({n}, {list(p.choices)!r})"
    kind = "int" if isinstance(p, Int) else "float"
    args = f"{n}, {_r(p.low)}, {_r(p.high)}"
    if p.log:
        args += ", log=True"
    if (isinstance(p, Int) and p.step != 1) or (isinstance(p, Float) and p.step is not None):
        args += f", step={_r(p.step)}"
    return f"trial.suggest_{kind}({args})"


def _ray_line(p: Any) -> str:
    if isinstance(p, Categorical):
        return f"tune.choice({list(p.choices)!r})"
    if isinstance(p, Int):
        if p.step != 1:
            return f"tune.{'qlograndint' if p.log else 'qrandint'}({p.low!r}, {p.high!r}, {p.step!r})"
        # randint/lograndint exclude the upper bound
        return f"tune.{'lograndint' if p.log else 'randint'}({p.low!r}, {p.high + 1!r})"
    if p.step is not None:
        return f"tune.{'qloguniform' if p.log else 'quniform'}({_r(p.low)}, {_r(p.high)}, {_r(p.step)})"
    return f"tune.{'loguniform' if p.log else 'uniform'}({_r(p.low)}, {_r(p.high)})"


def _hyperopt_line(name: str, p: Any) -> str:
    n = repr(name)
    if isinstance(p, Categorical):
        return f"hp.choice({n}, {list(p.choices)!r})"
    lo, hi = (f"math.log({_r(p.low)})", f"math.log({_r(p.high)})") if p.log else (_r(p.low), _r(p.high))
    if isinstance(p, Int):
        dist = "qloguniform" if p.log else "quniform"
        return f"scope.int(hp.{dist}({n}, {lo}, {hi}, {p.step!r}))"
    if p.step is not None:
        return f"hp.{'qloguniform' if p.log else 'quniform'}({n}, {lo}, {hi}, {_r(p.step)})"
    return f"hp.{'loguniform' if p.log else 'uniform'}({n}, {lo}, {hi})"


def _hpviz_line(p: Any) -> str:
    if isinstance(p, Categorical):
        return f"hpviz.Categorical({list(p.choices)!r})"
    kind = "Int" if isinstance(p, Int) else "Float"
    extra = ", log=True" if p.log else ""
    if (isinstance(p, Int) and p.step != 1) or (isinstance(p, Float) and p.step is not None):
        extra += f", step={_r(p.step)}"
    return f"hpviz.{kind}({_r(p.low)}, {_r(p.high)}{extra})"


def space_code(space: SearchSpace, framework: str | None = None) -> str:
    """The search space as Python code to paste into a tuning script for ``framework``.

    ``framework`` is ``"optuna"``, ``"ray"``, ``"hyperopt"``, or ``None`` for hpviz's own
    framework-neutral :class:`hpviz.SearchSpace` (exportable with the adapters).
    """
    items = list(space.items())
    if framework == "optuna":
        body = "\n".join(f"        {name!r}: {_optuna_line(name, p)}," for name, p in items)
        return ("# Optuna: sample the refined space inside your objective\n"
                "def suggest_params(trial):\n"
                f"    return {{\n{body}\n    }}\n\n"
                "# or export it: hpviz_optuna.to_optuna(hpviz.suggest_space(study).space)")
    if framework == "ray":
        body = "\n".join(f"    {name!r}: {_ray_line(p)}," for name, p in items)
        return ("# Ray Tune: the refined param_space for tune.Tuner(..., param_space=param_space)\n"
                "from ray import tune\n\n"
                f"param_space = {{\n{body}\n}}\n\n"
                "# or export it: hpviz_raytune.to_tune(hpviz.suggest_space(results).space)")
    if framework == "hyperopt":
        body = "\n".join(f"    {name!r}: {_hyperopt_line(name, p)}," for name, p in items)
        return ("# Hyperopt: the refined space for fmin(fn, space, ...)\n"
                "import math\n\nfrom hyperopt import hp\nfrom hyperopt.pyll import scope\n\n"
                f"space = {{\n{body}\n}}\n\n"
                "# or export it: hpviz_hyperopt.to_hyperopt(hpviz.suggest_space(trials, space=...).space)")
    body = "\n".join(f"    {name!r}: {_hpviz_line(p)}," for name, p in items)
    return ("# hpviz's framework-neutral space; export it with hpviz_optuna.to_optuna,\n"
            "# hpviz_raytune.to_tune or hpviz_hyperopt.to_hyperopt\n"
            "import hpviz\n\n"
            f"space = hpviz.SearchSpace({{\n{body}\n}})")


def suggestions(result_or_obj: Any, ax: Any = None, *, framework: str | None = None, objective: str | None = None,
                max_changes: int = 20, max_code_lines: int = 40) -> Figure:
    """The suggested changes for the next round and the refined space as code, as a text panel.

    Parameters
    ----------
    result_or_obj:
        A :class:`hpviz.SpaceSuggestion` or anything :func:`hpviz.suggest_space` accepts.
    framework:
        ``"optuna"``, ``"ray"``, ``"hyperopt"`` or ``None`` (hpviz's own space) for the code.
    ax:
        Ignored (a text panel sizes its own figure); accepted for a uniform signature.
    """
    sugg = result_or_obj
    if not hasattr(sugg, "changes") or not hasattr(sugg, "space"):
        from hpviz.analysis.suggest import suggest_space

        sugg = suggest_space(result_or_obj, objective=objective)
    blocks: list[tuple[str, str | None, str, bool]] = []
    for c in list(sugg.changes)[:max_changes]:
        text = f"{c.param}: {describe(c.before)}  ->  {describe(c.after)}.  {c.reason}"
        blocks.append((str(c.action).upper()[:12].ljust(12), "#009E73", text, False))
    if len(sugg.changes) > max_changes:
        blocks.append(("", None, f"… and {len(sugg.changes) - max_changes} more changes", False))
    if not sugg.changes:
        blocks.append(("KEEP".ljust(12), "0.45", "No change suggested: keep searching the same space.", False))
    for text in list(getattr(sugg, "notes", ()) or ())[:5]:
        blocks.append(("NOTE".ljust(12), "0.45", str(text), False))
    code = space_code(sugg.space, framework).splitlines()
    if len(code) > max_code_lines:
        code = code[: max_code_lines - 1] + [f"# … {len(code) - max_code_lines + 1} more lines (see the HTML report)"]
    blocks.append(("", None, "\n".join(code), True))
    with style():
        fig = _text_figure(f"Suggested next search space ({framework or 'hpviz'} code)", blocks)
    return fig
