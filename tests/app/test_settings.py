"""Settings are read once, validated, and errors name the variable."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings

BASE = {"PAYLOAD_URL": "http://localhost:3000/", "PAYLOAD_API_KEY": "abc"}


def test_defaults():
    settings = load_settings(BASE, env_file=None)
    assert settings.payload_url == "http://localhost:3000"
    assert settings.service_authorization == "users API-Key abc"
    assert settings.collections.export_requests == "export-requests"
    assert settings.redis_url is None
    assert "abc" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PAYLOAD_API_KEY": "abc"}, "PAYLOAD_URL"),
        ({"PAYLOAD_URL": "http://x"}, "PAYLOAD_API_KEY"),
        ({**BASE, "PAYLOAD_URL": "localhost:3000"}, "PAYLOAD_URL"),
        ({**BASE, "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({**BASE, "EXPORT_MAX_FILES": "many"}, "EXPORT_MAX_FILES"),
        ({**BASE, "EXPORT_MAX_FILE_BYTES": "0"}, "EXPORT_MAX_FILE_BYTES"),
        ({**BASE, "EXPORT_WEBHOOK_SECRET": "short"}, "EXPORT_WEBHOOK_SECRET"),
        (
            {**BASE, "EXPORT_ALLOWED_MEDIA_ORIGINS": "https://cdn.test/path"},
            "EXPORT_ALLOWED_MEDIA_ORIGINS",
        ),
        ({**BASE, "PAYLOAD_PROJECTS_COLLECTION": "pro jects"}, "PAYLOAD_PROJECTS_COLLECTION"),
    ],
)
def test_a_bad_setting_names_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env, env_file=None)


def test_several_webhook_secrets_allow_rotation():
    settings = load_settings(
        {**BASE, "EXPORT_WEBHOOK_SECRET": "a" * 16 + ", " + "b" * 16}, env_file=None
    )
    assert [str(s) for s in settings.webhook_secrets] == ["a" * 16, "b" * 16]


def test_env_file_is_read(tmp_path):
    env = tmp_path / ".env"
    env.write_text("PAYLOAD_URL=http://cms:3000\nPAYLOAD_API_KEY=k\nEXPORT_MAX_FILES=7\n")
    settings = load_settings({}, env_file=env)
    assert settings.payload_url == "http://cms:3000"
    assert settings.limits.max_files == 7


@pytest.mark.parametrize(
    ("variable", "value", "hidden"),
    [
        ("EXPORT_WEBHOOK_SECRET", "short-secret", "short-secret"),
        ("EXPORT_WEBHOOK_SECRET", "a-long-enough-secret-1,tiny-secret", "tiny-secret"),
        ("REDIS_URL", "http://:redis-password@cache:6379/0", "redis-password"),
        ("PAYLOAD_URL", "ftp://svc:payload-password@cms", "payload-password"),
    ],
)
def test_a_rejected_secret_is_never_repeated(variable, value, hidden):
    env = {"PAYLOAD_URL": "http://cms.test", "PAYLOAD_API_KEY": "key-0123456789", variable: value}
    with pytest.raises(SettingsError) as raised:
        load_settings(env, env_file=None)
    assert variable in str(raised.value) and hidden not in str(raised.value)
