"""Chart shapes found in check details, and the safety of the inline SVG."""

from __future__ import annotations

import re

import pytest

from reports.charts import (
    MAX_BARS,
    MAX_CHARTS_PER_CHECK,
    ChartSpec,
    UnsafeSvgError,
    clean_label,
    detect,
    find_charts,
    render_svg,
    sanitize_svg,
    verify_svg,
)


@pytest.mark.parametrize(("value", "kind"), [
    ({"pos": 30, "neg": 20}, "bar"),
    ({"2": 14, "3": 2, "10": 1}, "bar"),
    ({"a": 0.25, "b": 0.5}, "bar"),
    ({"train": {"pos": 3, "neg": 4}, "eval": {"pos": 1, "neg": 2}}, "grouped"),
    ([{"x": 10, "y": 0.5}, {"x": 20, "y": 0.7}], "line"),
    ([{"x": 1, "y": 0.5, "low": 0.4, "high": 0.6, "series": "a"},
      {"x": 2, "y": 0.6, "series": "b"}], "line"),
    ({"x": [1, 2, 3], "y": [3, 2, 1]}, "line"),
    ([{"group": "she", "rate": 0.4, "low": 0.3, "high": 0.5}], "intervals"),
    ([{"label": "a", "value": 1.0}, {"name": "b", "mean": 2.0}], "intervals"),
    ({"edges": [0, 1, 2], "counts": [5, 6]}, "histogram"),
    ({"bins": [0.0, 0.5, 1.0], "counts": [1, 2]}, "histogram"),
    ({"labels": ["a", "b"], "matrix": [[1, 2], [3, 4]]}, "matrix"),
    ({"row_labels": ["a"], "col_labels": ["x", "y", "z"], "matrix": [[1, 2, 3]]}, "matrix"),
])
def test_recognised_shapes(value: object, kind: str) -> None:
    spec = detect("t", value)
    assert spec is not None and spec.kind == kind


@pytest.mark.parametrize("value", [
    {"only": 3},                                   # one bar says nothing
    {"mean": 3.2, "std": 1.1, "p50": 3.0},          # summary statistics
    {"a": -1, "b": 2},                              # negative "counts"
    {"a": True, "b": False},                        # booleans are not numbers here
    {"a": "x", "b": 2},
    [1, 2, 3, 4],                                   # e.g. record ids
    [{"x": 1, "y": "high"}, {"x": 2, "y": 3}],
    [{"group": 1, "rate": 0.2}],                    # label must be text
    {"edges": [0, 1], "counts": [1, 2]},            # edges must be one longer than counts
    {"labels": ["a", "b"], "matrix": [[1, 2]]},     # rows do not match labels
    {"x": [1, 2], "y": [1]},
    "a string", 3.0, None, [],
])
def test_unrecognised_shapes_are_not_charted(value: object) -> None:
    assert detect("t", value) is None


def test_find_charts_looks_one_level_down_and_caps() -> None:
    details = {"n": 3, "by_split": {"train": [{"x": 1, "y": 2}, {"x": 2, "y": 3}], "note": "x"},
               "counts": {"a": 1, "b": 2}}
    specs = find_charts(details)
    assert [(s.kind, s.title) for s in specs] == [("line", "by split: train"), ("bar", "counts")]
    many = {f"k{i}": {"a": 1, "b": 2} for i in range(10)}
    assert len(find_charts(many)) == MAX_CHARTS_PER_CHECK


def test_bar_caps_counts_into_other_and_sorts() -> None:
    spec = detect("t", {f"l{i}": i + 1 for i in range(100)})
    assert spec is not None and len(spec.labels) == MAX_BARS
    assert spec.labels[0] == "l99" and spec.labels[-1] == f"other ({100 - MAX_BARS + 1})"
    assert spec.values[-1] == sum(range(1, 100 - MAX_BARS + 2))
    numeric = detect("t", {"10": 1, "2": 5, "3": 2})
    assert numeric is not None and numeric.labels == ("2", "3", "10")  # numeric keys in order


def test_table_shaped_mapping_charts_its_count_column() -> None:
    table = {"billing": {"count": 125, "share": 0.21}, "general": {"count": 124, "share": 0.2},
             "shipping": {"count": 119, "share": 0.19}}
    spec = detect("distribution", table)
    assert spec is not None and spec.kind == "bar" and spec.title == "distribution: count"
    assert spec.values == (125.0, 124.0, 119.0)
    # two series over four labels stays a grouped chart
    shares = {"prompt": {"a": 1, "b": 2, "c": 0, "d": 1}, "response": {"a": 2, "b": 0, "c": 1,
                                                                      "d": 0}}
    grouped = detect("shares", shares)
    assert grouped is not None and grouped.kind == "grouped"


def test_all_zero_values_are_not_charted() -> None:
    assert detect("t", {"a": 0, "b": 0}) is None
    assert detect("t", {"s1": {"a": 0, "b": 0}, "s2": {"a": 0, "b": 0, "c": 0}}) is None
    assert find_charts({"shares": {"s1": {"a": 0, "b": 0}, "s2": {"a": 0, "c": 0}}}) == []


def test_shapes_seen_in_real_checks() -> None:
    """Shapes other checks actually emit (group rates with [low, high] lists and null rates,
    learning curves with named fields, range-keyed histograms, log-scale length histograms)."""
    rates = [{"axis": "gender", "group": "female", "outcome": "label=positive", "rate": 0.42,
              "rate_ci": [0.38, 0.47]},
             {"axis": "gender", "group": "male", "outcome": "label=positive", "rate": 0.57,
              "rate_ci": [0.52, 0.62]},
             {"axis": "gender", "group": "nonbinary", "outcome": "label=positive", "rate": None,
              "rate_ci": [None, None]},
             {"axis": "age", "group": "young", "outcome": "label=positive", "rate": 0.5}]
    spec = detect("rates", rates)
    assert spec is not None and spec.kind == "intervals"
    assert spec.labels == ("gender · female", "gender · male", "age · young")
    assert spec.points[""][0] == (0.42, 0.42, 0.38, 0.47)
    assert spec.points[""][2] == (0.5, 0.5, 0.5, 0.5)
    assert spec.note == "1 without a value left out"
    assert detect("rates", [{"group": "a", "rate": None}]) is None

    curve = detect("learning curve", [{"fraction": 0.1, "heldout_loss": 0.32},
                                      {"fraction": 1.0, "heldout_loss": 0.21}])
    assert curve is not None and curve.kind == "line"
    assert curve.axis_labels == ("fraction", "heldout loss")
    three = [{"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 3, "c": 4}]
    assert detect("t", three) is None  # which two to plot is ambiguous

    openings = detect("openings", [{"text": "as a nurse", "count": 74, "share": 0.06},
                                   {"text": "as an engineer", "count": 87, "share": 0.07}])
    assert openings is not None and openings.kind == "bar" and openings.title == "openings: count"
    assert openings.labels == ("as an engineer", "as a nurse")
    clusters = detect("largest", [{"cluster": 6, "size": 101, "example": "Got the lamp"},
                                  {"cluster": 10, "size": 81, "example": "Got the stand"}])
    assert clusters is not None and clusters.kind == "bar" and clusters.values == (101.0, 81.0)

    ranges = detect("jaccard", {"0.90-0.95": 1, "0.80-0.85": 68, "0.85-0.90": 13})
    assert ranges is not None and ranges.labels == ("0.80-0.85", "0.85-0.90", "0.90-0.95")

    hist = detect("length", {"edges": [0, 1, 10, 100], "counts": [3, 5, 1], "scale": "log",
                             "unit": "words"})
    assert hist is not None and hist.log_x and hist.axis_labels == ("words", "records")
    for i, item in enumerate((spec, curve, hist)):
        svg = render_svg(item, f"r{i}")
        verify_svg(svg)
        assert "mathdefault" not in svg and "$" not in svg


def test_clean_label() -> None:
    assert clean_label("a\nb\x00c\u2028d") == "a b c d"
    assert len(clean_label("x" * 100)) == 28


def test_rendered_svg_is_self_contained_and_escapes_labels() -> None:
    value = {"<script>window.__xss=1</script>": 3, 'a" onload="x': 2, "$x^2$ 100%": 1,
             "http://evil.example/a.png": 4}
    spec = detect("label counts", value)
    assert spec is not None
    svg = render_svg(spec, "c0")
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert "xmlns" not in svg and "<metadata" not in svg and "<style" not in svg
    assert "$x^2$ 100%" in svg  # no mathtext: the label is shown as written
    for ref in re.findall(r'(?:href="|url\()#([^")]+)', svg):
        assert ref.startswith("c0-")
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("c0-") for i in ids)
    verify_svg(svg)  # does not raise


def test_every_kind_renders() -> None:
    details = {
        "bars": {"a": 1, "b": 2}, "grouped": {"s1": {"a": 1}, "s2": {"a": 2, "b": 1}},
        "curve": [{"x": i, "y": i * i, "low": i * i - 1, "high": i * i + 1} for i in range(300)],
        "rates": [{"group": "g", "rate": 0.5, "low": 0.4, "high": 0.6}],
        "hist": {"edges": [0, 1, 2, 3], "counts": [1, 4, 2]},
        "confusion": {"labels": ["a", "b"], "matrix": [[5, 1], [2, 7]]},
    }
    specs = find_charts(details, limit=10)
    assert sorted(s.kind for s in specs) == sorted(
        ["bar", "grouped", "line", "intervals", "histogram", "matrix"])
    for i, spec in enumerate(specs):
        svg = render_svg(spec, f"k{i}")
        verify_svg(svg)
        assert len(svg) < 25_000


@pytest.mark.parametrize("bad", [
    '<svg><script>alert(1)</script></svg>',
    '<svg><image href="data:image/png;base64,AAAA"/></svg>',
    '<svg><use href="http://evil.example/s.svg#a"/></svg>',
    '<svg><use xlink:href="other.svg#a"/></svg>',
    '<svg><path style="fill: url(http://evil.example/x)"/></svg>',
    '<svg onload="alert(1)"></svg>',
    '<svg><foreignObject><div></div></foreignObject></svg>',
    '<svg><style>@import "x.css";</style></svg>',
])
def test_verify_svg_rejects_anything_that_reaches_out(bad: str) -> None:
    with pytest.raises(UnsafeSvgError):
        verify_svg(bad)


def test_verify_svg_ignores_text_that_only_looks_dangerous() -> None:
    verify_svg('<svg><text>javascript: onload= url(http://x) &lt;script&gt;</text></svg>')


def test_sanitize_rejects_bad_ids_and_non_svg() -> None:
    with pytest.raises(ValueError):
        sanitize_svg("<svg></svg>", 'x" onload="y')
    with pytest.raises(UnsafeSvgError):
        sanitize_svg("<html></html>", "c0")


def test_chart_spec_is_plain_data() -> None:
    spec = ChartSpec(kind="bar", title="t", labels=("a",), values=(1.0,))
    assert spec == ChartSpec(kind="bar", title="t", labels=("a",), values=(1.0,))
