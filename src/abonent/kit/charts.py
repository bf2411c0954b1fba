"""Charts as SVG, drawn server-side by matplotlib: one bar chart is all the dashboards need.

The object API (``Figure``), never ``pyplot``: pyplot keeps global state that is not safe across
the threads a web server renders in, and a bare ``Figure`` saves through the SVG backend without
any GUI backend chosen. Text stays text in the SVG (``svg.fonttype: none``), so the
page's own font shows it, a screen reader and a test can read it, and the file stays small.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

_COLOUR = "#1f5f99"
_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "abonent",  # the same ids in every rendering: reproducible files
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def bar_chart_svg(
    title: str, labels: Sequence[str], values: Sequence[float], value_labels: Sequence[str]
) -> bytes:
    """Horizontal bars, the first label on top, each bar with its value written beside it."""
    if not (len(labels) == len(values) == len(value_labels)):
        raise ValueError("labels, values and value labels differ in length")
    # Imported here: matplotlib takes ~0.5 s to import (more on its first font scan), which
    # every process would pay at start-up for a page few people open.
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    height = 1.2 + 0.45 * max(len(labels), 1)
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.5, height), dpi=96)
        axes = figure.add_subplot()
        positions = list(range(len(labels)))[::-1]
        bars = axes.barh(positions, list(values), color=_COLOUR, height=0.6)
        axes.set_yticks(positions, list(labels))
        axes.bar_label(bars, labels=list(value_labels), padding=4)
        axes.set_title(title, loc="left", fontweight="bold")
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        top = max([float(v) for v in values] + [1.0])
        axes.set_xlim(0, top * 1.35)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
