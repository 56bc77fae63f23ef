"""System check: every registered study type has its analysis (results section and answerer)."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error

from analysis.types.base import has_answerer, has_section, registered
from studies.types.base import type_names


def check_study_type_analyses(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Return an error for each study type without an analysis, a section or an answerer."""
    errors: list[CheckMessage] = []
    analyses = registered()
    for name in type_names():
        analysis = analyses.get(name)
        missing = (
            ["its results section", "its simulated answerer"]
            if analysis is None
            else [
                piece
                for piece, present in (
                    ("its results section", has_section(analysis)),
                    ("its simulated answerer", has_answerer(analysis)),
                )
                if not present
            ]
        )
        if not missing:
            continue
        where = (
            f"no analysis module registers study type {name!r}"
            if analysis is None
            else f"the analysis of study type {name!r} ({type(analysis).__module__})"
        )
        errors.append(
            Error(
                f"study type {name!r} is missing {' and '.join(missing)}: {where}.",
                hint=(
                    f"Add analysis/types/{name}.py (or an analysis_types module in the app "
                    "that defines the type) with a class decorated by "
                    "analysis.types.base.register, setting study_type, section_key and "
                    "section_title and defining section() and answer()."
                ),
                obj=name,
                id="analysis.E001",
            )
        )
    return errors
