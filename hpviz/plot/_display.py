"""The Display base class: one object per view that draws a result and keeps what it drew.

After scikit-learn's ``PartialDependenceDisplay``: the analysis computes a
result once; a Display only draws it. ``XDisplay.from_experiment(obj, ...)``
computes the result and draws it (the one-call path), ``XDisplay.from_result(result, ...)``
draws a result the caller already has, and ``.plot(ax=None, **options)``
(re)draws and returns the Display. After drawing, ``figure_`` is the Figure,
``ax_`` the Axes (a NumPy array of Axes for a view with several panels) and
view-specific attributes hold the main artists, so tests check data on
artists rather than pixels. ``_repr_png_`` shows a Display in Jupyter without
pyplot and without ``%matplotlib inline``.

Options are checked: an unknown keyword is a ``TypeError`` listing the
allowed ones, raised before any work.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._validate import check_options
from hpviz.plot._common import style

__all__ = ["Display"]


class Display:
    """Base of every hpviz view (see the module docstring for the protocol).

    Subclasses set:

    - ``key``, ``title``, ``about``: the view's id in the report, its heading and one line on how to read it;
    - ``result_key``: the analysis the view draws (``"diagnosis"``, ``"importance"``, ...), or ``None``
      for views that draw the trials themselves;
    - ``uses``: other analyses the view can use when given (e.g. importance to rank parameters);
      they are keyword options of ``from_result``;
    - ``options``: drawing options and their defaults (what ``plot`` and the constructors accept);
    - ``_compute(experiment, **compute_options)``: the analysis, for ``from_experiment``;
    - ``_draw(ax)``: draw ``self.result`` with ``self.options``; return the Axes drawn on, or the Figure.
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    about: ClassVar[str] = ""
    result_key: ClassVar[str | None] = None
    uses: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[dict[str, Any]] = {}
    #: keywords of ``from_experiment`` passed to the analysis (besides ``objective``)
    compute_options: ClassVar[tuple[str, ...]] = ()
    #: upper bounds on the report's shared options for this view (e.g. fewer marginal panels)
    report_caps: ClassVar[dict[str, Any]] = {}
    #: attributes that identify this view's result object (the one-call shortcut draws it as is)
    result_attrs: ClassVar[tuple[str, ...]] = ()

    figure_: Figure
    ax_: Any

    def __init__(self, result: Any, *, experiment: Any = None, **options: Any) -> None:
        self._check(options, extra=self.uses)
        self.result = result
        self.experiment = experiment
        self.extras = {k: options.pop(k) for k in self.uses if k in options}
        self.options = {**self.options, **options}

    # ------------------------------------------------------------------ constructors

    @classmethod
    def _check(cls, given: Mapping[str, Any], extra: Any = ()) -> None:
        check_options(cls.__name__, given, sorted(set(cls.options) | set(extra)))

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        """Why this view has nothing to show for ``experiment`` (a sentence), or ``None`` when it applies."""
        return None

    @classmethod
    def _compute(cls, experiment: Any, **kwargs: Any) -> Any:
        return experiment

    @classmethod
    def from_experiment(cls, obj: Any, *, ax: Axes | None = None, objective: str | None = None,
                        **options: Any) -> Display:
        """Compute this view's analysis for ``obj`` (anything :func:`hpviz.experiment` accepts) and draw it."""
        compute = {k: options.pop(k) for k in cls.compute_options if k in options}
        cls._check(options, extra=(*cls.uses, *cls.compute_options, "objective"))
        from hpviz.convert import experiment

        exp = experiment(obj)
        result = cls._compute(exp, objective=objective, **compute)
        if "objective" in cls.options:
            options["objective"] = objective
        return cls(result, experiment=exp, **options).plot(ax=ax)

    @classmethod
    def from_result(cls, result: Any, *, ax: Axes | None = None, experiment: Any = None, **options: Any) -> Display:
        """Draw an analysis result the caller already has (nothing is recomputed)."""
        if experiment is not None:
            from hpviz.convert import experiment as convert

            experiment = convert(experiment)
        return cls(result, experiment=experiment, **options).plot(ax=ax)

    @classmethod
    def shortcut(cls, obj: Any, ax: Axes | None = None, **options: Any) -> Display:
        """``hpviz.plot.<view>(obj, ax=None, ...)``: draw ``obj`` if it is this view's result, else compute it."""
        if cls.result_attrs and all(hasattr(obj, a) for a in cls.result_attrs):
            return cls.from_result(obj, ax=ax, **options)
        return cls.from_experiment(obj, ax=ax, **options)

    # ------------------------------------------------------------------ drawing

    def plot(self, ax: Axes | None = None, **options: Any) -> Display:
        """Draw on ``ax`` (one panel) or on a new Figure (every panel); returns ``self``."""
        self._check(options)
        self.options.update(options)
        with style():
            out = self._draw(ax)
        self.figure_ = out if isinstance(out, Figure) else out.figure
        if isinstance(out, Figure):
            panels = [a for a in out.axes if a.get_label() != "<colorbar>" and a.get_visible()]
            self.ax_ = (panels[0] if len(panels) == 1 else np.array(panels, dtype=object)) if panels else None
        else:
            self.ax_ = out
        return self

    def _draw(self, ax: Axes | None) -> Axes | Figure:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def _repr_png_(self) -> bytes:
        """PNG of the figure, for Jupyter's rich display (no pyplot, no ``%matplotlib inline`` needed)."""
        if not hasattr(self, "figure_"):
            self.plot()
        buf = io.BytesIO()
        with style():
            self.figure_.savefig(buf, format="png", dpi=80)
        return buf.getvalue()

    def __repr__(self) -> str:
        drawn = "drawn" if hasattr(self, "figure_") else "not drawn"
        return f"<{type(self).__name__} ({drawn})>"

