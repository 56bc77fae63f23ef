"""OpenAPI schema post-processing: the error responses every operation can give, said once.

drf-spectacular documents the success responses an operation declares; the refusals that
come from the framework (not signed in, no such object, a field that fails validation)
are the same across the API, so they are added here rather than on each view.
"""

from typing import Any

ERROR_SCHEMA = "Error"
ERROR_COMPONENT: dict[str, Any] = {
    "type": "object",
    "description": (
        "Why the request was refused: `detail`, or one entry per field naming what was "
        "expected (a list of messages, or a nested object for nested fields)."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_DESCRIPTIONS = {
    "400": "Bad input: the body or query names each field and what was expected.",
    "403": "Not signed in (session or token), or not allowed to do this.",
    "404": "No such object visible to you, or no such page of results.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def error_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """Return the error status codes an operation can answer with.

    403 everywhere (every endpoint needs a signed-in user); 404 when the path names an
    object or the results are paged; 400 when there is input to refuse: a body, a query
    parameter, or a write whose state checks can fail (launching a launched study).
    """
    parameters = operation.get("parameters", [])
    query = [p for p in parameters if p.get("in") == "query"]
    codes = ["403"]
    if "{" in path or any(p["name"] == "page" for p in query):
        codes.append("404")
    if query or "requestBody" in operation or method in WRITE_METHODS:
        codes.append("400")
    return sorted(codes)


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Add the shared ``Error`` body and each operation's 400/403/404 (drf-spectacular hook).

    A response an operation declares itself (an import's list of problems) is kept; an
    error it declares with a description only gets the ``Error`` body.
    """
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = ERROR_COMPONENT
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in error_codes(path, method, operation):
                responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
            for code, response in responses.items():
                if code.startswith("4") and "content" not in response:
                    response["content"] = {"application/json": {"schema": reference}}
    return result
