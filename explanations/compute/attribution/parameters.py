"""Each method's parameters with their defaults, as stored with every explanation.

A view of :mod:`explanations.compute.registry`, the one declaration of every method,
kept so that ``explanations.compute.attribution`` offers the names its callers use.
"""

from collections.abc import Mapping

from explanations.compute.registry import method_family, method_names, method_parameters

METHODS: tuple[str, ...] = method_names()

METHOD_FAMILIES: Mapping[str, str] = {name: method_family(name) for name in METHODS}
"""The design document's ``ExplanationMethod.family`` of each method."""

__all__ = ["METHODS", "METHOD_FAMILIES", "method_parameters"]
