"""WeCom's official JSON crypto sample (WXBizJsonMsgCrypt.py), reproduced for the tests.

The smart bot's callback doc (回调和回复的加解密方案, path/101033) points to the official
加解密库; its Python JSON flavour, WXBizJsonMsgCrypt.py (classes SHA1, JsonParse, PKCS7Encoder,
Prpcrypt, WXBizJsonMsgCrypt), needs pycryptodome, so the same algorithm is written here on
`cryptography`, step by step as the sample does it, independent of wechatpy and of our code:

- signature (SHA1.get_sha1): sha1 of the sorted [token, timestamp, nonce, encrypt], joined;
- encrypt (Prpcrypt.encrypt): 16 random bytes + msg length (4 bytes, network order) + msg +
  receiveid, PKCS#7-padded to a multiple of 32 (PKCS7Encoder.block_size), AES-256-CBC with the
  key base64-decoded from EncodingAESKey + "=" and the IV its first 16 bytes, then base64;
- decrypt (Prpcrypt.decrypt): the reverse, refusing another receiveid;
- encrypt_msg(reply, nonce, timestamp) -> {"encrypt", "msgsignature", "timestamp", "nonce"}
  (JsonParse.generate), with the nonce of the callback URL (path/101033: "需要用回调url中的nonce").
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # PKCS7Encoder.block_size


class SampleError(Exception):
    """The sample would return a non-zero WXBizMsgCryptCode."""


def get_sha1(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Return SHA1.get_sha1: sha1 of the four strings, sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


@dataclass(frozen=True)
class JsonMsgCrypt:
    """WXBizJsonMsgCrypt(token, encoding_aes_key, receive_id)."""

    token: str
    encoding_aes_key: str
    receive_id: str = ""  # 企业内部智能机器人场景中，ReceiveId为空

    @property
    def key(self) -> bytes:
        """Return the AES key: base64 of EncodingAESKey + "=" (32 bytes)."""
        key = base64.b64decode(self.encoding_aes_key + "=")
        assert len(key) == 32, "EncodingAESKey unvalid"
        return key

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, text: str) -> str:
        """Return Prpcrypt.encrypt(text, receive_id) as base64 text."""
        raw = text.encode()
        body = secrets.token_bytes(16) + struct.pack("!I", len(raw)) + raw
        body += self.receive_id.encode()
        pad = BLOCK - len(body) % BLOCK
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(body + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

    def decrypt(self, encrypted: str) -> str:
        """Return Prpcrypt.decrypt(encrypted, receive_id), refusing another receive id."""
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
        content = plain[16 : -plain[-1]]
        (length,) = struct.unpack("!I", content[:4])
        if content[4 + length :].decode() != self.receive_id:
            raise SampleError("ValidateCorpid_Error")
        return content[4 : 4 + length].decode()

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Return the decrypted echostr, as WXBizJsonMsgCrypt.verify_url does."""
        if get_sha1(self.token, timestamp, nonce, echostr) != signature:
            raise SampleError("ValidateSignature_Error")
        return self.decrypt(echostr)

    def encrypt_msg(self, reply: str, nonce: str, timestamp: str) -> dict[str, str]:
        """Return the encrypted reply package WXBizJsonMsgCrypt.encrypt_msg builds."""
        encrypt = self.encrypt(reply)
        signature = get_sha1(self.token, timestamp, nonce, encrypt)
        return {"encrypt": encrypt, "msgsignature": signature, "timestamp": timestamp,
                "nonce": nonce}  # fmt: skip

    def decrypt_msg(self, post_data: str, signature: str, timestamp: str, nonce: str) -> Any:
        """Return the JSON inside a package, checking its signature (decrypt_msg)."""
        encrypt = json.loads(post_data)["encrypt"]
        if get_sha1(self.token, timestamp, nonce, encrypt) != signature:
            raise SampleError("ValidateSignature_Error")
        return json.loads(self.decrypt(encrypt))
