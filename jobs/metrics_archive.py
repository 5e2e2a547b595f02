"""Folding dead processes' metric files into one archive per worker, so the multiprocess
folder stays small however many exports run.

prometheus-client's multiprocess mode writes each process's values to files named by its
pid (`counter_<pid>.db`, `histogram_<pid>.db`), and RQ forks a new work horse per job: left
alone, the folder gains two files per export for ever, and every scrape reads them all.
So after reaping each horse, its worker adds the horse's values into its own archive
(`counter_archive-<worker pid>.db`, the library's format: `MultiProcessCollector` reads
every `*.db` and takes the type from the name's prefix) and deletes the horse's files; a
worker that starts adopts the files of processes that are gone (a crashed worker's
archive, its horses', an old web process's). Counters, histograms and summaries are sums,
so the folded totals are those of the files they replace. Gauges are never touched.

Three rules keep the totals right:

- Only dead processes' files are folded (a pid that answers `kill(pid, 0)`, even as a
  zombie or as another user's process, is alive), and only an archive's owner writes it.
- Folds hold an exclusive `flock` on `fold.lock` in the folder, and scrapes
  (`FoldAwareCollector`) a shared one, so a scrape never sees a file twice (in the archive
  and in its own file) or not at all, and two workers never fold the same file.
- A fold commits with one rename, so a crash mid-fold neither counts twice nor loses the
  claimed files: the new archive is written to `<archive>.tmp`; the sources are first
  renamed out of the scrape's sight to `<file>.folding-<owner pid>`; renaming the `.tmp`
  over the archive commits; the claimed files are then deleted. Recovery (`_recover`):
  a `.tmp` still there means no commit, so the claims go back; no `.tmp` means the commit
  happened, so they go.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

#: The file types whose values add up across processes (MultiProcessCollector sums them).
FOLDED_TYPES = ("counter", "histogram", "summary")
LOCK_NAME = "fold.lock"
ARCHIVE_PREFIX = "archive-"
_PROCESS_FILE = re.compile(r"^(?P<type>[a-z]+)_(?P<archive>archive-)?(?P<pid>\d+)\.db$")

_held_lock_fds: set[int] = set()


def _forget_inherited_locks() -> None:
    # A work horse forked while a scrape thread holds the lock would otherwise keep it
    # (flock belongs to the open file, which the fork shares) until the export ends.
    for fd in _held_lock_fds:
        os.close(fd)
    _held_lock_fds.clear()


os.register_at_fork(after_in_child=_forget_inherited_locks)


@contextmanager
def folder_lock(folder: Path, *, shared: bool) -> Iterator[None]:
    """Hold the folder's fold lock: shared to read the files, exclusive to fold them."""
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    _held_lock_fds.add(fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        if fd in _held_lock_fds:
            _held_lock_fds.discard(fd)
            os.close(fd)


class FoldAwareCollector(MultiProcessCollector):
    """`MultiProcessCollector` that reads the folder under the fold lock (shared)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(None, path=str(folder))  # type: ignore[no-untyped-call]
        self.folder = folder

    def collect(self) -> Iterable[Metric]:
        with folder_lock(self.folder, shared=True):
            return super().collect()  # type: ignore[no-untyped-call,no-any-return]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def add_values(archive: Path, sources: Sequence[Path]) -> None:
    """Add every key's value in `sources` to the same key in `archive` (created if new)."""
    # MmapedDict is untyped: keys are mmap_key() JSON, values and timestamps floats.
    totals: dict[str, float] = defaultdict(float)
    for source in sources:
        values = MmapedDict.read_all_values_from_file(str(source))  # type: ignore[no-untyped-call]
        for key, value, _timestamp, _pos in values:
            totals[key] += value
    target = MmapedDict(str(archive))  # type: ignore[no-untyped-call]
    try:
        for key, value in totals.items():
            current, _ = target.read_value(key)  # type: ignore[no-untyped-call]
            target.write_value(key, current + value, 0.0)  # type: ignore[no-untyped-call]
    finally:
        target.close()  # type: ignore[no-untyped-call]


class MetricsArchive:
    """The archive files of the worker with pid `owner_pid` in the multiprocess `folder`."""

    def __init__(self, folder: Path, owner_pid: int | None = None) -> None:
        self.folder = folder
        self.owner_pid = os.getpid() if owner_pid is None else owner_pid

    def archive_path(self, file_type: str, owner_pid: int | None = None) -> Path:
        owner = self.owner_pid if owner_pid is None else owner_pid
        return self.folder / f"{file_type}_{ARCHIVE_PREFIX}{owner}.db"

    def fold_process(self, pid: int) -> int:
        """Fold a dead process's files (a reaped work horse) into the archive; how many."""
        if pid_alive(pid):
            logger.warning("metrics: process %d is still running; its files stay", pid)
            return 0
        with folder_lock(self.folder, shared=False):
            groups = {t: [self.folder / f"{t}_{pid}.db"] for t in FOLDED_TYPES}
            return self._fold(groups)

    def fold_leftovers(self) -> int:
        """Recover crashed folds, then fold every dead process's files and archives.

        Never raises: a file it cannot read (corrupt, another user's) is logged and left,
        and the worker starts all the same."""
        try:
            return self._fold_leftovers()
        except (OSError, RuntimeError, ValueError) as exc:
            logger.warning("metrics: leftover files in %s not folded: %s", self.folder, exc)
            return 0

    def _fold_leftovers(self) -> int:
        with folder_lock(self.folder, shared=False):
            self._recover()
            groups: dict[str, list[Path]] = defaultdict(list)
            for path in sorted(self.folder.glob("*.db")):
                match = _PROCESS_FILE.match(path.name)
                if match is None or match["type"] not in FOLDED_TYPES:
                    continue
                pid = int(match["pid"])
                if pid != self.owner_pid and not pid_alive(pid):
                    groups[match["type"]].append(path)
            folded = self._fold(groups)
        if folded:
            logger.info("metrics: folded %d files of processes that are gone", folded)
        return folded

    def _fold(self, groups: dict[str, list[Path]]) -> int:
        folded = 0
        for file_type, paths in groups.items():
            sources = [p for p in paths if p.exists()]  # under the lock: nobody else folds
            if sources:
                folded += self._fold_into(self.archive_path(file_type), sources)
        return folded

    def _fold_into(self, archive: Path, sources: Sequence[Path]) -> int:
        temp = _temp_of(archive)
        # The .tmp exists before the first claim and goes only by the committing rename:
        # recovery tells an unfinished fold from a finished one by it.
        if archive.exists():
            shutil.copyfile(archive, temp)
        else:
            temp.touch()
        claimed = [c for c in (self._claim(p) for p in sources) if c is not None]
        try:
            add_values(temp, claimed)
            os.replace(temp, archive)
        except BaseException:
            for path in claimed:  # nothing committed: as it was
                _rename_back(path, path.with_name(path.name.rpartition(".folding-")[0]))
            temp.unlink(missing_ok=True)
            raise
        for path in claimed:
            path.unlink(missing_ok=True)
        return len(claimed)

    def _claim(self, path: Path) -> Path | None:
        claimed = path.with_name(f"{path.name}.folding-{self.owner_pid}")
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return None
        return claimed

    def _recover(self) -> None:
        """Finish or undo folds that a crashed worker (a dead owner) left half done."""
        for claimed in sorted(self.folder.glob("*.db.folding-*")):
            original, _, owner = claimed.name.rpartition(".folding-")
            if not owner.isdigit() or not self._gone(int(owner)):
                continue  # a live worker's: it undoes its own failed folds
            file_type = original.partition("_")[0]
            if _temp_of(self.archive_path(file_type, int(owner))).exists():  # no commit
                _rename_back(claimed, claimed.with_name(original))
            else:  # committed: its values are in the archive
                claimed.unlink(missing_ok=True)
        for temp in self.folder.glob("*.db.tmp"):
            match = _PROCESS_FILE.match(temp.name.removesuffix(".tmp"))
            if match and match["archive"] and self._gone(int(match["pid"])):
                temp.unlink(missing_ok=True)

    def _gone(self, owner_pid: int) -> bool:
        """Whether folds by `owner_pid` can be left half done: it has died, or it was an
        earlier process with this worker's pid (a container's worker is often pid 7)."""
        return owner_pid == self.owner_pid or not pid_alive(owner_pid)


def _temp_of(archive: Path) -> Path:
    return archive.with_name(archive.name + ".tmp")


def _rename_back(claimed: Path, original: Path) -> None:
    try:
        claimed.rename(original)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
