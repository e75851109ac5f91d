"""OUTBOX_* settings come from .env like every other setting; bad ones are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.push.outbox.config import OutboxConfig
from bot.settings import Settings, SettingsError


def test_outbox_settings_are_read_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OUTBOX_CONCURRENCY=7\nOUTBOX_UNCERTAIN=hold\nOUTBOX_VISIBILITY=30\n")
    settings = Settings.from_env({"OUTBOX_VISIBILITY": "45"}, env_file=env_file)
    config = OutboxConfig.from_env(settings.environ)
    assert (config.concurrency, config.uncertain, config.visibility) == (7, "hold", 45.0)
    assert OutboxConfig.from_env(Settings.from_env({}, env_file=tmp_path / "none").environ) == (
        OutboxConfig()
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("OUTBOX_UNCERTAIN", "maybe"), ("OUTBOX_CONCURRENCY", "0"), ("OUTBOX_RETRY_BASE", "x")],
)
def test_a_bad_outbox_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        OutboxConfig.from_env({name: value})
    assert refused.value.name == name and "应" in str(refused.value)
