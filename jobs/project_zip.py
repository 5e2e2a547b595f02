"""The ZIP bundle of a project: its record, its scripts and a manifest of checksums."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from jobs.context import Artifact, ExportContext
from jobs.paths import UniqueNames, safe_component, slugify
from jobs.project_data import fetch_project, fetch_scripts


def build(ctx: ExportContext) -> Artifact:
    ctx.progress.report("fetching project", 5)
    project = fetch_project(ctx, depth=0)
    scripts = fetch_scripts(ctx)
    ctx.progress.report("bundling", 40)
    path = ctx.workdir / "bundle.zip"
    names = UniqueNames()
    entries: list[dict[str, Any]] = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries.append(_add_json(archive, names.claim("project.json"), project))
        for script in scripts:
            stem = safe_component(str(script.get("title") or f"script-{script.get('id')}"))
            name = names.claim(f"scripts/{int(script.get('order') or 0):03d}-{stem}.json")
            entry = _add_json(archive, name, script)
            entries.append({**entry, "sourceId": script.get("id")})
        manifest = _manifest(ctx, project, entries)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    ctx.progress.report("bundling", 85)
    title = str(project.get("title") or f"project-{ctx.project_id}")
    return Artifact(
        path=path,
        filename=f"{slugify(title)}-bundle.zip",
        mime_type="application/zip",
        metadata={"sha256": _sha256_of(path), "fileCount": len(entries) + 1},
    )


def _add_json(archive: zipfile.ZipFile, name: str, value: Any) -> dict[str, Any]:
    data = json.dumps(value, indent=2, ensure_ascii=False).encode()
    archive.writestr(name, data)
    return {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "mimeType": "application/json"}


def _manifest(ctx: ExportContext, project: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "projectId": ctx.project_id,
        "title": project.get("title"),
        "exportedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "jobId": ctx.job.job_id,
        "serviceVersion": ctx.settings.service_version,
        "files": files,
    }


def _sha256_of(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fileobj:
        for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
