"""Where Redis is: one URL, or Sentinels and a master name; both validated at start."""

from __future__ import annotations

import pytest
from redis.sentinel import SentinelConnectionPool

from app.settings import SettingsError, load_settings
from jobs import connection
from jobs.connection import SentinelTarget, parse_sentinel_url

BASE = {"PAYLOAD_URL": "http://localhost:3000", "PAYLOAD_API_KEY": "abc"}


def test_sentinels_and_a_master_name_become_one_sentinel_url():
    settings = load_settings(
        {**BASE, "REDIS_SENTINELS": "s1:26379, s2", "REDIS_SENTINEL_MASTER": "mymaster"},
        env_file=None,
    )
    assert settings.redis_url == "redis+sentinel://s1:26379,s2:26379/mymaster/0"
    assert parse_sentinel_url(settings.redis_url) == SentinelTarget(
        sentinels=(("s1", 26379), ("s2", 26379)), master="mymaster", db=0
    )


def test_a_sentinel_url_carries_the_masters_password_and_db():
    url = "redis+sentinel://:p%40ss@10.0.0.1:26380,10.0.0.2:26380/cache/3"
    assert load_settings({**BASE, "REDIS_URL": url}, env_file=None).redis_url == url
    target = parse_sentinel_url(url)
    assert target.sentinels == (("10.0.0.1", 26380), ("10.0.0.2", 26380))
    assert (target.master, target.db, target.password) == ("cache", 3, "p@ss")
    assert "p@ss" not in connection.describe(url)


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        ({"REDIS_SENTINELS": "s1:26379"}, "but REDIS_SENTINEL_MASTER is not"),
        ({"REDIS_SENTINEL_MASTER": "mymaster"}, "but REDIS_SENTINELS is not"),
        (
            {
                "REDIS_SENTINELS": "s1",
                "REDIS_SENTINEL_MASTER": "m",
                "REDIS_URL": "redis://localhost:6379/0",
            },
            "both REDIS_URL and REDIS_SENTINELS are set",
        ),
        ({"REDIS_SENTINELS": "s1:99999", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS="),
        ({"REDIS_URL": "redis+sentinel://s1:26379"}, "/<master name>"),
    ],
)
def test_a_half_configured_sentinel_says_what_is_missing(env, sentence):
    with pytest.raises(SettingsError, match=sentence):
        load_settings({**BASE, **env}, env_file=None)


def test_a_sentinel_client_asks_the_sentinels_for_the_master():
    client = connection.connect("redis+sentinel://127.0.0.1:1/mymaster/2")
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 2
    retry = pool.connection_kwargs["retry"]
    assert retry._retries == connection.SENTINEL_RETRIES  # rides over a failover


def test_a_plain_url_gets_a_short_retry():
    client = connection.connect("redis://127.0.0.1:1/0")
    assert client.connection_pool.connection_kwargs["retry"]._retries == connection.PLAIN_RETRIES


def test_a_worker_rides_over_a_restart_of_a_plain_redis():
    client = connection.connect("redis://127.0.0.1:1/0", patient=True)
    assert client.connection_pool.connection_kwargs["retry"]._retries == connection.PATIENT_RETRIES


def test_a_new_connection_does_not_read_package_metadata(settings, monkeypatch):
    """#18: every work horse opens a connection; redis-py would read its own version from
    disk for each one (1–5 ms) unless told it once."""
    import redis.utils

    def no_metadata() -> str:
        raise AssertionError("redis-py read its package metadata for a new connection")

    monkeypatch.setattr(redis.utils, "get_lib_version", no_metadata)
    client = connection.connect(settings.redis_url)
    assert client.ping()
    client.close()
