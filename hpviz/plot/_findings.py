"""Text panels: the diagnosis findings (severity shown) and the suggested next space with paste-able code.

Both are HTML text in the HTML report and in Jupyter (``_repr_html_``); the figure (``figure_``)
draws the same text for the PDF and the PNG folder. The paste-able native code comes from the
adapter of the experiment's framework (hook ``hpviz_space_code``); without one, hpviz's own
:class:`hpviz.SearchSpace` code is shown.
"""

from __future__ import annotations

import html
import textwrap
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._richrepr import changes_table, describe, findings_table
from hpviz._severity import severity_rank
from hpviz.plot._common import MONOSPACE, SEVERITY_COLORS, new_figure, short
from hpviz.plot._display import Display
from hpviz.schema import Categorical, Float, Int, SearchSpace

__all__ = ["FindingsDisplay", "SuggestionsDisplay", "findings", "suggestions", "space_code", "describe"]

#: One line: what a finding's verdict rests on (levels in hpviz/analysis/diagnose/thresholds.py).
FINDINGS_NOTE = ("Each finding names its test: one-sided at 5% per rule (best-at-boundary and failure "
                 "association Bonferroni-corrected over parameters), no correction across rules.")
_WRAP = 110
_esc = html.escape


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
                 family=MONOSPACE if mono else None, color="0.1",
                 bbox=dict(boxstyle="round,pad=0.5", fc="#f6f8fa", ec="#e1e4e8") if mono else None)
        y -= (len(wrapped) + 0.6) * line_h / max(1.2, height)
    return fig


class FindingsDisplay(Display):
    """The diagnosis as a text panel: one line per finding, most severe first, severity as a badge.

    The result is a :class:`hpviz.Diagnosis`. A text panel sizes its own figure (``ax`` is not used).
    ``_repr_html_`` gives the same findings as an HTML table (what the HTML report shows).
    """

    key = "findings"
    title = "Findings"
    about = "What the diagnosis found, most severe first."
    result_key = "diagnosis"
    result_attrs = ("findings",)
    compute_options = ("seed",)
    options = {"max_findings": 25}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz import diagnose

        return diagnose(experiment, objective=objective, **kwargs)

    def _items(self) -> list:
        return sorted(self.result.findings, key=lambda f: severity_rank(f.severity))

    def _draw(self, ax: Axes | None) -> Figure:
        items = self._items()
        limit = self.options["max_findings"]
        blocks: list[tuple[str, str | None, str, bool]] = []
        for f in items[:limit]:
            sev = str(f.severity)
            params = f" [{', '.join(short(p, 40) for p in f.params)}]" if getattr(f, "params", None) else ""
            advice = f" {f.advice}" if getattr(f, "advice", None) else ""
            blocks.append((sev.upper().ljust(7), SEVERITY_COLORS.get(sev, "0.4"),
                           f"{f.message}{advice}{params}  ({f.code})", False))
        if len(items) > limit:
            blocks.append(("", None, f"… and {len(items) - limit} more findings", False))
        if not blocks:
            blocks.append(("OK".ljust(7), "#009E73", "No problem found: the search looks healthy.", False))
        blocks.append(("", None, FINDINGS_NOTE, False))
        return _text_figure("Findings: is the optimizer working?", blocks)

    def _repr_html_(self) -> str:
        if not self.result.findings:
            return '<p class="finding ok"><span class="badge" style="background:#009E73">OK</span> ' \
                   f'No problem found: the search looks healthy.</p>\n<p class="note">{_esc(FINDINGS_NOTE)}</p>'
        return findings_table(self.result.findings, limit=None) + f'\n<p class="note">{_esc(FINDINGS_NOTE)}</p>'


def findings(obj: Any, ax: Axes | None = None, **options: Any) -> FindingsDisplay:
    """One call: :class:`FindingsDisplay` of a :class:`hpviz.Diagnosis`, or of anything :func:`hpviz.diagnose`
    accepts."""
    return FindingsDisplay.shortcut(obj, ax, **options)


# --------------------------------------------------------------------------- space as code


def _r(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _hpviz_line(p: Any) -> str:
    if isinstance(p, Categorical):
        return f"hpviz.Categorical({list(p.choices)!r})"
    kind = "Int" if isinstance(p, Int) else "Float"
    extra = ", log=True" if p.log else ""
    if (isinstance(p, Int) and p.step != 1) or (isinstance(p, Float) and p.step is not None):
        extra += f", step={_r(p.step)}"
    return f"hpviz.{kind}({_r(p.low)}, {_r(p.high)}{extra})"


def hpviz_space_code(space: SearchSpace) -> str:
    """hpviz's own framework-neutral :class:`hpviz.SearchSpace` as Python code."""
    body = "\n".join(f"    {name!r}: {_hpviz_line(p)}," for name, p in space.items())
    return ("# hpviz's framework-neutral space; the adapter of your framework exports it\n"
            "import hpviz\n\n"
            f"space = hpviz.SearchSpace({{\n{body}\n}})")


def space_code(space: SearchSpace, framework: str | None = None, experiment: Any = None, *,
               plugin_manager: Any = None) -> str:
    """The search space as Python code to paste into a tuning script.

    ``framework`` (an adapter's framework id, e.g. ``experiment.framework``) asks the installed
    adapters for native code (hook ``hpviz_space_code``; ``experiment`` gives them the original
    structure). Without a framework, or when no adapter answers, the code is hpviz's own
    :class:`hpviz.SearchSpace`.
    """
    code, _ = _native_code(space, framework, experiment, plugin_manager)
    return code


def _native_code(space: SearchSpace, framework: str | None, experiment: Any,
                 plugin_manager: Any = None) -> tuple[str, str | None]:
    """(code, note): the adapter's code when one answers, else hpviz's code and why."""
    if framework is None:
        return hpviz_space_code(space), None
    try:
        if plugin_manager is None:
            from hpviz.plugins import get_plugin_manager

            plugin_manager = get_plugin_manager()
        code = plugin_manager.hook.hpviz_space_code(space=space, framework=framework, experiment=experiment)
    except Exception as exc:  # noqa: BLE001 - hpviz's own code is still a valid answer
        return hpviz_space_code(space), f"the {framework} adapter could not write code for this space: {exc}"
    if isinstance(code, str) and code.strip():
        return code, None
    return hpviz_space_code(space), f"no installed adapter writes {framework} code: showing hpviz's own space"


class SuggestionsDisplay(Display):
    """The suggested changes for the next round and the refined space as paste-able code.

    The result is a :class:`hpviz.SpaceSuggestion`; ``experiment=`` picks the code's framework
    (``experiment.framework``) unless ``framework=`` is given. ``code_`` is the code shown and
    ``note_`` says why it is not native code (or ``None``). ``_repr_html_`` is the HTML the HTML
    report shows; the figure draws the same text (code capped at ``max_code_lines``).
    """

    key = "suggestions"
    title = "Suggested next search space"
    about = "Changes for the next round, and the refined space as code."
    result_key = "suggestion"
    result_attrs = ("changes", "space")
    compute_options = ("level", "limits", "seed", "importance")
    options = {"framework": None, "max_changes": 20, "max_code_lines": 40}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz import suggest_space

        return suggest_space(experiment, objective=objective, **kwargs)

    def _framework(self) -> str | None:
        return self.options["framework"] or getattr(self.experiment, "framework", None)

    def _draw(self, ax: Axes | None) -> Figure:
        sugg = self.result
        framework = self._framework()
        self.code_, self.note_ = _native_code(sugg.space, framework, self.experiment)
        limit = self.options["max_changes"]
        blocks: list[tuple[str, str | None, str, bool]] = []
        for c in list(sugg.changes)[:limit]:
            text = f"{short(c.param, 40)}: {describe(c.before)}  ->  {describe(c.after)}.  {c.reason}"
            blocks.append((str(c.action).upper()[:12].ljust(12), "#009E73", text, False))
        if len(sugg.changes) > limit:
            blocks.append(("", None, f"… and {len(sugg.changes) - limit} more changes", False))
        if not sugg.changes:
            blocks.append(("KEEP".ljust(12), "0.45", "No change suggested: keep searching the same space.", False))
        for text in list(getattr(sugg, "notes", ()) or ())[:5]:
            blocks.append(("NOTE".ljust(12), "0.45", str(text), False))
        code = self.code_.splitlines()
        cap = self.options["max_code_lines"]
        if len(code) > cap:
            code = code[: cap - 1] + [f"# … {len(code) - cap + 1} more lines (see the HTML report)"]
        blocks.append(("", None, "\n".join(code), True))
        native = framework if self.note_ is None and framework else "hpviz"
        return _text_figure(f"Suggested next search space ({short(native, 20)} code)", blocks)

    def _repr_html_(self) -> str:
        sugg = self.result
        if not hasattr(self, "code_"):
            self.code_, self.note_ = _native_code(sugg.space, self._framework(), self.experiment)
        out = []
        if sugg.changes:
            out.append(changes_table(sugg.changes, limit=None))
        else:
            out.append("<p>No change suggested: keep searching the same space.</p>")
        notes = list(getattr(sugg, "notes", ()) or ())
        if notes:
            out.append("<ul>" + "".join(f"<li>{_esc(str(n))}</li>" for n in notes) + "</ul>")
        out.append(f"<pre><code>{_esc(self.code_)}</code></pre>")
        if self.note_:
            out.append(f'<p class="note">{_esc(self.note_)}</p>')
        return "\n".join(out)


def suggestions(obj: Any, ax: Axes | None = None, **options: Any) -> SuggestionsDisplay:
    """One call: :class:`SuggestionsDisplay` of a :class:`hpviz.SpaceSuggestion` (``experiment=`` for the
    framework's code), or of anything :func:`hpviz.suggest_space` accepts."""
    return SuggestionsDisplay.shortcut(obj, ax, **options)
