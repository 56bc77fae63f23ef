"""Server-side plots of a study's results, as SVG (inline and download) and PNG.

Each plot is drawn from the JSON data the analysis stores under ``results["plots"]``
(so a plot in an export can be redrawn from ``results.json``). Colours come from the
Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), safe for the common
colour-vision deficiencies; every method also has its own marker, so the plots read in
grey. The ``random`` control is always drawn in black, and listed even when a study
lacks it. SVG output is deterministic (fixed hash salt, no date), so exports diff cleanly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from analysis.services.inputs import CONTROL_METHOD, NO_EXPLANATION, NO_HIGHLIGHTS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CONTROL_COLOUR = "#000000"
# Okabe-Ito without black (kept for the control) and with yellow last (low contrast on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "<", ">")
CONTROL_MARKER = "X"
# A condition without any explanation (a task's baseline) is drawn in grey.
BASELINES = (NO_HIGHLIGHTS, NO_EXPLANATION)
NO_EXPLANATION_STYLE = ("#777777", "o")
FORMATS = ("svg", "png")
PNG_DPI = 150


def method_styles(methods: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Return a (colour, marker) per method, stable for a given list of methods."""
    styles: dict[str, tuple[str, str]] = {}
    others = [m for m in methods if m != CONTROL_METHOD]
    for k, method in enumerate(others):
        styles[method] = (PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)])
    styles[CONTROL_METHOD] = (CONTROL_COLOUR, CONTROL_MARKER)
    return styles


def _number(value: float | None, digits: int = 2) -> str:
    """Return a short number for a legend, with a real minus sign; a dash if undefined."""
    if value is None:
        return "—"
    return f"{value:.{digits}f}".replace("-", "−")


def _interval(ci: Mapping[str, Any] | None) -> str:
    if not ci or ci.get("lower") is None or ci.get("upper") is None:
        return "no CI"
    return f"[{_number(ci['lower'])}, {_number(ci['upper'])}]"


def _rows_with_control(methods: Sequence[str]) -> list[str]:
    """Return methods top to bottom with the control last, added if the study lacks it."""
    ordered = [m for m in methods if m != CONTROL_METHOD]
    return [*ordered, CONTROL_METHOD]


def _method_axis(ax: Axes, rows: Sequence[str], present: set[str]) -> None:
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(
        [
            (f"{m} (control)" if m in present else f"{m} (control; not in study)")
            if m == CONTROL_METHOD
            else m
            for m in rows
        ]
    )
    ax.set_ylim(len(rows) - 0.5, -0.5)


def _method_means(fig: Figure, spec: Mapping[str, Any]) -> None:
    """Draw each method's mean rating with its interval over the per-explanation means."""
    rows_by_method = {r["method"]: r for r in spec["rows"]}
    rows = _rows_with_control(list(rows_by_method))
    styles = method_styles(list(rows_by_method))
    ax = fig.subplots()
    low, high = spec["scale"]
    for y, method in enumerate(rows):
        colour, marker = styles.get(method, (CONTROL_COLOUR, CONTROL_MARKER))
        values = spec["explanation_means"].get(method, [])
        jitter = [y + 0.25 * (((k * 7) % 11) / 10 - 0.5) for k in range(len(values))]
        ax.scatter(values, jitter, s=12, color=colour, alpha=0.35, marker=marker, linewidths=0.6)
        row = rows_by_method.get(method)
        if row is None or row["estimate"] is None:
            note = "not in this study" if row is None else "no answers"
            ax.text((low + high) / 2, y, note, va="center", ha="center", color="#555")
            continue
        ci = row.get("ci") or {}
        if ci.get("lower") is not None and ci.get("upper") is not None:
            ax.plot([ci["lower"], ci["upper"]], [y, y], color=colour, linewidth=2.2)
        ax.scatter(
            [row["estimate"]],
            [y],
            s=60,
            color=colour,
            marker=marker,
            zorder=3,
            edgecolors="white",
            linewidths=0.8,
        )
    _method_axis(ax, rows, set(rows_by_method))
    ax.set_xlim(low - 0.2, high + 0.2)
    ax.set_xlabel(spec["x_label"])
    ax.grid(axis="x", color="#ddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _scatter(fig: Figure, spec: Mapping[str, Any]) -> None:
    """Draw mean rating against faithfulness per explanation, one colour per method."""
    methods = list(spec["methods"])
    styles = method_styles(methods)
    ax = fig.subplots()
    drawn = 0
    for method in _rows_with_control(methods):
        colour, marker = styles[method]
        points = spec["points"].get(method, [])
        found = spec["per_method"].get(method)
        if found is None:
            label = (
                f"{method}: not in this study" if method not in methods else f"{method}: no data"
            )
        else:
            label = (
                f"{method}: ρ = {_number(found['estimate'])} {_interval(found['ci'])}, "
                f"n = {found['n_explanations']}"
            )
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.scatter(
            xs, ys, s=22, color=colour, marker=marker, alpha=0.8, label=label, linewidths=0.8
        )
        drawn += len(points)
    if drawn == 0:
        ax.text(
            0.5,
            0.5,
            "no explanation has both a rating and a score",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#555",
        )
    overall = spec.get("overall")
    title = spec["title"]
    if overall is not None:
        title += (
            f"\nall methods: ρ = {_number(overall['estimate'])} {_interval(overall['ci'])}, "
            f"n = {overall['n_explanations']}"
        )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(spec["x_label"])
    ax.set_ylabel(spec["y_label"])
    ax.grid(color="#eee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8,
        frameon=False,
        title=spec["statistic"] + " with interval",
        title_fontsize=8,
    )


def _strengths(fig: Figure, spec: Mapping[str, Any]) -> None:
    """Draw each method's Bradley-Terry log strength with its interval."""
    rows_by_method = {r["method"]: r for r in spec["rows"]}
    rows = _rows_with_control(list(rows_by_method))
    styles = method_styles(list(rows_by_method))
    ax = fig.subplots()
    for y, method in enumerate(rows):
        colour, marker = styles.get(method, (CONTROL_COLOUR, CONTROL_MARKER))
        row = rows_by_method.get(method)
        if row is None or row["log_strength"] is None:
            note = "not in this study" if row is None else "undefined"
            ax.text(0, y, note, va="center", ha="center", color="#555")
            continue
        ci = row.get("ci") or {}
        if ci.get("lower") is not None and ci.get("upper") is not None:
            ax.plot([ci["lower"], ci["upper"]], [y, y], color=colour, linewidth=2.2)
        ax.scatter([row["log_strength"]], [y], s=60, color=colour, marker=marker, zorder=3)
    ax.axvline(0, color="#777", linewidth=0.8)
    _method_axis(ax, rows, set(rows_by_method))
    ax.set_xlabel(spec["x_label"])
    if spec.get("reason"):
        ax.set_title(spec["reason"], fontsize=8, color="#555", wrap=True)
    ax.grid(axis="x", color="#ddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _estimates(fig: Figure, spec: Mapping[str, Any]) -> None:
    """Draw one estimate with its interval per row (conditions of a task)."""
    rows = list(spec["rows"])
    methods = list(dict.fromkeys(r["method"] for r in rows if r["method"] not in BASELINES))
    styles = {**method_styles(methods), **{m: NO_EXPLANATION_STYLE for m in BASELINES}}
    if not any(r["method"] == CONTROL_METHOD for r in rows):
        rows.append(
            {"label": CONTROL_METHOD, "method": CONTROL_METHOD, "estimate": None, "missing": True}
        )
    ax = fig.subplots()
    low, high = spec["limits"]
    for y, row in enumerate(rows):
        colour, marker = styles.get(row["method"], ("#555555", "o"))
        if row.get("missing") or row["estimate"] is None:
            note = "not in this study" if row.get("missing") else "undefined"
            ax.text((low + high) / 2, y, note, va="center", ha="center", color="#555")
            continue
        ci = row.get("ci") or {}
        if ci.get("lower") is not None and ci.get("upper") is not None:
            ax.plot([ci["lower"], ci["upper"]], [y, y], color=colour, linewidth=2.2)
        ax.scatter([row["estimate"]], [y], s=60, color=colour, marker=marker, zorder=3)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(
        [f"{r['label']} (control)" if r["method"] == CONTROL_METHOD else r["label"] for r in rows]
    )
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(low - 0.02, high + 0.02)
    ax.set_xlabel(spec["x_label"])
    ax.grid(axis="x", color="#ddd", linewidth=0.6)
    ax.set_axisbelow(True)


DRAWERS: dict[str, tuple[Callable[[Figure, Mapping[str, Any]], None], tuple[float, float]]] = {
    "method_means": (_method_means, (7.0, 3.2)),
    "scatter": (_scatter, (9.0, 4.8)),
    "strengths": (_strengths, (7.0, 3.2)),
    "estimates": (_estimates, (7.0, 3.2)),
}


def _figure(spec: Mapping[str, Any]) -> Figure:
    draw, size = DRAWERS[spec["kind"]]
    width, height = size
    if spec["kind"] in ("method_means", "strengths", "estimates"):
        height = 1.3 + 0.45 * (len(spec["rows"]) + 1)
    from matplotlib.figure import Figure  # see plot_render

    fig = Figure(figsize=(width, height), layout="constrained")
    draw(fig, spec)
    if spec["kind"] != "scatter":
        fig.suptitle(spec["title"], fontsize=11)
    return fig


def plot_render(spec: Mapping[str, Any], *, name: str, fmt: str) -> bytes:
    """Return plot ``name`` drawn from ``spec`` as ``fmt`` ("svg" or "png") bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    # Imported here, not at the top: matplotlib (tens of MB) is needed when a plot is drawn,
    # not by every web process that imports the views. Figures are drawn without pyplot,
    # so no backend is chosen.
    import matplotlib

    with matplotlib.rc_context(
        {"svg.hashsalt": f"elephant-{name}", "svg.fonttype": "none", "font.size": 9}
    ):
        fig = _figure(spec)
        out = io.BytesIO()
        if fmt == "svg":
            fig.savefig(out, format="svg", metadata={"Date": None})
        else:
            fig.savefig(out, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return out.getvalue()


def svg_inline(svg: bytes) -> str:
    """Return an SVG document (from :func:`plot_render`) as an ``<svg>`` element for HTML."""
    text = svg.decode("utf-8")
    return text[text.index("<svg") :]


def plot_svg_inline(spec: Mapping[str, Any], *, name: str) -> str:
    """Return the plot as an ``<svg>`` element to put straight into an HTML page."""
    return svg_inline(plot_render(spec, name=name, fmt="svg"))
