"""Settings come from the environment and .env, and bad values fail with a readable reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.config import ChannelConfigs
from bot.settings import Settings, SettingsError


def test_defaults_use_the_embedded_redis(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=tmp_path / "missing.env")
    assert settings.redis_url is None
    assert settings.port == 8080
    assert settings.mention == "@反诈助手"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("FANZHA_PORT", "eighty", "整数"),
        ("FANZHA_PORT", "70000", "0 到 65535"),
        ("FANZHA_GROUP_REPLY_LIMIT", "0", "1 到"),
        ("FANZHA_LOG_LEVEL", "LOUD", "以下之一"),
        ("FANZHA_TIMEZONE", "Mars/Base", "时区"),
        ("FANZHA_CONTENT_DIR", "/no/such/folder", "不存在"),
        ("FANZHA_BOT_NAME", "  ", "不能为空"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=reason) as caught:
        Settings.from_env({name: value}, env_file=tmp_path / "missing.env")
    assert caught.value.name == name
    assert name in str(caught.value)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("FANZHA_PORT=9001\nFANZHA_BOT_NAME=平安助手\n", encoding="utf-8")
    settings = Settings.from_env({"FANZHA_PORT": "9002"}, env_file=env_file)
    assert settings.port == 9002
    assert settings.bot_name == "平安助手"
    assert settings.mention == "@平安助手"


def test_reply_prefixes_are_a_comma_list(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"FANZHA_REPLY_PREFIXES": "反诈助手, 小安 ,"}, env_file=tmp_path / "none"
    )
    assert settings.reply_prefixes == ("反诈助手", "小安")


def test_channels_are_off_until_configured_and_on_when_they_are(tmp_path: Path) -> None:
    none = tmp_path / "none"
    off = ChannelConfigs.from_env(Settings.from_env({}, env_file=none).environ)
    assert off.wecom_app is None and off.official_account is None and off.wecom_bot is None
    env = {
        "WECHAT_OA_APP_ID": "wx1234567890abcdef",
        "WECHAT_OA_TOKEN": "token123",
        "WECHAT_OA_SECRET": "s" * 32,
    }
    environ = Settings.from_env(env, env_file=none).environ
    account = ChannelConfigs.from_env(environ).official_account
    assert account is not None and account.app_id == env["WECHAT_OA_APP_ID"]


def test_a_half_configured_channel_names_the_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        ChannelConfigs.from_env({"WECOM_APP_TOKEN": "abc"})
    assert caught.value.name.startswith("WECOM_")


def test_public_url_defaults_to_the_listening_address() -> None:
    assert Settings.from_env({"FANZHA_PORT": "9000"}, Path("/nonexistent")).base_url == (
        "http://127.0.0.1:9000"
    )
    settings = Settings.from_env({"FANZHA_PUBLIC_URL": "https://fz.example.cn/"}, Path("/none"))
    assert settings.base_url == "https://fz.example.cn"
    with pytest.raises(SettingsError, match="FANZHA_PUBLIC_URL"):
        Settings.from_env({"FANZHA_PUBLIC_URL": "fz.example.cn"}, Path("/nonexistent"))
