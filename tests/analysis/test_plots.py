"""Plots: deterministic SVG, PNG, Okabe-Ito colours, the random control always listed."""

import xml.etree.ElementTree as ET

import pytest

from analysis.plots import PALETTE, method_styles, plot_render, plot_svg_inline

MEANS = {
    "kind": "method_means",
    "title": "Mean plausibility rating per method",
    "x_label": "rating",
    "scale": [1, 5],
    "rows": [
        {"method": "gradient", "estimate": 3.2, "ci": {"lower": 2.9, "upper": 3.5}},
        {"method": "lrp", "estimate": None, "ci": None},
    ],
    "control": "random",
    "explanation_means": {"gradient": [3.0, 3.5], "lrp": []},
}
SCATTER = {
    "kind": "scatter",
    "title": "Plausibility vs tau_loo",
    "x_label": "faithfulness",
    "y_label": "plausibility",
    "methods": ["gradient", "random"],
    "points": {"gradient": [[0.1, 3.0, 2.0], [0.4, 4.0, 2.0]], "random": [[0.2, 2.0, 2.0]]},
    "overall": {"estimate": 0.5, "ci": {"lower": -0.2, "upper": 0.9}, "n_explanations": 3},
    "per_method": {"gradient": {"estimate": 1.0, "ci": None, "n_explanations": 2}},
    "statistic": "Spearman's rho",
}


def test_svg_is_deterministic_valid_and_says_what_is_missing():
    svg = plot_render(MEANS, name="ratings_by_method", fmt="svg")
    assert svg == plot_render(MEANS, name="ratings_by_method", fmt="svg")
    ET.fromstring(svg)  # noqa: S314  (well-formed XML; our own output, not untrusted)
    text = svg.decode()
    assert "random (control; not in study)" in text
    assert "not in this study" in text
    assert "no answers" in text
    assert PALETTE[0] in text or PALETTE[0].lower() in text


def test_scatter_legend_carries_each_correlation_with_its_interval():
    text = plot_render(SCATTER, name="plausibility_vs_tau_loo", fmt="svg").decode()
    assert "ρ = 0.50 [−0.20, 0.90], n = 3" in text
    assert "gradient: ρ = 1.00 no CI, n = 2" in text
    assert "random: no data" in text
    empty = {**SCATTER, "points": {}, "overall": None, "per_method": {}}
    assert "no explanation has both a rating and a score" in plot_svg_inline(empty, name="e")


def test_png_and_unknown_format():
    png = plot_render(SCATTER, name="s", fmt="png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="svg, png"):
        plot_render(SCATTER, name="s", fmt="gif")


def test_styles_are_stable_and_the_control_is_black():
    styles = method_styles(["gradient", "lrp", "random"])
    assert styles["random"][0] == "#000000"
    assert styles["gradient"][0] == PALETTE[0]
    assert styles == method_styles(["gradient", "lrp", "random"])
    assert len({s[0] for s in styles.values()}) == 3
