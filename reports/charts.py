"""Charts for the HTML report, found generically in `CheckResult.details` and drawn as inline SVG.

Check authors do not call this module: they put small JSON summaries in `Measurement.details`,
and every value whose shape is recognised below becomes a chart titled after its key (so name
keys well: ``label_counts``, ``accuracy_by_train_size``). Keys are looked at on the top level
and one level down (``outer.inner``); at most `MAX_CHARTS_PER_CHECK` charts per check.

Recognised shapes (anything else is shown only in the check's raw details):

``bar``       a mapping label -> number, 2+ entries, all numbers finite and >= 0, e.g.
              ``{"pos": 310, "neg": 290}`` (class balance) or ``{"2": 14, "3": 2}`` (cluster
              sizes). Numeric keys and ranges (``"0.80-0.85"``) keep their numeric
              order, other labels are sorted by value. Integer values are counts: past 25
              bars the rest are summed into "other". Mappings that look like summary
              statistics (mean, std, p50...) are not charted.
``grouped``   a mapping series -> (mapping label -> number), 2-8 series, e.g.
              ``{"train": {"pos": 300, "neg": 280}, "eval": {"pos": 40, "neg": 10}}``.
              When every inner mapping has the same keys and there are more rows than keys,
              it is read as a table (``{"billing": {"count": 125, "share": 0.21}, ...}``) and
              one column is drawn as a ``bar`` chart: ``count`` (or ``n``), else the first.
              All-zero bar charts are not drawn (nothing to see).
``line``      a list of 2+ points ``{"x": number, "y": number}``, or of rows with exactly two
              numeric fields and no text (``{"fraction": 0.1, "heldout_loss": 0.32}``: x is the first, y the
              second, and their names label the axes); optional ``"series": str`` draws one
              line per series; an interval (``"low"``/``"high"``, ``lo``/``hi``,
              ``ci_low``/``ci_high``, or a ``[low, high]`` list in ``ci``/``<y>_ci``/
              ``interval``) is shaded, e.g. a learning curve; or a mapping
              ``{"x": [numbers], "y": [numbers]}`` of equal lengths.
``intervals`` a list of rows ``{"group": str, "rate": number, "low": number, "high": number}``
              (label key: ``group``/``label``/``name``/``category``; value key:
              ``rate``/``value``/``mean``/``estimate``; the interval as for ``line``, optional;
              ``axis``/``outcome``/``series`` join the label when they differ between rows;
              rows whose value is null are left out), e.g. per-group rates with confidence
              intervals; drawn as points with error bars.
``ranked``    a list of 2+ rows with a text field and a count (``{"text": "as a nurse",
              "count": 74, "share": 0.06}``; text: ``group``/``label``/``name``/``category``/
              ``text`` or the first text field; count: ``count``/``n``/``size``/``n_records``/
              ``records``), e.g. the most common openings; drawn as a ``bar`` chart.
``histogram`` a mapping ``{"edges": [n+1 numbers], "counts": [n numbers]}`` (``bins`` is an
              alias of ``edges``; optional ``"unit": str`` labels the x axis and
              ``"scale": "log"`` makes it logarithmic), e.g. a length distribution.
``matrix``    a mapping ``{"labels": [n strings], "matrix": [n lists of n numbers]}`` (or
              ``row_labels``/``col_labels`` for a non-square one), e.g. a confusion matrix;
              the first 12 rows and columns, cells labelled up to 8 x 8.

Drawing uses matplotlib's object API with an Agg canvas (no pyplot and no global backend
switch, so a notebook's backend is left alone) with SVG text kept as text (`svg.fonttype =
"none"`: no embedded or external fonts; mathtext off, so "$" is just a character). The SVG is
then made safe to inline: no XML prolog, DOCTYPE, metadata, style sheet or namespace URLs; ids
prefixed per chart so several charts share one page; and it is verified to reference nothing
outside itself (`verify_svg`).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_CHARTS_PER_CHECK = 4
MAX_BARS = 25
MAX_SERIES = 8
MAX_INTERVAL_ROWS = 30
MAX_MATRIX = 12
MAX_LINE_POINTS = 200
LABEL_CHARS = 28

_STATS_KEYS = frozenset({"mean", "std", "stdev", "min", "max", "median", "sum", "var", "iqr",
                         "count", "n", "mode", "skew", "kurtosis", "total"})
_STATS_KEY = re.compile(r"^(p|q)\d{1,2}$")
_NUMERIC_KEY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:(?:-|–|to|\.\.)\s*-?\d+(?:\.\d+)?)?\s*$")
_LABEL_KEYS = ("group", "label", "name", "category")
_COUNT_KEYS = ("count", "n", "size", "n_records", "records")
_VALUE_KEYS = ("rate", "value", "mean", "estimate")
_LOW_KEYS = ("low", "lo", "ci_low", "lower")
_HIGH_KEYS = ("high", "hi", "ci_high", "upper")

_COLORS = ("#3465a4", "#f57900", "#4e9a06", "#cc0000", "#75507b", "#c17d11", "#555753", "#06989a")


@dataclass(frozen=True)
class ChartSpec:
    """A chart found in details: its kind, title and the data to draw (already capped)."""

    kind: str
    title: str
    labels: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    series: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    points: Mapping[str, tuple[tuple[float, float, float, float], ...]] = field(default_factory=dict)
    matrix: tuple[tuple[float, ...], ...] = ()
    col_labels: tuple[str, ...] = ()
    axis_labels: tuple[str, str] = ("", "")
    log_x: bool = False
    note: str = ""


# -- shape detection (pure) -----------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _first(row: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((row[k] for k in keys if k in row), None)


def clean_label(value: Any) -> str:
    """A short single-line label: control characters removed, whitespace collapsed, truncated."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", str(value))
    text = " ".join(text.split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _title(path: str) -> str:
    return path.replace("_", " ").replace(".", ": ")


def _as_bar(title: str, value: Mapping[str, Any]) -> ChartSpec | None:
    if len(value) < 2 or not all(_is_number(v) and v >= 0 for v in value.values()):
        return None
    if not any(value.values()):
        return None  # all zero: nothing to see
    stats_like = sum(1 for k in value if str(k).lower() in _STATS_KEYS or _STATS_KEY.match(str(k)))
    if stats_like * 2 >= len(value):
        return None
    items = [(str(k), float(v)) for k, v in value.items()]
    starts = [_NUMERIC_KEY.match(k) for k, _ in items]
    if all(starts):  # "2", "10" or ranges "0.80-0.85": keep their numeric order
        items.sort(key=lambda kv: float(_NUMERIC_KEY.match(kv[0]).group(1)))  # type: ignore[union-attr]
    else:
        items.sort(key=lambda kv: -kv[1])
    note = ""
    if len(items) > MAX_BARS:
        counts = all(float(v).is_integer() for _, v in items)
        rest = items[MAX_BARS - 1:] if counts else items[MAX_BARS:]
        items = items[: MAX_BARS - 1] if counts else items[:MAX_BARS]
        if counts:
            items.append((f"other ({len(rest)})", sum(v for _, v in rest)))
        note = f"{len(rest)} more not shown" if not counts else ""
    return ChartSpec(kind="bar", title=title, labels=tuple(clean_label(k) for k, _ in items),
                     values=tuple(v for _, v in items), note=note)


def _as_grouped(title: str, value: Mapping[str, Any]) -> ChartSpec | None:
    if len(value) < 2 or not all(isinstance(v, Mapping) and v and all(
            _is_number(x) for x in v.values()) for v in value.values()):
        return None
    fields = [list(inner) for inner in value.values()]
    if all(f == fields[0] for f in fields) and len(value) > len(fields[0]):
        # rows of a table (label -> {count, share, ...}): chart one column, counts first
        column = "count" if "count" in fields[0] else "n" if "n" in fields[0] else fields[0][0]
        return _as_bar(f"{title}: {column}", {k: inner[column] for k, inner in value.items()})
    if len(value) > MAX_SERIES:
        return None
    labels: list[str] = []
    for inner in value.values():
        labels.extend(str(k) for k in inner if str(k) not in labels)
    labels = labels[:MAX_BARS]
    series = {clean_label(name): tuple(float(inner.get(k, 0.0)) for k in labels)
              for name, inner in value.items()}
    if not any(v for values in series.values() for v in values):
        return None  # all zero: nothing to see
    return ChartSpec(kind="grouped", title=title, labels=tuple(clean_label(k) for k in labels),
                     series=series)


def _interval(row: Mapping[str, Any], value_key: str | None = None) -> tuple[float, float]:
    """(low, high) from low/high keys or a [low, high] list (`ci`, `<value>_ci`, `interval`)."""
    low, high = _first(row, _LOW_KEYS), _first(row, _HIGH_KEYS)
    if _is_number(low) and _is_number(high):
        return float(low), float(high)
    pair = _first(row, tuple(k for k in (f"{value_key}_ci" if value_key else "", "ci",
                                          "interval") if k))
    if isinstance(pair, list) and len(pair) == 2 and all(_is_number(v) for v in pair):
        return float(pair[0]), float(pair[1])
    return math.nan, math.nan


def _xy_keys(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """("x", "y"), or the two numeric fields of rows that have exactly two (in their order)."""
    if all("x" in r and "y" in r for r in rows):
        return "x", "y"
    keys = list(rows[0])
    if any(list(r) != keys for r in rows) or any(isinstance(v, str) for v in rows[0].values()):
        return None  # rows with text are labelled items (see _as_ranked), not points
    skip = set(_LOW_KEYS) | set(_HIGH_KEYS)
    numeric = [k for k in keys if k not in skip and all(_is_number(r[k]) for r in rows)]
    return (numeric[0], numeric[1]) if len(numeric) == 2 else None


def _as_line(title: str, value: Any) -> ChartSpec | None:
    rows: Sequence[Mapping[str, Any]]
    if isinstance(value, Mapping) and set(value) >= {"x", "y"}:
        xs, ys = value["x"], value["y"]
        if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys) >= 2):
            return None
        rows = [{"x": x, "y": y} for x, y in zip(xs, ys, strict=True)]
    elif isinstance(value, list) and len(value) >= 2 and all(isinstance(r, Mapping) and r
                                                             for r in value):
        rows = value
    else:
        return None
    keys = _xy_keys(rows)
    if keys is None:
        return None
    x_key, y_key = keys
    lines: dict[str, list[tuple[float, float, float, float]]] = {}
    step = max(1, math.ceil(len(rows) / MAX_LINE_POINTS))  # evenly thinned, last point kept
    for row in [*rows[:-1:step], rows[-1]]:
        x: Any = row.get(x_key)
        y: Any = row.get(y_key)
        if not (_is_number(x) and _is_number(y)):
            return None
        low, high = _interval(row, y_key)
        name = clean_label(row.get("series", ""))
        lines.setdefault(name, []).append((float(x), float(y), low, high))
    if len(lines) > MAX_SERIES:
        return None
    points = {name: tuple(sorted(pts)) for name, pts in lines.items()}
    axes = ("", "") if keys == ("x", "y") else (x_key.replace("_", " "), y_key.replace("_", " "))
    return ChartSpec(kind="line", title=title, points=points, axis_labels=axes)


def _row_label(row: Mapping[str, Any], varying: Sequence[str]) -> str | None:
    label = _first(row, _LABEL_KEYS)
    if not isinstance(label, str):
        return None
    context = [str(row[k]) for k in varying if k in row]
    return " · ".join([*context[:1], label, *context[1:]]) if context else label


def _as_intervals(title: str, value: Any) -> ChartSpec | None:
    """Rows with a text label and an estimate; rows without an estimate are left out."""
    if not (isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value)):
        return None
    # context keys that tell rows apart (e.g. the axis of a group, the outcome measured)
    varying = [k for k in ("axis", "outcome", "series")
               if len({str(r.get(k)) for r in value}) > 1]
    labels, rows = [], []
    for row in value:
        label, value_key = _row_label(row, varying), next((k for k in _VALUE_KEYS if k in row),
                                                          None)
        if label is None or value_key is None:
            return None
        estimate = row[value_key]
        if estimate is None:
            continue  # not applicable (e.g. a group with no records)
        if not _is_number(estimate):
            return None
        low, high = _interval(row, value_key)
        labels.append(clean_label(label))
        rows.append((float(estimate), float(estimate),
                     float(estimate) if math.isnan(low) else low,
                     float(estimate) if math.isnan(high) else high))
    if not rows:
        return None
    n = MAX_INTERVAL_ROWS
    left_out = len(value) - len(rows)
    notes = [f"{len(rows) - n} more not shown" if len(rows) > n else "",
             f"{left_out} without a value left out" if left_out else ""]
    return ChartSpec(kind="intervals", title=title, labels=tuple(labels[:n]),
                     values=tuple(r[0] for r in rows[:n]), points={"": tuple(rows[:n])},
                     note="; ".join(x for x in notes if x))


def _as_ranked(title: str, value: Any) -> ChartSpec | None:
    """Rows of labelled items with a count (``{"text": "as a nurse", "count": 74, ...}``)."""
    if not (isinstance(value, list) and len(value) >= 2
            and all(isinstance(r, Mapping) for r in value)):
        return None
    first = value[0]
    label_key = next((k for k in (*_LABEL_KEYS, "text") if isinstance(first.get(k), str)),
                     next((k for k, v in first.items() if isinstance(v, str)), None))
    count_key = next((k for k in _COUNT_KEYS if k in first), None)
    if label_key is None or count_key is None:
        return None
    counts: dict[str, Any] = {}
    for row in value:
        label, count = row.get(label_key), row.get(count_key)
        if not isinstance(label, str) or not _is_number(count):
            return None
        counts[label] = counts.get(label, 0) + count
    return _as_bar(f"{title}: {count_key}", counts)


def _as_histogram(title: str, value: Any) -> ChartSpec | None:
    if not isinstance(value, Mapping):
        return None
    edges, counts = _first(value, ("edges", "bins")), value.get("counts")
    if not (isinstance(edges, list) and isinstance(counts, list) and counts
            and len(edges) == len(counts) + 1
            and all(_is_number(v) for v in [*edges, *counts])):
        return None
    unit = value.get("unit")
    return ChartSpec(kind="histogram", title=title, values=tuple(float(c) for c in counts),
                     matrix=(tuple(float(e) for e in edges),),
                     axis_labels=(clean_label(unit) if isinstance(unit, str) else "", "records"),
                     log_x=value.get("scale") == "log")


def _as_matrix(title: str, value: Any) -> ChartSpec | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("matrix"), list):
        return None
    rows_raw = value["matrix"]
    row_labels = value.get("row_labels", value.get("labels"))
    col_labels = value.get("col_labels", value.get("labels"))
    if not (isinstance(row_labels, list) and isinstance(col_labels, list) and rows_raw
            and len(row_labels) == len(rows_raw)
            and all(isinstance(r, list) and len(r) == len(col_labels)
                    and all(_is_number(v) for v in r) for r in rows_raw)):
        return None
    rows = tuple(tuple(float(v) for v in r[:MAX_MATRIX]) for r in rows_raw[:MAX_MATRIX])
    note = f"first {MAX_MATRIX} rows and columns" if max(len(rows_raw), len(col_labels)) \
        > MAX_MATRIX else ""
    return ChartSpec(kind="matrix", title=title,
                     labels=tuple(clean_label(v) for v in row_labels[:MAX_MATRIX]),
                     col_labels=tuple(clean_label(v) for v in col_labels[:MAX_MATRIX]),
                     matrix=rows, note=note)


_DETECTORS = (_as_histogram, _as_matrix, _as_line, _as_intervals, _as_ranked, _as_grouped,
              _as_bar)


def detect(title: str, value: Any) -> ChartSpec | None:
    """The chart for one detail value, or None when its shape is not one of the recognised ones."""
    for detector in _DETECTORS:
        if detector in (_as_grouped, _as_bar) and not isinstance(value, Mapping):
            continue
        spec = detector(title, value)
        if spec is not None:
            return spec
    return None


def find_charts(details: Mapping[str, Any], limit: int = MAX_CHARTS_PER_CHECK) -> list[ChartSpec]:
    """Charts for a check's details: top-level keys first, then one level down."""
    specs: list[ChartSpec] = []
    for key, value in details.items():
        if len(specs) >= limit:
            break
        spec = detect(_title(str(key)), value)
        if spec is None and isinstance(value, Mapping):
            for inner_key, inner in value.items():
                if len(specs) >= limit:
                    break
                inner_spec = detect(_title(f"{key}.{inner_key}"), inner)
                if inner_spec is not None:
                    specs.append(inner_spec)
        elif spec is not None:
            specs.append(spec)
    return specs


# -- drawing (matplotlib, imported lazily) --------------------------------------------------

def _rc() -> Any:
    return {
        "svg.fonttype": "none", "svg.hashsalt": "ft-audit", "text.parse_math": False,
        "text.usetex": False, "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"], "font.size": 9,
        "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10,
        "axes.titleweight": "bold", "axes.grid": True, "grid.alpha": 0.3,
        "path.simplify": True,
    }


def _draw_bar(ax: Any, spec: ChartSpec) -> None:
    positions = range(len(spec.labels))
    ax.barh(list(positions), spec.values, color=_COLORS[0])
    ax.set_yticks(list(positions), spec.labels)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    for pos, value in zip(positions, spec.values, strict=True):
        ax.annotate(f" {_short(value)}", (value, pos), va="center", fontsize=8)


def _draw_grouped(ax: Any, spec: ChartSpec) -> None:
    n = len(spec.series)
    width = 0.8 / n
    for i, (name, values) in enumerate(spec.series.items()):
        ax.bar([p + (i - (n - 1) / 2) * width for p in range(len(spec.labels))], values,
               width=width, label=name or "(unnamed)", color=_COLORS[i % len(_COLORS)])
    ax.set_xticks(list(range(len(spec.labels))), spec.labels,
                  rotation=30 if len(spec.labels) > 4 else 0, ha="right" if len(spec.labels) > 4
                  else "center")
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=8, frameon=False)


def _draw_line(ax: Any, spec: ChartSpec) -> None:
    for i, (name, pts) in enumerate(spec.points.items()):
        color = _COLORS[i % len(_COLORS)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, marker="o" if len(pts) <= 50 else None, markersize=3, color=color,
                label=name or None)
        if any(not math.isnan(p[2]) for p in pts):
            lows = [p[2] if not math.isnan(p[2]) else p[1] for p in pts]
            highs = [p[3] if not math.isnan(p[3]) else p[1] for p in pts]
            ax.fill_between(xs, lows, highs, color=color, alpha=0.2, linewidth=0)
    if any(spec.points):
        ax.legend(fontsize=8, frameon=False)


def _draw_intervals(ax: Any, spec: ChartSpec) -> None:
    rows = spec.points[""]
    positions = list(range(len(rows)))
    estimates = [r[0] for r in rows]
    errors = [[max(0.0, r[0] - r[2]) for r in rows], [max(0.0, r[3] - r[0]) for r in rows]]
    ax.errorbar(estimates, positions, xerr=errors, fmt="o", color=_COLORS[0], capsize=3,
                markersize=4)
    ax.set_yticks(positions, spec.labels)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)


def _draw_histogram(ax: Any, spec: ChartSpec) -> None:
    edges = spec.matrix[0]
    ax.stairs(spec.values, edges, fill=True, color=_COLORS[0], alpha=0.85)
    ax.grid(axis="x", visible=False)
    if spec.log_x:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("symlog", linthresh=1.0)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # no mathtext


def _draw_matrix(ax: Any, spec: ChartSpec) -> None:
    ax.pcolormesh(spec.matrix, cmap="Blues", edgecolors="white", linewidth=0.5)
    ax.set_xticks([c + 0.5 for c in range(len(spec.col_labels))], spec.col_labels, rotation=30,
                  ha="right")
    ax.set_yticks([r + 0.5 for r in range(len(spec.labels))], spec.labels)
    ax.invert_yaxis()
    ax.grid(False)
    if len(spec.labels) * len(spec.col_labels) > 64:
        return  # too many cells to label legibly (and each label costs bytes)
    top = max((v for row in spec.matrix for v in row), default=0.0)
    for r, row in enumerate(spec.matrix):
        for c, value in enumerate(row):
            ax.text(c + 0.5, r + 0.5, _short(value), ha="center", va="center", fontsize=7,
                    color="white" if top and value > top / 2 else "black")


_DRAW = {"bar": _draw_bar, "grouped": _draw_grouped, "line": _draw_line,
         "intervals": _draw_intervals, "histogram": _draw_histogram, "matrix": _draw_matrix}


def _short(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.3g}"


def _height(spec: ChartSpec) -> float:
    if spec.kind in ("bar", "intervals"):
        return 0.9 + 0.22 * len(spec.labels)
    if spec.kind == "matrix":
        return 1.2 + 0.3 * len(spec.labels)
    return 2.6


def _margins(spec: ChartSpec, height: float) -> dict[str, float]:
    """Subplot margins from label lengths (cheaper than tight_layout, which draws twice)."""
    width = 6.0
    row_labels = spec.labels if spec.kind in ("bar", "intervals", "matrix") else ()
    left = 0.45 + 0.065 * max((len(label) for label in row_labels), default=4)
    rotated = spec.col_labels if spec.kind == "matrix" else \
        spec.labels if spec.kind == "grouped" and len(spec.labels) > 4 else ()
    bottom = 0.4 + 0.045 * max((len(label) for label in rotated), default=0)
    return {"left": min(left / width, 0.5), "right": 0.9 if spec.kind == "bar" else 0.97,
            "top": 1 - 0.35 / height, "bottom": min(bottom / height, 0.5)}


def render_svg(spec: ChartSpec, chart_id: str) -> str:
    """The chart as a safe, self-contained `<svg>` element (ids prefixed with `chart_id`)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(6.0, min(_height(spec), 8.0)))
        FigureCanvasAgg(fig)  # Agg lays the text out; no global backend switch
        ax = fig.subplots()
        _DRAW[spec.kind](ax, spec)
        if spec.axis_labels[0]:
            ax.set_xlabel(spec.axis_labels[0])
        if spec.axis_labels[1]:
            ax.set_ylabel(spec.axis_labels[1])
        ax.set_title(clean_label(spec.title) if len(spec.title) > 60 else spec.title, loc="left")
        fig.subplots_adjust(**_margins(spec, fig.get_figheight()))
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return sanitize_svg(buffer.getvalue(), chart_id)


class UnsafeSvgError(ValueError):
    """The SVG would reference something outside itself; it is not inlined."""


_ATTRIBUTE = re.compile(r'="([^"]*)"')
_LONG_DECIMAL = re.compile(r"(\d+\.\d)\d+")


def sanitize_svg(svg: str, chart_id: str) -> str:
    """Make matplotlib's SVG document safe and small as an inline element."""
    if not re.fullmatch(r"[A-Za-z][\w-]*", chart_id):
        raise ValueError(f"bad chart id {chart_id!r}")
    start = svg.find("<svg")
    if start < 0:
        raise UnsafeSvgError("no <svg> element")
    svg = svg[start:]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # matplotlib's global `*{stroke-linejoin...}` sheet would restyle the page: report.css
    # scopes the same rule to charts instead
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'<g id="[^"]*"', "<g", svg)  # group ids are never referenced
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{chart_id}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{chart_id}-{m.group(1)})", svg)
    # fonts come from report.css; a no-op rotation on every label is dropped
    svg = re.sub(r"font-family:[^;\"]*;?\s*", "", svg)
    svg = re.sub(r' transform="rotate\(-?0 [^)"]*\)"', "", svg)
    svg = _ATTRIBUTE.sub(lambda m: '="' + _LONG_DECIMAL.sub(r"\1", " ".join(m.group(1).split()))
                         + '"', svg)
    svg = re.sub(r">\s+<", "><", svg).strip().replace("<defs></defs>", "")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="chart {chart_id}" ', 1)
    verify_svg(svg)
    return svg


def verify_svg(svg: str) -> None:
    """Raise UnsafeSvgError if the markup could run script or load anything.

    Text nodes are left out of the scan: matplotlib escapes them, so a label that merely reads
    "javascript:" is text, not markup.
    """
    markup = re.sub(r">[^<]*<", "><", svg)
    lowered = markup.lower()
    for bad in ("<script", "<style", "<foreignobject", "<image", "<a ", "@import", "javascript:",
                "<!doctype", "<?xml"):
        if bad in lowered:
            raise UnsafeSvgError(f"chart SVG contains {bad!r}")
    if re.search(r"\son\w+\s*=", lowered):
        raise UnsafeSvgError("chart SVG has an event handler attribute")
    for href in re.findall(r'href\s*=\s*"([^"]*)"', markup):
        if not href.startswith("#"):
            raise UnsafeSvgError(f"chart SVG links outside itself: {href!r}")
    if re.search(r"url\(\s*(?!#)", markup):
        raise UnsafeSvgError("chart SVG has a url() that is not a local reference")
