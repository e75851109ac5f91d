"""WeCom's official smart-bot SDK (wecom-aibot-python-sdk, PyPI) as the tests' reference.

The SDK is a long-connection client like ours, so it plays the other client: the frames it sends
(aibot/client.py: reply_stream, reply_welcome, update_template_card, send_message; aibot/ws.py:
_send_auth, _send_heartbeat) are what ours must look like, its MessageHandler
(aibot/message_handler.py) must recognise every frame our fake gateway delivers, and it is the
"staging copy" that takes the bot over with a second subscription.
"""

from __future__ import annotations

from typing import Any

import aibot.ws
import pytest
from aibot import MessageHandler, WSClient, WSClientOptions


class QuietLogger:
    """The SDK's Logger protocol (aibot/types.py), keeping what it says for the test."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _keep(self, message: str, *args: Any) -> None:
        self.lines.append(message)

    debug = info = warn = error = _keep


def sdk_client(
    monkeypatch: pytest.MonkeyPatch, url: str, bot_id: str, secret: str, **options: Any
) -> WSClient:
    """Return the SDK's client for the loopback gateway.

    aibot/ws.py (WsConnectionManager.connect) always passes its TLS context to
    websockets.connect, which refuses one for a ws:// address; the fake gateway speaks plain
    ws on 127.0.0.1, so the context is switched off for the test.
    """
    monkeypatch.setattr(aibot.ws, "_SSL_CONTEXT", None)
    settings = WSClientOptions(bot_id=bot_id, secret=secret, ws_url=url, logger=QuietLogger())
    for name, value in options.items():
        setattr(settings, name, value)
    client = WSClient(settings)
    client.on("error", settings.logger.lines.append)  # pyee raises an unheard "error"
    return client


class _Emitter:
    def __init__(self) -> None:
        self.names: list[str] = []

    def emit(self, name: str, *args: Any) -> None:
        self.names.append(name)


def sdk_events(frame: dict[str, Any]) -> list[str]:
    """Return the events the SDK's MessageHandler raises for a frame WeCom delivers."""
    emitter = _Emitter()
    MessageHandler(QuietLogger()).handle_frame(frame, emitter)
    return emitter.names


def shape(value: Any) -> Any:
    """Return the structure of a JSON value: keys and value types, not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


async def stop(client: WSClient) -> None:
    """Disconnect the SDK's client and wait until its socket is closed (disconnect() only
    schedules the close, aibot/ws.py WsConnectionManager.disconnect)."""
    client.disconnect()
    await client._ws_manager._async_disconnect()
