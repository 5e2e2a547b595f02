"""Backpressure: a bounded queue and a bounded number of unfinished exports per person.

`reserve` checks both limits and takes a place in one Lua script, so parallel submissions
cannot all pass a check made before any of them acted. A place is:

- in the queue: the job waits in `export:reserving` (a sorted set scored by time) from its
  reservation until it is on the RQ queue; the queue's depth counts both, and a reservation
  a crashed web process left behind lapses after `RESERVATION_TTL_S`;
- for the person: the job's id in `export:active:<who>`, which the script prunes of jobs that
  have ended (`succeeded`, `failed`, `cancelled`) or expired before counting. A job's place is
  therefore released on every terminal path — success, failure, cancel, the sweeper — by the
  status it ends with, without bookkeeping at each path; `release` gives it back at once when
  the submission itself is abandoned.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis
from rq import Queue

from app.settings import Settings
from jobs.state import KEY_PREFIX, TERMINAL_STATUSES, JobState

ACTIVE_PREFIX = "export:active:"
RESERVING_KEY = "export:reserving"
RESERVATION_TTL_S = 60
QUEUE_FULL_RETRY_AFTER_S = 30
CALLER_BUSY_RETRY_AFTER_S = 10

# KEYS: reserving zset, active set of the person ("" for nobody), every rq queue list
# ARGV: job id, now, reservation ttl, max depth, max active, job key prefix, ttl, terminal...
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
local depth = redis.call('ZCARD', KEYS[1])
for i = 3, #KEYS do depth = depth + redis.call('LLEN', KEYS[i]) end
if depth >= tonumber(ARGV[4]) then return {1, depth} end
if KEYS[2] ~= '' then
  local terminal = {}
  for i = 8, #ARGV do terminal[ARGV[i]] = true end
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local status = redis.call('HGET', ARGV[6] .. id, 'status')
    local reserving = redis.call('ZSCORE', KEYS[1], id)
    if (not status and not reserving) or (status and terminal[status]) then
      redis.call('SREM', KEYS[2], id)
    end
  end
  local active = redis.call('SCARD', KEYS[2])
  if active >= tonumber(ARGV[5]) then return {2, active} end
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
return {0, depth}
"""


class QuotaExceeded(Exception):
    """A limit refuses the export for now; `retry_after_s` says when to try again."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


def queue_keys(redis: Redis, settings: Settings) -> list[str]:
    """The Redis lists of every export queue: together they are the queue's depth."""
    return [Queue(name, connection=redis).key for name in settings.queues]


def reserve(redis: Redis, settings: Settings, state: JobState) -> None:
    """Take a place in the queue and among the person's exports, or raise `QuotaExceeded`."""
    limits = settings.limits
    keys = [RESERVING_KEY, _active_key(state), *queue_keys(redis, settings)]
    terminal = [f'"{status.value}"' for status in TERMINAL_STATUSES]  # fields are JSON
    args: list[Any] = [
        state.job_id,
        time.time(),
        RESERVATION_TTL_S,
        limits.max_queue_depth,
        limits.max_active_per_caller,
        KEY_PREFIX,
        settings.job_ttl_s,
        *terminal,
    ]
    refused, count = redis.eval(_RESERVE, len(keys), *keys, *args)
    if refused == 1:
        raise QuotaExceeded(
            f"the export queue is full ({count} exports waiting, EXPORT_MAX_QUEUE_DEPTH is "
            f"{limits.max_queue_depth}); try again in a minute",
            retry_after_s=QUEUE_FULL_RETRY_AFTER_S,
        )
    if refused == 2:
        raise QuotaExceeded(
            f"you already have {count} unfinished exports (EXPORT_MAX_ACTIVE_PER_CALLER "
            f"is {limits.max_active_per_caller}); wait for one to finish or cancel one",
            retry_after_s=CALLER_BUSY_RETRY_AFTER_S,
        )


def queued(redis: Redis, state: JobState) -> None:
    """The job is on the RQ queue now, which counts it: its reservation is no longer needed."""
    redis.zrem(RESERVING_KEY, state.job_id)


def release(redis: Redis, state: JobState) -> None:
    """Give back both places of a submission that was abandoned before it was queued."""
    with redis.pipeline() as pipe:
        pipe.zrem(RESERVING_KEY, state.job_id)
        if state.requested_by is not None:
            pipe.srem(_active_key(state), state.job_id)
        pipe.execute()


def _active_key(state: JobState) -> str:
    return "" if state.requested_by is None else ACTIVE_PREFIX + str(state.requested_by)
