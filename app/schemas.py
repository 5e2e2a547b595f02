"""The bodies the REST API accepts, validated strictly: unknown fields are errors.

`parse_json_body` turns raw bytes into a validated model or an `APIError` that names
the field and says what would be accepted.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)

from app.errors import APIError
from jobs.pdf.brief import BriefOptions

MAX_JSON_DEPTH = 32


def _integral(value: Any) -> Any:
    """JSON Schema counts 30.0 as an integer; so do we (but never a bool or 30.5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


ProjectId = Annotated[
    Annotated[StrictInt, Field(gt=0)]
    | Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", strict=True)],
    BeforeValidator(_integral),
]

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BundleOptions(_Body):
    format: Literal["zip", "tar.gz"] = "zip"
    includePdf: StrictBool = False
    fresh: StrictBool | None = None  # true: render again even if an identical result exists


class VideoOptions(_Body):
    fresh: StrictBool | None = None  # true: render again even if an identical result exists


class PdfExportRequest(_Body):
    projectId: ProjectId
    options: BriefOptions | None = None


class ZipExportRequest(_Body):
    projectId: ProjectId
    includeMedia: StrictBool = False
    options: BundleOptions | None = None


class VideoExportRequest(_Body):
    projectId: ProjectId
    timeline: dict[str, Any] | None = None
    preset: str
    options: VideoOptions | None = None


def parse_json_body(raw: bytes, model: type[M]) -> M:
    """Decode and validate a request body."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise APIError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise APIError(400, "invalid_json", "the request body must be a JSON object")
    if _depth(value) > MAX_JSON_DEPTH:
        raise APIError(
            400,
            "json_too_deep",
            f"the request body is nested more than {MAX_JSON_DEPTH} levels deep",
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _api_error_of(exc) from exc


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
