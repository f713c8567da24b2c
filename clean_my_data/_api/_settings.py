"""The settings a public call runs with."""

from __future__ import annotations

from clean_my_data._errors import ConfigurationError
from outbox.settings import Settings, SettingsError


def resolve_settings(settings: Settings | None) -> Settings:
    """``settings``, or the ones the environment describes."""
    if settings is not None:
        return settings
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise ConfigurationError(f"configuration error: {exc}") from None
