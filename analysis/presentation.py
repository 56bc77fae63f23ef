"""Arrange a study's results for its page and its offline report (one layout for both)."""

from collections.abc import Callable, Mapping
from typing import Any

from analysis.services.inputs import CONTROL_METHOD
from analysis.services.tables import metric_slug
from analysis.types.base import registered

PlotLinks = Callable[[str, str], str]


def _plot(name: str, svgs: Mapping[str, str], link: PlotLinks, title: str) -> dict[str, Any] | None:
    if name not in svgs:
        return None
    return {
        "name": name,
        "title": title,
        "svg": svgs[name],
        "svg_url": link(name, "svg"),
        "png_url": link(name, "png"),
    }


def _with_control(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Return ``rows`` with a placeholder row for the control when the study lacks it."""
    if any(r[key] == CONTROL_METHOD for r in rows):
        return rows
    return [*rows, {key: CONTROL_METHOD, "missing": True}]


def _rating(section: dict[str, Any], svgs: Mapping[str, str], link: PlotLinks) -> dict[str, Any]:
    metrics = []
    models = {m["metric"]: m for m in section.get("mixed_models", [])}
    for metric in section.get("metrics", []):
        rows = [c for c in section.get("correlations", []) if c["metric"] == metric]
        metrics.append(
            {
                "metric": metric,
                "correlations": rows,
                "model": models.get(metric),
                "plot": _plot(
                    f"plausibility_vs_{metric_slug(metric)}",
                    svgs,
                    link,
                    f"Mean plausibility rating against {metric}, one colour per method",
                ),
            }
        )
    return {
        **section,
        "method_rows": _with_control(list(section.get("method_means", [])), "method"),
        "metric_blocks": metrics,
        "model_without_metric": models.get(None),
        "means_plot": _plot(
            "ratings_by_method", svgs, link, "Mean rating per method with its interval"
        ),
    }


def _preference(
    section: dict[str, Any], svgs: Mapping[str, str], link: PlotLinks
) -> dict[str, Any]:
    strengths = section.get("strengths") or {}
    faithfulness = section.get("mean_faithfulness") or {}
    methods = list(section.get("methods", []))
    return {
        **section,
        "strength_rows": _with_control(list(strengths.get("methods", [])), "method"),
        "faithfulness_rows": [
            {"metric": metric, "values": [values.get(m) for m in methods]}
            for metric, values in faithfulness.items()
        ],
        "strengths_plot": _plot(
            "strengths_by_method", svgs, link, "Bradley-Terry log strength per method"
        ),
    }


def _aided(section: dict[str, Any], svgs: Mapping[str, str], link: PlotLinks) -> dict[str, Any]:
    return {
        **section,
        "plot": _plot(
            "accuracy_by_condition", svgs, link, "Accuracy per condition with its interval"
        ),
    }


def _simulation(
    section: dict[str, Any], svgs: Mapping[str, str], link: PlotLinks
) -> dict[str, Any]:
    return {
        **section,
        "plot": _plot(
            "simulation_effect_by_condition",
            svgs,
            link,
            "Simulation effect per condition with its interval",
        ),
    }


def analysis_context(
    results: dict[str, Any], svgs: Mapping[str, str], link: PlotLinks
) -> dict[str, Any]:
    """Return the template context of the results; ``link(name, fmt)`` gives a plot's URL."""
    sections = results.get("sections", {})
    return {
        "results": results,
        "rating": _rating(sections["rating"], svgs, link) if "rating" in sections else None,
        "preference": _preference(sections["preference"], svgs, link)
        if "preference" in sections
        else None,
        "aided": _aided(sections["aided"], svgs, link) if "aided" in sections else None,
        "rationales": sections.get("rationales"),
        "review": sections.get("review"),
        "simulation": _simulation(sections["simulation"], svgs, link)
        if "simulation" in sections
        else None,
        "drawn_sections": _drawn_sections(results),
    }


def _drawn_sections(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the sections whose type brings its own template: template and section."""
    analysis = registered().get(str(results.get("study", {}).get("type")))
    section = results.get("sections", {}).get(analysis.section_key) if analysis else None
    if analysis is None or section is None or analysis.section_template is None:
        return []
    return [{"template": analysis.section_template, "section": section}]
