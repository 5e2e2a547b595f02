"""The services engine: the platform's video-processing and transcoding services do the work.

    render:     POST the resolved timeline (media as URLs) to the video-processing service,
                poll it with backoff until it has an output
    transcode:  POST that output's URL and the preset to the transcoding service, poll
    download:   stream its output into the work folder through a guarded fetch
                (only the services' origins and EXPORT_ALLOWED_MEDIA_ORIGINS)

docs/video-services.md is the HTTP contract. `HttpJobService` is that contract in one
small class; a service with another contract is another class with the same three
methods (`JobService`). Every submission carries an `Idempotency-Key` derived from the
job id, so a retried submission (or a re-run of the job) finds the render already started
instead of starting a second one; that is also why failed submissions are retried.
A remote job that outlives its timeout, or whose export is stopped, is cancelled (DELETE).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import requests

from cms_client.fetch import (
    DownloadResult,
    FetchError,
    FetchPolicy,
    copy_to,
    iter_checked,
    open_stream,
    origin_of,
)
from jobs.video.engine import (
    RenderCancelled,
    RenderRequest,
    RenderResult,
    VideoServiceError,
    VideoServiceTimeout,
    VideoServiceUnavailable,
)
from jobs.video.engine.probe import MediaInfo, NotMP4, probe_mp4
from jobs.video.timeline import RenderPlan, Source

if TYPE_CHECKING:
    from app.settings import Settings

logger = logging.getLogger(__name__)

SUBMIT_ATTEMPTS = 3
BACKOFF_FACTOR = 1.5
MAX_MESSAGE_CHARS = 300
STATES = frozenset({"queued", "running", "succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class RemoteJob:
    """A service's job as its last answer described it; `progress` is 0–1."""

    id: str
    state: str
    progress: float = 0.0
    error: str | None = None
    output: Mapping[str, Any] | None = None


class JobService(Protocol):
    """A remote service that runs jobs: submit, read, cancel."""

    name: str
    origin: str

    def submit(self, body: Mapping[str, Any], *, idempotency_key: str) -> RemoteJob: ...

    def status(self, remote_id: str) -> RemoteJob: ...

    def cancel(self, remote_id: str) -> None: ...


class RemoteJobFailed(VideoServiceError):
    """The service ran the job and reports it failed or cancelled (no need to cancel it)."""


class HttpJobService:
    """One service speaking docs/video-services.md: POST a job, GET it, DELETE it."""

    def __init__(
        self,
        name: str,
        base_url: str,
        path: str,
        *,
        session: requests.Session,
        token: str | None,
        timeout: tuple[float, float],
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.jobs_url = f"{self.base_url}{path}"
        self.origin = origin_of(self.base_url)
        self._session = session
        self._token = token
        self._timeout = timeout

    def __repr__(self) -> str:  # never show the token
        return f"HttpJobService({self.name!r}, {self.jobs_url!r})"

    def submit(self, body: Mapping[str, Any], *, idempotency_key: str) -> RemoteJob:
        response = self._call(
            "POST", self.jobs_url, json=dict(body), headers={"Idempotency-Key": idempotency_key}
        )
        return self._job_of(response)

    def status(self, remote_id: str) -> RemoteJob:
        return self._job_of(self._call("GET", self._job_url(remote_id)))

    def cancel(self, remote_id: str) -> None:
        try:
            self._call("DELETE", self._job_url(remote_id))
        except VideoServiceError as exc:
            if exc.status != 404:  # already gone is as good as cancelled
                raise

    def authorization_for(self, url: str) -> dict[str, str]:
        """Headers for a download: the token goes to this service's own origin only."""
        if self._token and origin_of(url) == self.origin:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def _job_url(self, remote_id: str) -> str:
        return f"{self.jobs_url}/{quote(remote_id, safe='')}"

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = {
            "Accept": "application/json",
            **kwargs.pop("headers", {}),
            **self.authorization_for(url),
        }
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise VideoServiceUnavailable(
                f"{self.name} at {self.base_url} did not answer {method} "
                f"{url.removeprefix(self.base_url)}: {exc.__class__.__name__}"
            ) from exc
        if response.status_code >= 400:
            kind = VideoServiceUnavailable if response.status_code >= 500 else VideoServiceError
            raise kind(
                f"{self.name} answered {response.status_code} to {method} "
                f"{url.removeprefix(self.base_url)}: {_message_of(response)}",
                status=response.status_code,
            )
        return response

    def _job_of(self, response: requests.Response) -> RemoteJob:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("id") or body.get("state") not in STATES:
            raise VideoServiceError(
                f"{self.name} answered {response.request.method} "
                f"{response.url.removeprefix(self.base_url)} without a job "
                "(expected JSON with 'id' and a known 'state')"
            )
        error = body.get("error")
        output = body.get("output")
        return RemoteJob(
            id=str(body["id"]),
            state=str(body["state"]),
            progress=_fraction(body.get("progress")),
            error=_message_from(error) if error else None,
            output=output if isinstance(output, dict) else None,
        )


def _fraction(percent: Any) -> float:
    if isinstance(percent, int | float) and not isinstance(percent, bool):
        return max(0.0, min(1.0, float(percent) / 100))
    return 0.0


def _message_from(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("message") or value.get("detail") or value.get("error") or ""
    return str(value)[:MAX_MESSAGE_CHARS] or "no reason given"


def _message_of(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:MAX_MESSAGE_CHARS] or "no message"
    if isinstance(body, dict):
        return _message_from(body.get("error") or body.get("message") or body.get("detail"))
    return "no message"


@dataclass(frozen=True)
class PollTiming:
    """How one remote stage is polled: first wait, backoff cap, give-up time (seconds)."""

    interval_s: float
    max_interval_s: float
    timeout_s: float
    setting: str  # the variable that sets `timeout_s`, for the error sentence


class OutputDownloader:
    """Streams a service's output to a file, under a fetch policy of the allowed origins."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        timeout: tuple[float, float],
        max_bytes: int,
        headers_for: Callable[[str], Mapping[str, str]],
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._headers_for = headers_for

    def download(self, url: str, target: Path, *, expected_size: int | None) -> DownloadResult:
        try:
            response = open_stream(
                url,
                policy=self._policy,
                headers_for=self._headers_for,
                timeout=self._timeout,
            )
            with response, target.open("wb") as out:
                chunks = iter_checked(
                    response,
                    url=response.url,
                    max_bytes=self._max_bytes,
                    expected_size=expected_size,
                )
                return copy_to(chunks, out)
        except FetchError as exc:
            raise VideoServiceError(f"could not download the transcoded video: {exc}") from exc


class ServicesEngine:
    """Delegates rendering and transcoding to the platform's services."""

    name = "services"
    stages: Mapping[str, tuple[float, float]] = {
        "rendering": (2.0, 50.0),
        "transcoding": (50.0, 80.0),
        "downloading result": (80.0, 88.0),
    }

    def __init__(
        self,
        processing: JobService,
        transcoding: JobService,
        downloader: OutputDownloader,
        *,
        render_timing: PollTiming,
        transcode_timing: PollTiming,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.processing = processing
        self.transcoding = transcoding
        self.downloader = downloader
        self.render_timing = render_timing
        self.transcode_timing = transcode_timing
        self._clock = clock
        self._cancelled = threading.Event()
        # Waiting on the event means cancel() cuts a wait short.
        self._sleep = sleep or self._cancelled.wait

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> ServicesEngine:
        video = settings.video
        assert video.processing_url and video.transcoding_url, "both service URLs are needed"
        session = session or requests.Session()
        token = str(video.token) if video.token is not None else None
        timeout = (settings.http_connect_timeout_s, settings.http_read_timeout_s)
        processing = HttpJobService(
            "video-processing service",
            video.processing_url,
            video.processing_path,
            session=session,
            token=token,
            timeout=timeout,
        )
        transcoding = HttpJobService(
            "transcoding service",
            video.transcoding_url,
            video.transcoding_path,
            session=session,
            token=token,
            timeout=timeout,
        )
        origins = {processing.origin, transcoding.origin, *settings.allowed_media_origins}

        def headers_for(url: str) -> dict[str, str]:
            return {
                "Accept-Encoding": "identity",
                **processing.authorization_for(url),
                **transcoding.authorization_for(url),
            }

        downloader = OutputDownloader(
            FetchPolicy(allowed_origins=frozenset(origins)),
            timeout=timeout,
            max_bytes=settings.limits.max_file_bytes,
            headers_for=headers_for,
        )
        return cls(
            processing,
            transcoding,
            downloader,
            render_timing=PollTiming(
                video.poll_interval_s,
                video.poll_max_interval_s,
                video.render_timeout_s,
                "VIDEO_RENDER_TIMEOUT_S",
            ),
            transcode_timing=PollTiming(
                video.poll_interval_s,
                video.poll_max_interval_s,
                video.transcode_timeout_s,
                "VIDEO_TRANSCODE_TIMEOUT_S",
            ),
            clock=clock,
            sleep=sleep,
        )

    def cancel(self) -> None:
        """Stop waiting now; the remote job in progress is then cancelled (DELETE)."""
        self._cancelled.set()

    def render(self, request: RenderRequest) -> RenderResult:
        plan = request.plan
        rendered = self._run_remote(
            self.processing,
            render_body(request),
            key=f"export-{request.job_id}-render",
            stage="rendering",
            timing=self.render_timing,
            request=request,
        )
        rendered_url = _output_url(rendered, self.processing)
        transcoded = self._run_remote(
            self.transcoding,
            transcode_body(request, rendered_url, rendered),
            key=f"export-{request.job_id}-transcode",
            stage="transcoding",
            timing=self.transcode_timing,
            request=request,
        )
        request.progress("downloading result", 0.0)
        output = transcoded.output or {}
        size = output.get("bytes")
        target = request.workdir / f"video{plan.preset.extension}"
        download = self.downloader.download(
            _output_url(transcoded, self.transcoding),
            target,
            expected_size=size if isinstance(size, int) and size >= 0 else None,
        )
        request.progress("downloading result", 1.0)
        logger.info("job %s: transcoded video downloaded, %d bytes", request.job_id, download.bytes)
        return RenderResult(
            path=target, info=_info_of(target, output, plan), sha256=download.sha256
        )

    # -- one remote stage ----------------------------------------------------------------

    def _run_remote(
        self,
        service: JobService,
        body: Mapping[str, Any],
        *,
        key: str,
        stage: str,
        timing: PollTiming,
        request: RenderRequest,
    ) -> RemoteJob:
        job = self._submit(service, body, key, timing, request)
        logger.info(
            "job %s: %s job %s submitted (Idempotency-Key %s)",
            request.job_id,
            service.name,
            job.id,
            key,
        )
        try:
            return self._poll(service, job, stage, timing, request)
        except RemoteJobFailed:
            raise
        except BaseException:
            self._cancel_remote(service, job.id, request.job_id)
            raise

    def _submit(
        self,
        service: JobService,
        body: Mapping[str, Any],
        key: str,
        timing: PollTiming,
        request: RenderRequest,
    ) -> RemoteJob:
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            self._raise_if_stopped(request, service, None)
            try:
                return service.submit(body, idempotency_key=key)
            except VideoServiceUnavailable as exc:
                # Safe to repeat: the same key can only ever name the same job.
                if attempt == SUBMIT_ATTEMPTS:
                    raise
                logger.warning(
                    "job %s: %s; submitting again (attempt %d of %d)",
                    request.job_id,
                    exc,
                    attempt + 1,
                    SUBMIT_ATTEMPTS,
                )
                self._sleep(timing.interval_s * attempt)
        raise AssertionError("unreachable")

    def _poll(
        self,
        service: JobService,
        job: RemoteJob,
        stage: str,
        timing: PollTiming,
        request: RenderRequest,
    ) -> RemoteJob:
        deadline = self._clock() + timing.timeout_s
        delay = timing.interval_s
        while True:
            if job.state == "succeeded":
                request.progress(stage, 1.0)
                return job
            if job.state in ("failed", "cancelled"):
                verb = "failed" if job.state == "failed" else "cancelled the job"
                raise RemoteJobFailed(f"{service.name} {verb}: {job.error or 'no reason given'}")
            request.progress(stage, job.progress)
            self._raise_if_stopped(request, service, job)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise VideoServiceTimeout(
                    f"{service.name} did not finish job {job.id} within "
                    f"{timing.timeout_s:g} s ({timing.setting}); it was asked to cancel it "
                    "and nothing was uploaded"
                )
            self._sleep(min(delay, remaining))
            delay = min(delay * BACKOFF_FACTOR, timing.max_interval_s)
            self._raise_if_stopped(request, service, job)
            job = self._status(service, job, request)

    def _status(self, service: JobService, job: RemoteJob, request: RenderRequest) -> RemoteJob:
        try:
            return service.status(job.id)
        except VideoServiceUnavailable as exc:
            # A blip while polling is not the render failing; the deadline still holds.
            logger.warning("job %s: %s; polling again", request.job_id, exc)
            return job

    def _raise_if_stopped(
        self, request: RenderRequest, service: JobService, job: RemoteJob | None
    ) -> None:
        if request.should_stop():
            self._cancelled.set()
        if self._cancelled.is_set():
            which = f"; {service.name} job {job.id} was asked to cancel" if job else ""
            raise RenderCancelled(
                f"the video export was stopped before it finished{which}; nothing was uploaded"
            )

    def _cancel_remote(self, service: JobService, remote_id: str, job_id: str) -> None:
        try:
            service.cancel(remote_id)
            logger.info("job %s: %s job %s cancelled", job_id, service.name, remote_id)
        except VideoServiceError as exc:
            logger.warning(
                "job %s: could not cancel %s job %s: %s", job_id, service.name, remote_id, exc
            )


# -- what the services are sent ------------------------------------------------------------


def render_body(request: RenderRequest) -> dict[str, Any]:
    """The video-processing submission: the timeline with every media item as a URL."""
    plan = request.plan
    sources = {str(source.media_id): source for source in plan.sources}

    def with_media(item: Mapping[str, Any]) -> dict[str, Any]:
        return {**item, "media": _media_ref(sources[str(item["mediaId"])], request)}

    timeline = plan.timeline
    preset = plan.preset
    return {
        "reference": f"export-{request.job_id}",
        "timeline": {
            "clips": [with_media(clip) for clip in timeline.get("clips", [])],
            "audio": [with_media(item) for item in timeline.get("audio", [])],
            "titles": list(timeline.get("titles", [])),
        },
        "durationSeconds": round(plan.duration_s, 3),
        "output": {
            "video": preset.has_video,
            "width": preset.width or None,
            "height": preset.height or None,
            "fps": preset.fps or None,
            "sampleRateHz": preset.sample_rate_hz,
        },
    }


def _media_ref(source: Source, request: RenderRequest) -> dict[str, Any]:
    return {
        "url": request.media_url(source),
        "mimeType": source.mime_type,
        "filename": source.filename,
        "bytes": source.filesize,
    }


def transcode_body(request: RenderRequest, input_url: str, rendered: RemoteJob) -> dict[str, Any]:
    """The transcoding submission: the rendered file's URL and the preset, spelled out."""
    output = rendered.output or {}
    return {
        "reference": f"export-{request.job_id}",
        "input": {"url": input_url, "mimeType": output.get("mimeType")},
        "preset": request.plan.preset.describe(),
    }


def _output_url(job: RemoteJob, service: JobService) -> str:
    url = (job.output or {}).get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise VideoServiceError(
            f"{service.name} reports job {job.id} succeeded but gives no output URL"
        )
    return url


def _info_of(path: Path, output: Mapping[str, Any], plan: RenderPlan) -> MediaInfo:
    """Read the file itself; fall back on what the service says, then on the plan."""
    try:
        return probe_mp4(path)
    except (NotMP4, OSError):
        logger.warning("transcoded file %s is not an MP4 this reader understands", path.name)

    def number(key: str) -> Any:
        value = output.get(key)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    preset = plan.preset
    return MediaInfo(
        duration_s=float(number("durationSeconds") or plan.duration_s),
        width=number("width") or (preset.width or None),
        height=number("height") or (preset.height or None),
        video_codec=str(output.get("videoCodec") or preset.video_codec or "") or None,
        audio_codec=str(output.get("audioCodec") or preset.audio_codec),
    )
