"""A video export's timeline and preset: the schema, the presets, and the checks.

A timeline is JSON (docs/video-services.md has the full description):

    {"clips":  [{"mediaId": 12, "in": 0, "out": 4.5, "transition": "fade"}, ...],
     "audio":  [{"mediaId": 31, "start": 0, "gain": -6}],
     "titles": [{"text": "The Lighthouse Keeper", "duration": 3, "at": 0}]}

Clips play in order; `in`/`out` are seconds of the source (an image clip shows its still
for `out - in` seconds). Audio items play from `start` seconds of the output, `gain` in
dB, cut at the end of the video. A title card is inserted at `at` seconds of the clips'
own timeline (splitting a clip if `at` falls inside one) and lasts `duration` seconds.

`plan_for` (a job's params and the project's record) checks a timeline against
the project's media and the limits and returns the `RenderPlan` engines render; every
problem is a `TimelineError` naming the field (`timeline.clips[2].out`), raised by the web
process before anything is queued and again by the job, which re-reads the media.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from cms_client import Media, Project

EPSILON_S = 0.001
DURATION_TOLERANCE_S = 0.05  # containers round durations; don't refuse `out` for that
MAX_CLIPS = 200
MAX_AUDIO_ITEMS = 16
MAX_TITLES = 50
MAX_TITLE_CHARS = 200
FADE_S = 0.5

# -- presets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """An output format: explicit codec, size, frame rate and bit rates."""

    name: str
    container: Literal["mp4", "m4a"]
    video_codec: Literal["h264"] | None
    width: int
    height: int
    fps: int
    video_bitrate_kbps: int
    h264_profile: Literal["main", "high"] | None
    audio_codec: Literal["aac"] = "aac"
    audio_bitrate_kbps: int = 160
    sample_rate_hz: int = 48_000
    channels: int = 2

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def mime_type(self) -> str:
        return "video/mp4" if self.has_video else "audio/mp4"

    @property
    def extension(self) -> str:
        return f".{self.container}"

    def describe(self) -> dict[str, Any]:
        """The preset as the transcoding service and the result's metadata see it."""
        return {
            "name": self.name,
            "container": self.container,
            "videoCodec": self.video_codec,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "videoBitrateKbps": self.video_bitrate_kbps,
            "h264Profile": self.h264_profile,
            "audioCodec": self.audio_codec,
            "audioBitrateKbps": self.audio_bitrate_kbps,
            "sampleRateHz": self.sample_rate_hz,
            "channels": self.channels,
        }


def _h264(
    name: str,
    width: int,
    height: int,
    video_kbps: int,
    audio_kbps: int,
    profile: Literal["main", "high"],
) -> Preset:
    return Preset(
        name=name,
        container="mp4",
        video_codec="h264",
        width=width,
        height=height,
        fps=30,
        video_bitrate_kbps=video_kbps,
        h264_profile=profile,
        audio_bitrate_kbps=audio_kbps,
    )


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        _h264("1080p-h264", 1920, 1080, 8_000, 192, "high"),
        _h264("720p-h264", 1280, 720, 5_000, 160, "high"),
        _h264("360p-h264", 640, 360, 1_000, 128, "main"),
        Preset(
            name="audio-aac",
            container="m4a",
            video_codec=None,
            width=0,
            height=0,
            fps=0,
            video_bitrate_kbps=0,
            h264_profile=None,
            audio_bitrate_kbps=192,
        ),
    )
}


# -- schema ------------------------------------------------------------------------------

MediaId = (
    Annotated[StrictInt, Field(gt=0)]
    | Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", strict=True)]
)
Seconds = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ClipSpec(_Model):
    mediaId: MediaId
    in_: Seconds = Field(alias="in")
    out: Seconds
    transition: Literal["cut", "fade"] = "cut"


class AudioSpec(_Model):
    mediaId: MediaId
    start: Seconds = 0.0
    gain: Annotated[float, Field(ge=-60, le=12, strict=True, allow_inf_nan=False)] = 0.0


class TitleSpec(_Model):
    text: Annotated[str, Field(min_length=1, max_length=MAX_TITLE_CHARS, strict=True)]
    duration: Annotated[float, Field(gt=0, le=60, strict=True, allow_inf_nan=False)]
    at: Seconds = 0.0


class TimelineSpec(_Model):
    clips: Annotated[list[ClipSpec], Field(max_length=MAX_CLIPS)]
    audio: Annotated[list[AudioSpec], Field(max_length=MAX_AUDIO_ITEMS)] = []
    titles: Annotated[list[TitleSpec], Field(max_length=MAX_TITLES)] = []

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class TimelineError(ValueError):
    """A timeline or preset is not acceptable; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
        self.message = f"{field}: {message}"


def field_path(loc: Iterable[int | str], root: str = "timeline") -> str:
    """`("clips", 2, "out")` → `timeline.clips[2].out`."""
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_timeline(raw: Any) -> TimelineSpec:
    if not isinstance(raw, Mapping):
        raise TimelineError("timeline", "must be a JSON object with a 'clips' list")
    try:
        return TimelineSpec.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = [p for p in error["loc"] if not _is_union_tag(p)]
        field = field_path(loc)
        if error["type"] == "extra_forbidden":
            raise TimelineError(field, "is not a field a timeline accepts") from exc
        if error["type"] == "missing":
            raise TimelineError(field, "is required") from exc
        raise TimelineError(field, str(error["msg"])) from exc


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in {"int", "str"} or part.startswith(("constrained-", "function-"))
    )


def preset_named(name: str) -> Preset:
    preset = PRESETS.get(name)
    if preset is None:
        known = ", ".join(PRESETS)
        raise TimelineError("preset", f"{name!r} is not a preset; use one of {known}")
    return preset


# -- the resolved plan -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A media item a timeline uses, as Payload describes it."""

    media_id: int | str
    kind: str  # the MIME type's major part: "video", "image", "audio", ...
    url: str
    filename: str
    mime_type: str
    filesize: int | None
    duration_s: float | None
    media: Media = dataclasses.field(compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"media {self.media_id} ({self.filename})"


@dataclass(frozen=True)
class ClipSegment:
    source: Source
    in_s: float
    out_s: float
    fade_in: bool
    clip_index: int

    @property
    def duration_s(self) -> float:
        return self.out_s - self.in_s

    @property
    def field(self) -> str:
        return f"timeline.clips[{self.clip_index}]"

    def split(self, offset_s: float) -> tuple[ClipSegment, ClipSegment]:
        cut = self.in_s + offset_s
        return replace(self, out_s=cut), replace(self, in_s=cut, fade_in=False)


@dataclass(frozen=True)
class TitleSegment:
    text: str
    duration_s: float
    title_index: int


Segment = ClipSegment | TitleSegment


@dataclass(frozen=True)
class AudioCue:
    source: Source
    start_s: float
    gain_db: float
    audio_index: int


@dataclass(frozen=True)
class RenderPlan:
    """What to render: segments in output order, audio cues, and the preset."""

    preset: Preset
    segments: tuple[Segment, ...]
    audio: tuple[AudioCue, ...]
    timeline: dict[str, Any]

    @property
    def duration_s(self) -> float:
        return sum(segment.duration_s for segment in self.segments)

    @property
    def sources(self) -> list[Source]:
        """Every media item used, once each, in order of first use."""
        found: dict[str, Source] = {}
        for segment in self.segments:
            if isinstance(segment, ClipSegment):
                found.setdefault(str(segment.source.media_id), segment.source)
        for cue in self.audio:
            found.setdefault(str(cue.source.media_id), cue.source)
        return list(found.values())

    @property
    def media_ids(self) -> list[int | str]:
        return [source.media_id for source in self.sources]


def plan_for(params: Mapping[str, Any], project: Project, *, max_seconds: int) -> RenderPlan:
    """The plan for a job's params; without a `timeline`, the project's own is used."""
    preset = preset_named(str(params.get("preset") or ""))
    requested = params.get("timeline")
    if requested is not None:
        return resolve_plan(parse_timeline(requested), preset, project, max_seconds=max_seconds)
    own = project.timeline
    if own is None:
        raise TimelineError(
            "timeline", f"the request has no timeline and project {project.id} has none"
        )
    try:
        return resolve_plan(parse_timeline(own), preset, project, max_seconds=max_seconds)
    except TimelineError as exc:
        raise TimelineError(
            exc.field,
            f"{exc.detail} (in project {project.id}'s own timeline, "
            "used because the request has none)",
        ) from exc


def resolve_plan(
    timeline: TimelineSpec, preset: Preset, project: Project, *, max_seconds: int
) -> RenderPlan:
    """Check `timeline` against the project's own media and the limit."""
    if not timeline.clips:
        raise TimelineError("timeline.clips", "a timeline needs at least one clip")
    media = ProjectMedia(project)
    clips = [_clip_segment(i, clip, media) for i, clip in enumerate(timeline.clips)]
    segments = _insert_titles(clips, timeline.titles)
    total = sum(segment.duration_s for segment in segments)
    _check_duration(segments, total, max_seconds)
    cues = tuple(_audio_cue(i, item, media, total) for i, item in enumerate(timeline.audio))
    return RenderPlan(
        preset=preset, segments=tuple(segments), audio=cues, timeline=timeline.to_json()
    )


class ProjectMedia:
    """The project's media by id; ids it lists that Payload did not return count as missing."""

    def __init__(self, project: Project) -> None:
        self.project_id = project.id
        self.found = {str(item.id): item for item in project.own_media()}
        self.missing = {str(media_id) for media_id in project.missing_media_ids}

    def source(self, media_id: int | str, field: str, allowed: tuple[str, ...]) -> Source:
        media = self.found.get(str(media_id))
        if media is None:
            if str(media_id) in self.missing:
                raise TimelineError(field, f"media {media_id} was not found in Payload")
            raise TimelineError(
                field, f"media {media_id} is not a media item of project {self.project_id}"
            )
        source = source_of(media)
        if source.kind not in allowed:
            raise TimelineError(
                field,
                f"{source.label} is {source.mime_type or 'of no known type'}; "
                f"this needs {' or '.join(allowed)}",
            )
        return source


def source_of(media: Media) -> Source:
    return Source(
        media_id=media.id,
        kind=media.kind,
        url=media.url or "",
        filename=media.filename or "no filename",
        mime_type=media.mime_type or "",
        filesize=media.filesize,
        duration_s=media.duration,
        media=media,
    )


def _clip_segment(index: int, clip: ClipSpec, media: ProjectMedia) -> ClipSegment:
    field = f"timeline.clips[{index}]"
    source = media.source(clip.mediaId, f"{field}.mediaId", ("video", "image"))
    if clip.out <= clip.in_:
        raise TimelineError(f"{field}.out", f"{clip.out:g} must be after in ({clip.in_:g})")
    known = source.duration_s
    if source.kind == "video" and known is not None and clip.out > known + DURATION_TOLERANCE_S:
        raise TimelineError(
            f"{field}.out",
            f"{clip.out:g} is past the end of {source.label}, which lasts {known:g} s",
        )
    return ClipSegment(
        source=source,
        in_s=clip.in_,
        out_s=clip.out,
        fade_in=clip.transition == "fade",
        clip_index=index,
    )


def _audio_cue(index: int, item: AudioSpec, media: ProjectMedia, total_s: float) -> AudioCue:
    field = f"timeline.audio[{index}]"
    source = media.source(item.mediaId, f"{field}.mediaId", ("audio", "video"))
    if item.start >= total_s:
        raise TimelineError(
            f"{field}.start", f"{item.start:g} is at or after the end of the video ({total_s:g} s)"
        )
    return AudioCue(source=source, start_s=item.start, gain_db=item.gain, audio_index=index)


def _insert_titles(clips: list[ClipSegment], titles: list[TitleSpec]) -> list[Segment]:
    clips_total = sum(clip.duration_s for clip in clips)
    for index, title in enumerate(titles):
        if title.at > clips_total + EPSILON_S:
            raise TimelineError(
                f"timeline.titles[{index}].at",
                f"{title.at:g} is after the end of the clips ({clips_total:g} s)",
            )
    pending = deque(sorted(enumerate(titles), key=lambda item: item[1].at))
    segments: list[Segment] = []
    position = 0.0
    for clip in clips:
        rest = clip
        while pending and pending[0][1].at < position + rest.duration_s - EPSILON_S:
            index, title = pending.popleft()
            offset = title.at - position
            if offset > EPSILON_S:
                head, rest = rest.split(offset)
                segments.append(head)
                position += head.duration_s
            segments.append(TitleSegment(title.text, title.duration, index))
        segments.append(rest)
        position += rest.duration_s
    segments.extend(TitleSegment(t.text, t.duration, i) for i, t in pending)
    return segments


def _check_duration(segments: list[Segment], total_s: float, max_seconds: int) -> None:
    if total_s <= max_seconds + EPSILON_S:
        return
    position, culprit = 0.0, "timeline"
    for segment in segments:
        position += segment.duration_s
        if position > max_seconds:
            culprit = (
                segment.field
                if isinstance(segment, ClipSegment)
                else f"timeline.titles[{segment.title_index}]"
            )
            break
    raise TimelineError(
        "timeline",
        f"the video would be {total_s:g} s long, over EXPORT_MAX_VIDEO_SECONDS "
        f"({max_seconds} s); it passes the limit at {culprit}",
    )
