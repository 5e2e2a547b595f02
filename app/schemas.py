"""Request bodies, validated strictly: unknown fields are errors.

`parse_json_body` turns raw bytes into a validated model (an export kind's request model
from `jobs.kinds`, or a door's own) or an `APIError` that names the field and says what
would be accepted. Every door parses through it, so a refusal reads the same everywhere.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ValidationError,
)

from app.errors import APIError

MAX_JSON_DEPTH = 32


M = TypeVar("M", bound=BaseModel)


def parse_json_body(raw: bytes, model: type[M]) -> M:
    """Decode and validate a request body."""
    return validate_body(read_json_object(raw), model)


def read_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a body that must be a JSON object, nested at most MAX_JSON_DEPTH levels."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise APIError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from exc
    _check_shape(value)
    return value  # type: ignore[no-any-return]


def validate_body(value: Any, model: type[M]) -> M:
    """Validate a decoded body (a JSON object) with `model`."""
    _check_shape(value)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _api_error_of(exc) from exc


def _check_shape(value: Any) -> None:
    if not isinstance(value, dict):
        raise APIError(400, "invalid_json", "the request body must be a JSON object")
    if _depth(value) > MAX_JSON_DEPTH:
        raise APIError(
            400,
            "json_too_deep",
            f"the request body is nested more than {MAX_JSON_DEPTH} levels deep",
        )


def _api_error_of(exc: ValidationError) -> APIError:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
    kind = error["type"]
    if kind == "extra_forbidden":
        return APIError(
            422, "unknown_field", f"{field} is not a field this endpoint accepts", field=field
        )
    if kind == "missing":
        return APIError(422, "missing_field", f"{field} is required", field=field)
    return APIError(422, "invalid_field", f"{field}: {error['msg']}", field=field)


def _is_union_tag(part: Any) -> bool:
    # pydantic names union branches in the location ("int", "constrained-str"): hide them.
    return isinstance(part, str) and (
        part in {"int", "str"} or part.startswith(("constrained-", "function-"))
    )


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level
