"""The local engine: ffmpeg in the worker, so a newcomer's machine can render for real.

Each segment becomes one ffmpeg input, trimmed by input seeking (`-ss`/`-t`) and
normalised in the filter graph to the preset's size, frame rate, pixel format and audio
format, so `concat` can join them; title cards are a `color` source with `drawtext`
(or a Pillow-drawn PNG where this ffmpeg lacks drawtext); audio items are delayed,
gain-adjusted and `amix`ed over the joined sound; one encode applies the preset.
ffmpeg's `-progress pipe:1` drives the percent.

ffmpeg runs in the worker's process group, so RQ stopping the work horse stops it too;
`cancel()` kills it at once, and any exception in the worker (a job timeout included)
kills it before propagating.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Mapping
from pathlib import Path

from jobs.video.engine import (
    FfmpegFailed,
    RenderCancelled,
    RenderRequest,
    RenderResult,
    VideoEngineError,
)
from jobs.video.engine.ffmpeg import InputInfo, ffmpeg_exe, has_filter, log_tail, probe_input
from jobs.video.engine.ffmpeg import progress_seconds as _progress_seconds
from jobs.video.engine.probe import NotMP4, probe_mp4
from jobs.video.timeline import (
    DURATION_TOLERANCE_S,
    FADE_S,
    ClipSegment,
    RenderPlan,
    Segment,
    Source,
    TitleSegment,
)

logger = logging.getLogger(__name__)

FONT_PATH = Path(__file__).resolve().parents[3] / "templates" / "fonts" / "DejaVuSans.ttf"
X264_SPEED = "veryfast"
TITLE_FONT_FRACTION = 12  # font size is the frame height divided by this


class LocalEngine:
    """Renders with the ffmpeg binary imageio-ffmpeg ships; no services needed."""

    name = "local"
    stages: Mapping[str, tuple[float, float]] = {
        "fetching media": (2.0, 20.0),
        "rendering": (20.0, 88.0),
    }

    def __init__(
        self,
        *,
        ffmpeg: str | None = None,
        font: Path = FONT_PATH,
        x264_speed: str = X264_SPEED,
        use_drawtext: bool | None = None,
    ) -> None:
        self._ffmpeg = ffmpeg
        self._font = font
        self._x264_speed = x264_speed
        self._use_drawtext = use_drawtext
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def cancel(self) -> None:
        """Kill ffmpeg now (from any thread); `render` then raises `RenderCancelled`."""
        self._cancelled.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def render(self, request: RenderRequest) -> RenderResult:
        ffmpeg = self._ffmpeg or ffmpeg_exe()
        files = self._fetch(request)
        infos = {key: probe_input(ffmpeg, path) for key, path in files.items()}
        check_sources(request.plan, infos)
        drawtext = self._use_drawtext
        if drawtext is None:
            drawtext = has_filter(ffmpeg, "drawtext")
        graph = FilterGraph(
            request.plan, files, infos, request.workdir, font=self._font, drawtext=drawtext
        )
        output = request.workdir / f"render{request.plan.preset.extension}"
        command = [ffmpeg, *graph.arguments(output, x264_speed=self._x264_speed)]
        logger.info(
            "job %s: rendering %d segments, %.1f s, with local ffmpeg",
            request.job_id,
            len(request.plan.segments),
            request.plan.duration_s,
        )
        self._run(command, request)
        try:
            info = probe_mp4(output)
        except (NotMP4, OSError) as exc:
            raise FfmpegFailed(
                f"ffmpeg finished but its output is not a readable MP4: {exc}"
            ) from exc
        return RenderResult(path=output, info=info)

    # -- steps ---------------------------------------------------------------------------

    def _fetch(self, request: RenderRequest) -> dict[str, Path]:
        sources = request.plan.sources
        folder = request.workdir / "media"
        files: dict[str, Path] = {}
        for done, source in enumerate(sources, start=1):
            self._raise_if_stopped(request)
            files[str(source.media_id)] = request.fetch_media(source, folder)
            request.progress("fetching media", done / len(sources))
        return files

    def _run(self, command: list[str], request: RenderRequest) -> None:
        log_path = request.workdir / "ffmpeg.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=request.workdir,
                text=True,
            )
            with self._lock:
                self._process = process
            try:
                self._follow(process, request)
                returncode = process.wait()
            finally:
                self._stop(process)
        self._raise_if_stopped(request)
        if returncode != 0:
            raise FfmpegFailed(
                f"ffmpeg could not render the video (exit status {returncode}): "
                f"{log_tail(log_path) or 'it printed nothing'}"
            )

    def _follow(self, process: subprocess.Popen[str], request: RenderRequest) -> None:
        assert process.stdout is not None
        total = max(request.plan.duration_s, 0.001)
        if self._cancelled.is_set():
            process.kill()
        for line in process.stdout:
            seconds = _progress_seconds(line)
            if seconds is not None:
                request.progress("rendering", seconds / total)
            if request.should_stop():
                self.cancel()

    def _stop(self, process: subprocess.Popen[str]) -> None:
        if process.poll() is None:
            process.kill()
            process.wait()
        with self._lock:
            self._process = None

    def _raise_if_stopped(self, request: RenderRequest) -> None:
        if request.should_stop():
            self._cancelled.set()
        if self._cancelled.is_set():
            raise RenderCancelled(
                "the video export was stopped before it finished; "
                "ffmpeg was stopped and nothing was uploaded"
            )


def check_sources(plan: RenderPlan, infos: Mapping[str, InputInfo]) -> None:
    """What Payload could not tell: that ffmpeg reads each source and `out` is inside it."""
    for segment in plan.segments:
        if isinstance(segment, ClipSegment) and segment.source.kind == "video":
            info = _info_of(segment.source, infos, segment.field)
            if info.video_codec is None:
                raise VideoEngineError(
                    f"{segment.field}.mediaId: {segment.source.label} has no video stream"
                )
            duration = info.duration_s
            if duration is not None and segment.out_s > duration + DURATION_TOLERANCE_S:
                raise VideoEngineError(
                    f"{segment.field}.out: {segment.out_s:g} is past the end of "
                    f"{segment.source.label}, which lasts {duration:g} s"
                )
    for cue in plan.audio:
        field = f"timeline.audio[{cue.audio_index}]"
        if _info_of(cue.source, infos, field).audio_codec is None:
            raise VideoEngineError(f"{field}.mediaId: {cue.source.label} has no sound")


def _info_of(source: Source, infos: Mapping[str, InputInfo], field: str) -> InputInfo:
    info = infos[str(source.media_id)]
    if not info.readable:
        raise FfmpegFailed(f"{field}.mediaId: {source.label} is not a file ffmpeg can read")
    return info


def _s(seconds: float) -> str:
    return f"{seconds:.3f}"


class FilterGraph:
    """The inputs, `-filter_complex` and output options of one render."""

    def __init__(
        self,
        plan: RenderPlan,
        files: Mapping[str, Path],
        infos: Mapping[str, InputInfo],
        workdir: Path,
        *,
        font: Path,
        drawtext: bool,
    ) -> None:
        self.plan = plan
        self.preset = plan.preset
        self.files = files
        self.infos = infos
        self.workdir = workdir
        self.font = font
        self.drawtext = drawtext
        self.inputs: list[str] = []
        self.filters: list[str] = []
        self._count = 0

    def arguments(self, output: Path, *, x264_speed: str) -> list[str]:
        video_label, audio_label = self._build()
        return [
            "-hide_banner",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-progress",
            "pipe:1",
            "-nostats",
            *self.inputs,
            "-filter_complex",
            ";".join(self.filters),
            *self._output_options(video_label, audio_label, x264_speed),
            str(output),
        ]

    def _input(self, *arguments: str) -> int:
        self.inputs.extend(arguments)
        self._count += 1
        return self._count - 1

    def _build(self) -> tuple[str | None, str]:
        labels: list[str] = []
        for index, segment in enumerate(self.plan.segments):
            video, audio = self._segment(index, segment)
            labels.extend([video, audio] if video else [audio])
        has_video = self.preset.has_video
        outputs = "[vcat][acat]" if has_video else "[acat]"
        self.filters.append(
            f"{''.join(labels)}concat=n={len(self.plan.segments)}:v={int(has_video)}:a=1{outputs}"
        )
        return ("[vcat]" if has_video else None), self._mix("[acat]")

    def _segment(self, index: int, segment: Segment) -> tuple[str | None, str]:
        duration = segment.duration_s
        if isinstance(segment, TitleSegment):
            video = self._title(index, segment) if self.preset.has_video else None
            return video, self._audio(index, self._silence(duration), duration, fade=False)
        path = str(self.files[str(segment.source.media_id)])
        if segment.source.kind == "image":
            video = self._still(index, path, duration, fade=segment.fade_in)
            return video, self._audio(index, self._silence(duration), duration, fade=False)
        source = self._input("-ss", _s(segment.in_s), "-t", _s(duration), "-i", path)
        video = None
        if self.preset.has_video:
            video = self._normalise(index, f"[{source}:v:0]", duration, fade=segment.fade_in)
        has_audio = self.infos[str(segment.source.media_id)].audio_codec is not None
        audio_in = f"[{source}:a:0]" if has_audio else self._silence(duration)
        return video, self._audio(index, audio_in, duration, fade=segment.fade_in)

    def _still(self, index: int, path: str, duration: float, *, fade: bool) -> str | None:
        if not self.preset.has_video:
            return None
        source = self._input(
            "-loop", "1", "-framerate", str(self.preset.fps), "-t", _s(duration), "-i", path
        )
        return self._normalise(index, f"[{source}:v:0]", duration, fade=fade)

    def _normalise(self, index: int, label: str, duration: float, *, fade: bool) -> str:
        p = self.preset
        chain = (
            f"{label}scale={p.width}:{p.height}:force_original_aspect_ratio=decrease,"
            f"pad={p.width}:{p.height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,"
            f"fps={p.fps},format=yuv420p,"
            f"tpad=stop_mode=clone:stop_duration={_s(duration)},"
            f"trim=duration={_s(duration)},setpts=PTS-STARTPTS"
        )
        if fade:
            chain += f",fade=t=in:st=0:d={_s(min(FADE_S, duration / 2))}"
        self.filters.append(f"{chain}[v{index}]")
        return f"[v{index}]"

    def _audio(self, index: int, label: str, duration: float, *, fade: bool) -> str:
        chain = (
            f"{label}aresample={self.preset.sample_rate_hz},"
            "aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"apad,atrim=duration={_s(duration)},asetpts=PTS-STARTPTS"
        )
        if fade:
            chain += f",afade=t=in:st=0:d={_s(min(FADE_S, duration / 2))}"
        self.filters.append(f"{chain}[a{index}]")
        return f"[a{index}]"

    def _silence(self, duration: float) -> str:
        source = self._input(
            "-f",
            "lavfi",
            "-t",
            _s(duration),
            "-i",
            f"anullsrc=r={self.preset.sample_rate_hz}:cl=stereo",
        )
        return f"[{source}:a:0]"

    def _title(self, index: int, title: TitleSegment) -> str:
        p = self.preset
        size = max(8, p.height // TITLE_FONT_FRACTION)
        text = textwrap.fill(title.text, width=max(12, int(p.width / (size * 0.6))))
        if not self.drawtext:
            image = render_title_png(
                self.workdir / f"title-{index}.png",
                text,
                p.width,
                p.height,
                font=self.font,
                size=size,
            )
            return self._still(index, str(image), title.duration_s, fade=False) or ""
        # Files named relative to ffmpeg's working folder need no filter-graph escaping.
        (self.workdir / f"title-{index}.txt").write_text(text, encoding="utf-8")
        font = self.workdir / "title-font.ttf"
        if not font.exists():
            shutil.copyfile(self.font, font)
        source = self._input(
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:s={p.width}x{p.height}:r={p.fps}:d={_s(title.duration_s)}",
        )
        drawn = (
            f"[{source}:v:0]drawtext=fontfile=title-font.ttf:textfile=title-{index}.txt"
            f":expansion=none:fontcolor=white:fontsize={size}:line_spacing={size // 3}"
            ":x=(w-text_w)/2:y=(h-text_h)/2,"
        )
        return self._normalise(index, drawn, title.duration_s, fade=False)

    def _mix(self, joined: str) -> str:
        if not self.plan.audio:
            return joined
        cues = []
        for cue in self.plan.audio:
            path = str(self.files[str(cue.source.media_id)])
            source = self._input("-t", _s(self.plan.duration_s - cue.start_s), "-i", path)
            label = f"[c{cue.audio_index}]"
            self.filters.append(
                f"[{source}:a:0]aresample={self.preset.sample_rate_hz},"
                f"aformat=sample_fmts=fltp:channel_layouts=stereo,volume={cue.gain_db:g}dB,"
                f"adelay=delays={round(cue.start_s * 1000)}:all=1{label}"
            )
            cues.append(label)
        self.filters.append(
            f"{joined}{''.join(cues)}amix=inputs={len(cues) + 1}"
            ":duration=first:dropout_transition=0:normalize=0[aout]"
        )
        return "[aout]"

    def _output_options(
        self, video_label: str | None, audio_label: str, x264_speed: str
    ) -> list[str]:
        p = self.preset
        audio = [
            "-map",
            audio_label,
            "-c:a",
            "aac",
            "-b:a",
            f"{p.audio_bitrate_kbps}k",
            "-ar",
            str(p.sample_rate_hz),
            "-ac",
            str(p.channels),
        ]
        container = ["-t", _s(self.plan.duration_s), "-movflags", "+faststart", "-f", "mp4"]
        if video_label is None:
            return ["-vn", *audio, *container]
        kbps = p.video_bitrate_kbps
        video = [
            "-map",
            video_label,
            "-c:v",
            "libx264",
            "-preset",
            x264_speed,
            "-profile:v",
            p.h264_profile or "high",
            "-pix_fmt",
            "yuv420p",
            "-r",
            str(p.fps),
            "-g",
            str(p.fps * 2),
            "-b:v",
            f"{kbps}k",
            "-maxrate",
            f"{kbps}k",
            "-bufsize",
            f"{kbps * 2}k",
        ]
        return [*video, *audio, *container]


def render_title_png(
    path: Path, text: str, width: int, height: int, *, font: Path, size: int
) -> Path:
    """A title card drawn with Pillow, for ffmpeg builds without drawtext."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), "black")
    typeface = ImageFont.truetype(str(font), size)
    ImageDraw.Draw(image).multiline_text(
        (width / 2, height / 2),
        text,
        font=typeface,
        fill="white",
        anchor="mm",
        align="center",
        spacing=size // 3,
    )
    image.save(path, format="PNG")
    return path
