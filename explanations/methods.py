"""The explanation methods the platform knows, as their database rows describe them.

Derived from :mod:`explanations.compute.registry`, the one declaration of every method:
each entry is (family, description, parameters), the parameters being the registry's
declarations (name, default, accepted values, the model kinds they apply to).
"""

from typing import Any

from explanations.compute.registry import (
    method_declaration,
    method_description,
    method_family,
    method_names,
    stored_method_names,
)

KNOWN_METHODS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    name: (method_family(name), method_description(name), method_declaration(name))
    for name in (*method_names(), *stored_method_names())
}
