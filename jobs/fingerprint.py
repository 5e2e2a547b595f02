"""A fingerprint of everything an export depends on, so the same work is never done twice.

    fingerprint = compute(ctx, {"data": docs_digest(...), "options": ..., "template": ...})

It is a SHA-256 over canonical JSON of: the export type, the project id, the service
version, and what the export kind says its result depends on (`depends_on(ctx)` in each
kind's module): the project, scripts and media documents as the worker read them with
the service's own credentials (so a request cannot forge them), the request's params
with its options as validated (defaults filled in, `fresh` left out, so `{}` and
`{"draft": false}` match; locale and draft state included),
and for rendered output the template's files and the renderer's versions.

Documents are hashed by content, which covers `updatedAt` and the media's `sha256`,
`filesize` and `filename`; keys that change without the content changing (signed file
URLs, a user's login sessions) are left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from jobs.context import ExportContext

#: Bump when what a fingerprint covers changes, so older results stop matching.
FINGERPRINT_VERSION = 1
#: Keys left out of documents: they change without what an export shows changing.
VOLATILE_KEYS = frozenset(
    {"url", "thumbnailURL", "sessions", "loginAttempts", "lockUntil", "resetPasswordToken",
     "resetPasswordExpiration", "_verificationToken", "apiKeyIndex"}
)  # fmt: skip
#: The PDF renderer: a new version of any of these may change the output.
RENDERER_DISTRIBUTIONS = ("xhtml2pdf", "reportlab", "rl-accel", "pillow", "pypdf", "jinja2")


def compute(ctx: ExportContext, parts: Mapping[str, Any]) -> str:
    """The fingerprint of this job's export, given what its kind depends on."""
    base = {
        "v": FINGERPRINT_VERSION,
        "type": ctx.job.type.value,
        "project": str(ctx.project_id),
        "service": ctx.settings.service_version,
        **parts,
    }
    return hashlib.sha256(canonical_json(base)).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        _without_volatile(value), sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def _without_volatile(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list | tuple):
        return [_without_volatile(v) for v in value]
    return value


def docs_digest(docs: Iterable[Any]) -> str:
    """One digest of documents as read (order matters: it is the export's order)."""
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(hashlib.sha256(canonical_json(doc)).digest())
    return digest.hexdigest()


def other_params(params: Mapping[str, Any], *validated: str) -> dict[str, Any]:
    """The request's params but `options` and the `validated` ones: those a kind puts in
    its fingerprint as validated (defaults filled in, `fresh` left out), so that `{}` and
    the defaults spelled out are the same result."""
    left_out = {"options", *validated}
    return {k: v for k, v in params.items() if k not in left_out}


def wants_fresh(params: Mapping[str, Any]) -> bool:
    """`options.fresh: true` asks for a new render whatever was done before."""
    options = params.get("options")
    return isinstance(options, Mapping) and options.get("fresh") is True


@cache
def renderer_versions() -> dict[str, str]:
    versions = {}
    for name in RENDERER_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def files_digest(folders: Sequence[Path]) -> str:
    """A digest of every file below `folders` (names and content).

    Cached per file by (size, mtime): the warm worker hashes the shipped fonts once
    (`jobs.preload`) and every work horse inherits the result.
    """
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            stat = path.stat()
            relative = path.relative_to(folder).as_posix()
            content = _file_sha256(path, stat.st_size, stat.st_mtime_ns)
            digest.update(f"{relative}\0{content}\0".encode())
    return digest.hexdigest()


@cache
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
