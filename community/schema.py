"""drf-spectacular post-processing: every operation documents the errors the
platform answers with (a client can rely on the body shape), so a schema-driven
test accepts nothing else."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"description": "What was wrong, for a person to read."},
        "code": {"type": "string"},
        "field": {"type": "string", "description": "The input field at fault, when there is one."},
    },
    "additionalProperties": True,
}
ERRORS = {
    "400": "Bad input: the message names the field",
    "401": "Not logged in: send `Authorization: Token <key>` (see /api/v1/auth/token/)",
    "403": "Logged in, but your role does not allow this",
    "404": "Not found, or not visible to you",
}


def document_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
            if operation.get("security") == [{}] or not operation.get("security", True):
                continue
            responses.setdefault(
                "429",
                {"description": "Too many requests", "content": {"application/json": {"schema": ref}}},
            )
    return result
