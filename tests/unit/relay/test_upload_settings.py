"""The relay's upload settings: defaults and their bounds."""

from __future__ import annotations

import pytest

from outbox.settings import MAX_SINGLE_PUT_BYTES, Settings, SettingsError

MIB = 1024 * 1024


def test_defaults_send_up_to_100_mib_in_one_put_within_a_64_mib_budget() -> None:
    settings = Settings.from_env({})
    assert settings.relay_multipart_threshold_bytes == 100 * MIB
    assert settings.relay_max_bytes_in_flight == 64 * MIB


def test_the_threshold_cannot_exceed_s3s_single_put_limit() -> None:
    limit = str(MAX_SINGLE_PUT_BYTES)
    assert (
        Settings.from_env(
            {"RELAY_MULTIPART_THRESHOLD_BYTES": limit}
        ).relay_multipart_threshold_bytes
        == MAX_SINGLE_PUT_BYTES
    )
    with pytest.raises(SettingsError, match=r"RELAY_MULTIPART_THRESHOLD_BYTES.*at most"):
        Settings.from_env({"RELAY_MULTIPART_THRESHOLD_BYTES": str(MAX_SINGLE_PUT_BYTES + 1)})


def test_the_budget_is_read_and_has_a_floor() -> None:
    settings = Settings.from_env({"RELAY_MAX_BYTES_IN_FLIGHT": str(8 * MIB)})
    assert settings.relay_max_bytes_in_flight == 8 * MIB
    with pytest.raises(SettingsError, match=r"RELAY_MAX_BYTES_IN_FLIGHT.*at least"):
        Settings.from_env({"RELAY_MAX_BYTES_IN_FLIGHT": "1000"})
