"""Every setting is validated at start-up: one SettingsError line naming the variable, never
another exception, and never a value that would fail later (a NaN interval, a port out of
range, a URL that cannot be parsed, a volume id longer than its column)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outbox.settings import ENV_NAMES, Settings, SettingsError

SECRET = "pa55-w0rd-x"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RELAY_BACKOFF_MAX_SECONDS", "nan"),
        ("RELAY_BACKOFF_BASE_SECONDS", "nan"),
        ("RELAY_POLL_INTERVAL_SECONDS", "nan"),
        ("RELAY_POLL_INTERVAL_SECONDS", "inf"),
        ("RELAY_POLL_INTERVAL_SECONDS", "1e308"),
        ("S3_READ_TIMEOUT_SECONDS", "-inf"),
        ("S3_CONNECT_TIMEOUT_SECONDS", "1e400"),
        ("METRICS_PORT", "99999"),
        ("METRICS_PORT", "-1"),
        ("RELAY_LEASE_SECONDS", "1" + "0" * 30),
        ("RELAY_ORPHAN_GRACE_SECONDS", "9" * 5000),
        ("OUTBOX_RETENTION_DAYS", "99999999999"),
        ("HISTORY_RETENTION_DAYS", "0"),
        ("HISTORY_RETENTION_DAYS", "-3"),
        ("STAGING_VOLUME_ID", "v" * 65),
        ("STAGING_VOLUME_ID", "vol\nume"),
        ("RELAY_ID", "r" * 129),
        ("S3_ENDPOINT_URL", "not-a-url"),
        ("S3_ENDPOINT_URL", "http://"),
        ("S3_ENDPOINT_URL", "http://[::1"),
        ("S3_ENDPOINT_URL", "ftp://host:21"),
        ("S3_ENDPOINT_URL", "http://host:99999"),
        ("DATABASE_URL", "mysql+pymysql://u@db:abc/app"),
        ("DATABASE_URL", "mysql+pymysql://u@[::1/app"),
        ("DATABASE_URL", "mysql+pymysql://u@db:0/app"),
        ("DATABASE_URL", "mysql+mysqldb://u@db/app"),
        ("DATABASE_URL", "mysql://u@db/app"),
        ("DATABASE_URL", "postgresql://u@db/app"),
        ("DATABASE_URL", "not a url"),
        ("ARTIFACT_STORE_URL", "s3://[::1"),
        ("ARTIFACT_STORE_URL", f"s3://AKIAEXAMPLE:{SECRET}@bucket/prefix"),
        ("ARTIFACT_STORE_URL", "s3://bucket:9000/prefix"),
        ("S3_ENDPOINT_URL", f"http://minio:{SECRET}@127.0.0.1:9000"),
        ("ARTIFACT_STORE_URL", "file:///tmp/a\x00b"),
        ("STAGING_DIR", "var/\x00staging"),
    ],
)
def test_a_bad_value_is_one_settings_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert name in message
    assert "\n" not in message
    assert SECRET not in message


def test_history_retention_unset_keeps_history_forever_and_a_positive_value_is_kept() -> None:
    assert Settings.from_env({}).history_retention_days is None
    assert Settings.from_env({"HISTORY_RETENTION_DAYS": "7"}).history_retention_days == 7


def test_metrics_port_range_and_off_by_default() -> None:
    assert Settings.from_env({}).metrics_port is None
    assert Settings.from_env({"METRICS_PORT": "0"}).metrics_port is None
    assert Settings.from_env({"METRICS_PORT": "65535"}).metrics_port == 65535


def test_valid_urls_are_accepted() -> None:
    ok = Settings.from_env(
        {
            "DATABASE_URL": "mysql+pymysql://u:p@[::1]:3307/app?charset=utf8mb4",
            "S3_ENDPOINT_URL": "http://127.0.0.1:8333",
            "ARTIFACT_STORE_URL": "s3://bucket/prefix",
        }
    )
    assert ok.s3_endpoint_url == "http://127.0.0.1:8333"
    assert Settings.from_env({"DATABASE_URL": "mariadb+pymysql://u@db/app"}).database_url
    assert Settings.from_env({"DATABASE_URL": "sqlite:///tmp/x.sqlite3"}).database_url


@pytest.mark.parametrize(
    "url",
    [
        f"mysql+pymysql://u:{SECRET}@db:abc/app",
        f"mysql+pymysql://u@db:abc/app?password={SECRET}",
        f"mysql+mysqldb://u:{SECRET}@db/app",
        f"s3://AKIA:{SECRET}@[::1",
    ],
)
def test_a_refused_url_is_shown_without_its_credentials(url: str) -> None:
    name = "ARTIFACT_STORE_URL" if url.startswith("s3") else "DATABASE_URL"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: url})
    assert SECRET not in str(caught.value)


_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["nan", "inf", "-inf", "1e308", "-0", "0", "1", "65536", "99999", "-1", " 7 ", "0x10"]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "mysql+pymysql://u:p@h:x/d",
            "http://[::1",
            "s3://",
            "file://",
            "sqlite://",
            "mysql://h/d",
            "http://h:0",
        ]
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(ENV_NAMES), _VALUES, max_size=6))
def test_any_environment_gives_settings_or_one_settings_error(env: dict[str, str]) -> None:
    try:
        loaded: Settings | SettingsError = Settings.from_env(env)
    except SettingsError as exc:
        loaded = exc
    if isinstance(loaded, SettingsError):
        assert "\n" not in str(loaded)
        return
    for field in dataclasses.fields(loaded):
        value = getattr(loaded, field.name)
        if isinstance(value, float):
            assert math.isfinite(value), field.name


class _Recording(dict[str, str]):
    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def test_env_names_lists_exactly_the_variables_read() -> None:
    env = _Recording()
    Settings.from_env(env)
    assert env.asked == set(ENV_NAMES)
