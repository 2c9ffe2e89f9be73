"""WeChat's message crypto (WXBizMsgCrypt), shared by the Official Account and WeCom.

- signature = sha1 of the sorted, concatenated parts ([token, timestamp, nonce] for the plain
  `signature`; plus the Encrypt text for `msg_signature`).
- AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32-byte blocks.
- plaintext = random(16) + len(msg) as 4 bytes big-endian + msg + receive id (appid / corpid).

Pure functions on `cryptography`; no I/O, cheap enough to call inside the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """A message that does not decrypt or verify: bad key, padding, length or receive id."""


def signature(*parts: str) -> str:
    """sha1 of the sorted, concatenated parts, hex."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(expected: str | None, *parts: str) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(signature(*parts), expected.strip().lower())


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise CryptoError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise CryptoError("EncodingAESKey does not decode to 32 bytes")
    return key


def pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= BLOCK or n > len(data) or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


class MsgCrypt:
    """Encrypt and decrypt one account's messages. `receive_id` is the appid (OA) or corpid (WeCom)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, text: str, random16: bytes | None = None) -> str:
        msg = text.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(msg)) + msg + self.receive_id.encode()
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(pad(plain)) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("Encrypt is not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        dec = self._cipher().decryptor()
        plain = unpad(dec.update(raw) + dec.finalize())
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("bad message length")
        msg, tail = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(tail, self.receive_id.encode()):
            raise CryptoError("message is for another appid/corpid")
        try:
            return msg.decode()
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc

    def msg_signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def verify(self, msg_signature: str | None, timestamp: str, nonce: str, encrypted: str) -> bool:
        return check_signature(msg_signature, self.token, timestamp, nonce, encrypted)

    def decrypt_verified(self, msg_signature: str | None, timestamp: str, nonce: str, encrypted: str) -> str:
        if not self.verify(msg_signature, timestamp, nonce, encrypted):
            raise CryptoError("bad msg_signature")
        return self.decrypt(encrypted)

    def encrypt_reply(self, xml: str, timestamp: str, nonce: str) -> str:
        """The encrypted passive-reply envelope."""
        enc = self.encrypt(xml)
        sig = self.msg_signature(timestamp, nonce, enc)
        return (f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")
