"""Small deterministic SVG charts for the eval reports: a line chart, a histogram and grouped bars.

Each function takes plain data and returns one self-contained SVG document as a string: axes, tick
labels, axis titles, a legend where there are several series, and a `<title>` tooltip on every point
and bar. Identical input gives byte-identical output (floats are written with fixed precision and
nothing depends on time or hashing), so reports can be diffed and tested. Every series is a
`<g class="series" data-series="NAME">`, every bar a `<rect class="bar">`, so tests and scripts can
count them.

Stdlib only. This module does not read or write files, compute metrics or decide what to plot:
`rag.eval.report` does that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["PALETTE", "bar_chart", "histogram", "line_chart"]

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")

WIDTH, HEIGHT = 720, 400
# The plot area; the legend sits in the right margin.
X0, X1, Y0, Y1 = 64, WIDTH - 176, 44, HEIGHT - 56
_LEGEND_CHARS = 22
_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12"'


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to pixels inside the plot area."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    log_x: bool = False

    def px(self, x: float) -> float:
        lo, hi = self.x_lo, self.x_hi
        if self.log_x:
            x, lo, hi = math.log10(x), math.log10(lo), math.log10(hi)
        return X0 + (x - lo) / (hi - lo) * (X1 - X0)

    def py(self, y: float) -> float:
        return Y1 - (y - self.y_lo) / (self.y_hi - self.y_lo) * (Y1 - Y0)


# --- formatting -------------------------------------------------------------------------------


def _f(v: float) -> str:
    """A pixel coordinate with fixed precision (never "-0.00")."""
    s = f"{v:.2f}"
    return "0.00" if s == "-0.00" else s


def _esc(text: object) -> str:
    return escape(str(text))


def _attr(text: object) -> str:
    return escape(str(text), {'"': "&quot;"})


def _short(v: float) -> str:
    """A data value for a label: up to 4 significant digits, no trailing zeros."""
    return f"{v:.4g}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "…"


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# --- scales -----------------------------------------------------------------------------------


def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= raw."""
    exp = math.floor(math.log10(raw))
    base = raw / 10**exp
    mult = next(m for m in (1.0, 2.0, 2.5, 5.0, 10.0) if base <= m + 1e-9)
    return mult * 10**exp


def _count_scale(tallest: int) -> tuple[int, list[float]]:
    """The top of a count axis (>= tallest) and its whole-number ticks."""
    step = max(1, math.ceil(_nice_step(max(tallest, 1) / 5)))
    top = math.ceil(tallest / step) * step
    return top, [float(i * step) for i in range(top // step + 1)]


def _decimals(step: float) -> int:
    return next((d for d in range(8) if abs(round(step, d) - step) < 1e-9 * max(1.0, step)), 8)


def _linear_ticks(lo: float, hi: float, *, target: int = 5) -> list[float]:
    step = _nice_step((hi - lo) / target)
    first = math.ceil(lo / step - 1e-9)
    count = math.floor(hi / step + 1e-9) - first + 1
    return [round((first + i) * step, 10) for i in range(max(0, count))]


def _tick_labels(ticks: Sequence[float]) -> list[str]:
    if len(ticks) < 2:
        return [_short(t) for t in ticks]
    d = _decimals(ticks[1] - ticks[0])
    return [f"{t:.{d}f}" for t in ticks]


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks per decade inside [lo, hi]; powers of ten only when that would be crowded."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for mults in ((1, 2, 5), (1,)):
        found = [m * 10.0**e for e in decades for m in mults if lo * (1 - 1e-9) <= m * 10.0**e <= hi * (1 + 1e-9)]
        if len(found) <= 10:
            break
    return found if len(found) >= 2 else [lo, hi]


def _padded(lo: float, hi: float, log: bool) -> tuple[float, float]:
    """A non-empty range around [lo, hi] (a single value gets room on both sides)."""
    if hi > lo:
        return lo, hi
    if log:
        return lo / 2, hi * 2
    pad = abs(lo) * 0.1 or 0.5
    return lo - pad, hi + pad


def _y_scale(y_range: tuple[float, float] | None, ys: Sequence[float]) -> tuple[float, float, list[float]]:
    """The y range (the requested one, widened to fit the data) and its ticks."""
    if y_range is None:
        lo, hi = _padded(min(ys, default=0.0), max(ys, default=1.0), False)
        step = _nice_step((hi - lo) / 5)
        lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    else:
        lo, hi = _padded(min([y_range[0], *ys]), max([y_range[1], *ys]), False)
    return lo, hi, _linear_ticks(lo, hi)


# --- drawing ----------------------------------------------------------------------------------


def _text(
    x: float, y: float, text: str, *, anchor: str = "middle", size: int = 12, extra: str = "", tip: str = ""
) -> str:
    """A `<text>` element; `tip` becomes its `<title>` tooltip (e.g. the full text of a clipped label)."""
    style = f' font-size="{size}"' if size != 12 else ""
    title = f"<title>{_esc(tip)}</title>" if tip else ""
    return f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{style}{extra}>{title}{_esc(text)}</text>'


def _document(title: str, body: Iterable[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" {_FONT}>'
    )
    lines = [
        head,
        f"<title>{_esc(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        _text(WIDTH / 2, 26, title, size=15, extra=' font-weight="bold"'),
        *body,
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


def _axes(x_label: str, y_label: str) -> list[str]:
    mid_y = (Y0 + Y1) / 2
    return [
        f'<line x1="{X0}" y1="{Y1}" x2="{X1}" y2="{Y1}" stroke="#333333"/>',
        f'<line x1="{X0}" y1="{Y0}" x2="{X0}" y2="{Y1}" stroke="#333333"/>',
        _text((X0 + X1) / 2, HEIGHT - 14, x_label),
        _text(18, mid_y, y_label, extra=f' transform="rotate(-90 18 {_f(mid_y)})"'),
    ]


def _y_grid(frame: _Frame, ticks: Sequence[float]) -> list[str]:
    out = []
    for tick, label in zip(ticks, _tick_labels(ticks)):
        y = _f(frame.py(tick))
        out.append(f'<line x1="{X0}" y1="{y}" x2="{X1}" y2="{y}" stroke="#dddddd"/>')
        out.append(_text(X0 - 6, frame.py(tick) + 4, label, anchor="end"))
    return out


def _x_ticks(frame: _Frame, ticks: Sequence[float], labels: Sequence[str]) -> list[str]:
    out = []
    for tick, label in zip(ticks, labels):
        x = frame.px(tick)
        out.append(f'<line x1="{_f(x)}" y1="{Y1}" x2="{_f(x)}" y2="{Y1 + 5}" stroke="#333333"/>')
        out.append(_text(x, Y1 + 18, label))
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out = ['<g class="legend">']
    for i, name in enumerate(names):
        y = Y0 + 4 + i * 20
        out.append(f'<rect x="{X1 + 16}" y="{y}" width="12" height="12" fill="{_colour(i)}"/>')
        label = _clip(name, _LEGEND_CHARS)
        out.append(_text(X1 + 34, y + 10, label, anchor="start", tip=name))
    out.append("</g>")
    return out


def _no_data(title: str, x_label: str, y_label: str) -> str:
    notice = _text((X0 + X1) / 2, (Y0 + Y1) / 2, "no data", extra=' fill="#777777"')
    return _document(title, [*_axes(x_label, y_label), notice])


def _series_open(name: str) -> str:
    return f'<g class="series" data-series="{_attr(name)}">'


# --- line chart -------------------------------------------------------------------------------


def _x_domain_ticks(xs: Sequence[float], lo: float, hi: float, log_x: bool) -> list[float]:
    if len(xs) <= 12:
        return list(xs)
    return _log_ticks(lo, hi) if log_x else _linear_ticks(lo, hi)


def _line_series(frame: _Frame, i: int, name: str, points: Sequence[tuple[float, float]]) -> list[str]:
    coords = [(frame.px(x), frame.py(y)) for x, y in points]
    dash = "" if i < len(PALETTE) else ' stroke-dasharray="6 3"'
    path = " ".join(f"{_f(px)},{_f(py)}" for px, py in coords)
    out = [
        _series_open(name),
        f'<polyline points="{path}" fill="none" stroke="{_colour(i)}" stroke-width="2"{dash}/>',
    ]
    for (x, y), (px, py) in zip(points, coords):
        tip = f"{name}: x={_short(x)}, y={y:.3f}"
        out.append(
            f'<circle cx="{_f(px)}" cy="{_f(py)}" r="3.5" fill="{_colour(i)}"><title>{_esc(tip)}</title></circle>'
        )
    out.append("</g>")
    return out


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    y_range: tuple[float, float] | None = (0.0, 1.0),
) -> str:
    """Lines with point markers, one per series (e.g. recall@k per system, x = k).

    Points are sorted by x; non-finite points (and x <= 0 on a log axis) are left out. `y_range`
    is widened to fit the data; `None` fits it to the data. Up to 12 distinct x values are each
    labelled on the axis.
    """
    clean = {
        name: sorted((float(x), float(y)) for x, y in pts if _finite(x) and _finite(y) and (x > 0 or not log_x))
        for name, pts in series.items()
    }
    points = [p for pts in clean.values() for p in pts]
    if not points:
        return _no_data(title, x_label, y_label)
    xs = sorted({x for x, _ in points})
    x_lo, x_hi = _padded(xs[0], xs[-1], log_x)
    y_lo, y_hi, y_ticks = _y_scale(y_range, [y for _, y in points])
    frame = _Frame(x_lo, x_hi, y_lo, y_hi, log_x)
    x_ticks = _x_domain_ticks(xs, x_lo, x_hi, log_x)
    body = [*_y_grid(frame, y_ticks), *_x_ticks(frame, x_ticks, [_short(t) for t in x_ticks])]
    body += _axes(x_label, y_label)
    for i, (name, pts) in enumerate(clean.items()):
        body += _line_series(frame, i, name, pts)
    if len(clean) > 1:
        body += _legend(list(clean))
    return _document(title, body)


# --- histogram --------------------------------------------------------------------------------


def _bin_edges(lo: float, hi: float, bins: int, log_x: bool) -> list[float]:
    if log_x:
        l, h = math.log10(lo), math.log10(hi)
        l, h = (l, h) if h > l else (l - 0.1, h + 0.1)
        return [10 ** (l + i * (h - l) / bins) for i in range(bins + 1)]
    lo, hi = _padded(lo, hi, False)
    return [lo + i * (hi - lo) / bins for i in range(bins + 1)]


def _bin_counts(values: Sequence[float], edges: Sequence[float], log_x: bool) -> list[int]:
    bins = len(edges) - 1
    t = math.log10 if log_x else (lambda v: v)
    lo, hi = t(edges[0]), t(edges[-1])
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int((t(v) - lo) / (hi - lo) * bins)))] += 1
    return counts


def _hist_series(frame: _Frame, i: int, name: str, counts: Sequence[int], edges: Sequence[float]) -> list[str]:
    out = [_series_open(name)]
    for b, n in enumerate(counts):
        if n == 0:
            continue
        x, x2, y = frame.px(edges[b]), frame.px(edges[b + 1]), frame.py(n)
        tip = f"{name}: {_short(edges[b])}–{_short(edges[b + 1])}: {n}"
        out.append(
            f'<rect class="bar" x="{_f(x)}" y="{_f(y)}" width="{_f(max(x2 - x - 1, 1))}" height="{_f(Y1 - y)}" '
            f'fill="{_colour(i)}" fill-opacity="0.45" stroke="{_colour(i)}"><title>{_esc(tip)}</title></rect>'
        )
    out.append("</g>")
    return out


def histogram(
    values: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_label: str,
    bins: int = 20,
    log_x: bool = False,
) -> str:
    """Overlaid semi-transparent histograms, one per series, on shared bins (e.g. latency per stage).

    Non-finite values (and values <= 0 with `log_x`, which makes the bins equal on a log scale) are
    left out. Empty series and all-equal values are fine: no data gives an empty frame saying so,
    and a single value gets a bin around it.
    """
    clean = {
        name: [float(v) for v in vs if _finite(v) and (v > 0 or not log_x)] for name, vs in values.items()
    }
    everything = [v for vs in clean.values() for v in vs]
    if not everything:
        return _no_data(title, x_label, "count")
    edges = _bin_edges(min(everything), max(everything), max(1, bins), log_x)
    counts = {name: _bin_counts(vs, edges, log_x) for name, vs in clean.items()}
    y_hi, y_ticks = _count_scale(max(max(c) for c in counts.values()))
    frame = _Frame(edges[0], edges[-1], 0.0, float(y_hi), log_x)
    x_ticks = _log_ticks(edges[0], edges[-1]) if log_x else _linear_ticks(edges[0], edges[-1])
    x_labels = [_short(t) for t in x_ticks] if log_x else _tick_labels(x_ticks)
    body = [*_y_grid(frame, y_ticks), *_x_ticks(frame, x_ticks, x_labels), *_axes(x_label, "count")]
    for i, (name, c) in enumerate(counts.items()):
        body += _hist_series(frame, i, name, c, edges)
    if len(counts) > 1:
        body += _legend(list(counts))
    return _document(title, body)


# --- grouped bars -----------------------------------------------------------------------------


def _series_names(groups: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    names: dict[str, None] = {}
    for row in groups.values():
        names.update(dict.fromkeys(row))
    return list(names)


def _bar(frame: _Frame, x: float, width: float, value: float, tip: str, colour: str) -> str:
    base = min(max(0.0, frame.y_lo), frame.y_hi)
    top, bottom = sorted((frame.py(value), frame.py(base)))
    return (
        f'<rect class="bar" x="{_f(x)}" y="{_f(top)}" width="{_f(width)}" height="{_f(bottom - top)}" '
        f'fill="{colour}"><title>{_esc(tip)}</title></rect>'
    )


def _bar_series(
    frame: _Frame, i: int, name: str, groups: Mapping[str, Mapping[str, float | None]], n: int
) -> list[str]:
    slot = (X1 - X0) / len(groups)
    width = slot * 0.8 / n
    out = [_series_open(name)]
    for g, (group, row) in enumerate(groups.items()):
        x = X0 + g * slot + slot * 0.1 + i * width
        value = row.get(name)
        if _finite(value):
            out.append(_bar(frame, x, width, float(value), f"{group} / {name}: {value:.3f}", _colour(i)))
        else:
            tip = f"{group} / {name}: n/a"
            out.append(_text(x + width / 2, Y1 - 4, "n/a", size=9, extra=' class="na" fill="#777777"', tip=tip))
    out.append("</g>")
    return out


def _group_labels(groups: Sequence[str]) -> list[str]:
    slot = (X1 - X0) / len(groups)
    chars = max(3, int(slot / 7))
    return [
        _text(X0 + (g + 0.5) * slot, Y1 + 18, _clip(group, chars), tip=group)
        for g, group in enumerate(groups)
    ]


def bar_chart(
    groups: Mapping[str, Mapping[str, float | None]],
    *,
    title: str,
    y_label: str,
    y_range: tuple[float, float] | None = (0.0, 1.0),
) -> str:
    """Grouped bars: one group per outer key along the x axis, one bar per series within it.

    Series are the inner keys, in order of first appearance. A missing or `None` value draws no bar,
    only a small "n/a". `y_range` is widened to fit the data; `None` fits it to the data.
    """
    names = _series_names(groups)
    if not groups or not names:
        return _no_data(title, "", y_label)
    ys = [float(v) for row in groups.values() for v in row.values() if _finite(v)]
    y_lo, y_hi, y_ticks = _y_scale(y_range, ys)
    frame = _Frame(0.0, float(len(groups)), y_lo, y_hi)
    body = [*_y_grid(frame, y_ticks), *_group_labels(list(groups)), *_axes("", y_label)]
    for i, name in enumerate(names):
        body += _bar_series(frame, i, name, groups, len(names))
    if len(names) > 1:
        body += _legend(names)
    return _document(title, body)
