"""Charts of the run report: matplotlib figures written as inline SVG, a hover title on every mark.

matplotlib is already a dependency (training plots), draws labelled axes and
legends well and writes SVG text the page can hold inline, so the report needs
no script and no vendored JavaScript. Each data point is drawn as its own
marker with a ``gid``; after ``savefig`` the group of that id gets an SVG
``<title>`` with the point's numbers, which a browser shows on hover.
"""

from __future__ import annotations

import html
import io
import re

__all__ = ["Series", "line_chart", "bar_chart", "scatter_chart"]

_SVG_START = re.compile(r"^.*?(<svg\b)", re.S)


class Series:
    """One line of a chart: label, x values, y values (None = no point), style."""

    def __init__(self, label, xs, ys, *, style="-", marker="o"):
        self.label, self.xs, self.ys, self.style, self.marker = label, list(xs), list(ys), style, marker


def _figure(width=7.0, height=3.4):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "lgn-hw"   # same page for the same run
    matplotlib.rcParams["svg.fonttype"] = "none"     # text stays text: smaller, selectable
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _svg(fig, tips: dict, chart_id: str) -> str:
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = _SVG_START.sub(r"\1", buf.getvalue(), count=1)

    def add_title(m):
        return f'{m.group(0)}<title>{html.escape(tips[m.group(1)])}</title>'

    text = re.sub(r'<g id="(tip-\d+)"[^>]*>', add_title, text)
    return text.replace("<svg ", f'<svg class="chart" id="{html.escape(chart_id)}" role="img" ', 1)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def line_chart(chart_id, series, *, xlabel, ylabel, title, mark_x=None, mark_label=None,
               log_y=False) -> str:
    """Lines with a marker per point; ``mark_x`` draws a labelled vertical line (the best epoch)."""
    fig, ax = _figure()
    tips, n = {}, 0
    for s in series:
        pts = [(x, y) for x, y in zip(s.xs, s.ys) if y is not None]
        if not pts:
            continue
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], s.style, label=s.label, linewidth=1.5)
        for x, y in pts:
            m, = ax.plot([x], [y], s.marker, color=line.get_color(), markersize=4)
            gid = f"tip-{n}"
            m.set_gid(gid)
            tips[gid] = f"{s.label}: {xlabel.split(' (')[0]} {_fmt(x)}, {_fmt(y)}"
            n += 1
    if mark_x is not None:
        ax.axvline(mark_x, color="0.3", linestyle=":", linewidth=1.2, label=mark_label)
    if log_y:
        ax.set_yscale("log")
    if all(isinstance(x, int) for s in series for x in s.xs):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _svg(fig, tips, chart_id)


def bar_chart(chart_id, categories, groups, *, xlabel, ylabel, title, stacked=False, horizontal=False,
              width=7.0, height=3.4) -> str:
    """Bars per category, one colour per group (``groups``: {label: [value per category]})."""
    import numpy as np

    fig, ax = _figure(width, height)
    tips, n = {}, 0
    pos = np.arange(len(categories))
    k = max(1, len(groups))
    bottom = np.zeros(len(categories))
    for g, (label, values) in enumerate(groups.items()):
        values = np.asarray([0 if v is None else v for v in values], dtype=float)
        if stacked:
            offs, size = pos, 0.7
        else:
            size = 0.8 / k
            offs = pos - 0.4 + size * (g + 0.5)
        draw = ax.barh if horizontal else ax.bar
        kw = {"left" if horizontal else "bottom": bottom} if stacked else {}
        bars = draw(offs, values, size, label=label, **kw)
        for cat, v, bar in zip(categories, values, bars):
            gid = f"tip-{n}"
            bar.set_gid(gid)
            tips[gid] = f"{label}, {cat}: {_fmt(float(v)) if v % 1 else int(v)}"
            n += 1
        if stacked:
            bottom = bottom + values
    (ax.set_yticks if horizontal else ax.set_xticks)(pos, [str(c) for c in categories],
                                                     **({} if horizontal else {"rotation": 0}))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, axis="x" if horizontal else "y", alpha=0.3)
    if len(groups) > 1 or stacked:
        ax.legend(fontsize=8, loc="best")
    return _svg(fig, tips, chart_id)


def scatter_chart(chart_id, groups, *, xlabel, ylabel, title, log_x=False) -> str:
    """Points per group (``groups``: {label: [(x, y, name), ...]}), each point named beside its mark."""
    fig, ax = _figure(7.0, 4.2)
    tips, n = {}, 0
    for (label, pts), marker in zip(groups.items(), "osx^vD"):
        if not pts:
            continue
        color = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker, linestyle="none", label=label)[0].get_color()
        for x, y, name in pts:
            m, = ax.plot([x], [y], marker, color=color, linestyle="none")
            gid = f"tip-{n}"
            m.set_gid(gid)
            tips[gid] = f"{name} ({label}): {_fmt(x)} {xlabel.split(' (')[0]}, {_fmt(y)}"
            ax.annotate(name, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
            n += 1
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _svg(fig, tips, chart_id)
