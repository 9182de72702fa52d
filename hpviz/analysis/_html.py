"""HTML for result objects in notebooks (``_repr_html_``): a headline and the result's table."""

from __future__ import annotations

import html

import pandas as pd

#: Rows of a result's table shown inline in a notebook (the rest is in ``to_dataframe()``).
HTML_MAX_ROWS = 20


def result_html(title: str, lines: list[str], table: pd.DataFrame | None) -> str:
    """A title, a few plain sentences and (the head of) a table, all escaped."""
    parts = [f"<div><strong>{html.escape(title)}</strong>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in lines if line]
    if table is not None and len(table):
        parts.append(table.head(HTML_MAX_ROWS).to_html(float_format=lambda x: f"{x:.4g}", escape=True))
        if len(table) > HTML_MAX_ROWS:
            parts.append(f"<p>... {len(table) - HTML_MAX_ROWS} more rows in to_dataframe()</p>")
    parts.append("</div>")
    return "".join(parts)
