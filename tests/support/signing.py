"""Sign and encrypt a callback body the way WeChat and WeCom do, with wechatpy's own code.

The plaintext may hold text that is not valid UTF-8 (a lone surrogate): it is written with
`surrogatepass`, so the ciphertext is correctly signed yet decrypts to broken text.
"""

from __future__ import annotations

import secrets
import time

from wechatpy.crypto import PrpCrypto as OAPrpCrypto
from wechatpy.crypto import WeChatCrypto as OACrypto
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.support.all_channels import AES_KEY, APP, OA, TOKEN


def signature(*parts: str) -> str:
    """Return WeChat's signature of `parts` (wechatpy's signer)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def signed_query(encrypted: str, timestamp: str | None = None) -> dict[str, str]:
    """Return a callback query signing `encrypted` (plain `signature` too, for the 公众号)."""
    timestamp = timestamp or str(int(time.time()))
    nonce = str(secrets.randbelow(10**9))
    return {
        "msg_signature": signature(TOKEN, timestamp, nonce, encrypted),
        "signature": signature(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def _encrypt(encrypted: str) -> str:
    return f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"


def _plain(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def app_envelope(inner: str) -> tuple[dict[str, str], bytes]:
    """Return the query and XML body the WeCom app posts for plaintext `inner`."""
    key = WeChatCrypto(TOKEN, AES_KEY, APP.corp_id).key
    encrypted = PrpCrypto(key).encrypt(_plain(inner), APP.corp_id).decode()
    body = f"<xml><ToUserName>{APP.corp_id}</ToUserName>{_encrypt(encrypted)}</xml>"
    return signed_query(encrypted), body.encode()


def oa_envelope(inner: str) -> tuple[dict[str, str], bytes]:
    """Return the safe-mode query and XML body the 公众号 posts for plaintext `inner`."""
    key = OACrypto(TOKEN, AES_KEY, OA.app_id).key
    encrypted = OAPrpCrypto(key).encrypt(_plain(inner), OA.app_id).decode()
    body = f"<xml><ToUserName>gh_fuzz</ToUserName>{_encrypt(encrypted)}</xml>"
    return {**signed_query(encrypted), "encrypt_type": "aes"}, body.encode()


def bot_envelope(inner: str) -> tuple[dict[str, str], bytes]:
    """Return the query and JSON body the smart bot posts for plaintext `inner`."""
    key = WeChatCrypto(TOKEN, AES_KEY, "").key
    encrypted = PrpCrypto(key).encrypt(_plain(inner), "").decode()
    return signed_query(encrypted), f'{{"encrypt": "{encrypted}"}}'.encode()
