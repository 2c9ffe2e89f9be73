"""The message crypto against Tencent's published sample values and against wechatpy (test-only)."""

from __future__ import annotations

import base64
import os
from urllib.parse import quote, unquote

import pytest

from bot.adapters.wechat.crypto import CryptoError, MsgCrypt, aes_key, check_signature, pad, signature, unpad
from bot.adapters.wechat.xml import BadXml, parse, text_reply

# A. Official Account: Tencent's WXBizMsgCrypt Python sample.
A_TOKEN, A_KEY, A_APPID = "spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"
A_TS, A_NONCE, A_MSG_SIG = "1409735669", "1320562132", "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
A_SIG = "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
A_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
    "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3y"
    "t+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v"
    "6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
# B. WeCom: the official doc / C# sample vector.
B_TOKEN, B_KEY, B_CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
B_TS, B_NONCE, B_MSG_SIG = "1409659813", "1372623149", "477715d11cdb4164915debcba66cb864d751f3e6"
B_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
    "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwG"
    "c2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9"
    "EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0"
    "lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
B_GET_SIG, B_GET_TS, B_GET_NONCE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780"
B_GET_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="


def _raw_plain(crypt: MsgCrypt, encrypted: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    dec = Cipher(algorithms.AES(crypt.key), modes.CBC(crypt.key[:16])).decryptor()
    return dec.update(base64.b64decode(encrypted)) + dec.finalize()


def test_vector_a_official_account():
    assert signature(A_TOKEN, A_TS, A_NONCE) == A_SIG
    assert check_signature(A_SIG, A_TOKEN, A_TS, A_NONCE)
    crypt = MsgCrypt(A_TOKEN, A_KEY, A_APPID)
    assert crypt.msg_signature(A_TS, A_NONCE, A_ENCRYPT) == A_MSG_SIG
    xml = crypt.decrypt_verified(A_MSG_SIG, A_TS, A_NONCE, A_ENCRYPT)
    msg = parse(xml)
    assert msg["Content"] == "abcdteT" and msg["MsgId"] == "6054768590064713728" and msg["MsgType"] == "text"
    assert _raw_plain(crypt, A_ENCRYPT)[-1] == 2


def test_vector_b_wecom_post_with_padding_30():
    crypt = MsgCrypt(B_TOKEN, B_KEY, B_CORP)
    assert crypt.msg_signature(B_TS, B_NONCE, B_ENCRYPT) == B_MSG_SIG
    msg = parse(crypt.decrypt_verified(B_MSG_SIG, B_TS, B_NONCE, B_ENCRYPT))
    assert (msg["Content"], msg["MsgId"], msg["AgentID"]) == ("hello", "4561255354251345929", "218")
    raw = _raw_plain(crypt, B_ENCRYPT)
    assert raw[-1] == 30 and raw[-30:] == bytes([30]) * 30
    assert raw[:-30].endswith(B_CORP.encode())


def test_vector_b_wecom_get_echostr():
    crypt = MsgCrypt(B_TOKEN, B_KEY, B_CORP)
    query_value = quote(B_GET_ECHO, safe="")  # as it arrives in the URL
    echo = unquote(query_value)
    assert crypt.decrypt_verified(B_GET_SIG, B_GET_TS, B_GET_NONCE, echo) == "1616140317555161061"


def test_wrong_signature_wrong_appid_and_bad_padding_rejected():
    crypt = MsgCrypt(A_TOKEN, A_KEY, A_APPID)
    with pytest.raises(CryptoError):
        crypt.decrypt_verified("0" * 40, A_TS, A_NONCE, A_ENCRYPT)
    with pytest.raises(CryptoError, match="appid"):
        MsgCrypt(A_TOKEN, A_KEY, "wx0000000000000000").decrypt(A_ENCRYPT)
    with pytest.raises(CryptoError):
        crypt.decrypt("not base64 !!")
    # a plaintext whose last byte claims 33 bytes of padding (> the 32-byte block)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(crypt.key), modes.CBC(crypt.key[:16])).encryptor()
    bad = base64.b64encode(enc.update(b"x" * 31 + bytes([33])) + enc.finalize()).decode()
    with pytest.raises(CryptoError, match="padding"):
        crypt.decrypt(bad)
    with pytest.raises(CryptoError, match="padding"):
        unpad(b"a" * 30 + b"\x01\x02")
    with pytest.raises(CryptoError):
        aes_key("short")


@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 100])
def test_pad_to_32_byte_blocks(n):
    padded = pad(b"a" * n)
    assert len(padded) % 32 == 0 and 1 <= len(padded) - n <= 32
    assert unpad(padded) == b"a" * n


def test_round_trip_chinese():
    crypt = MsgCrypt(B_TOKEN, B_KEY, B_CORP)
    text = "<xml><Content><![CDATA[我听到的是：上海]]></Content></xml>"
    assert crypt.decrypt(crypt.encrypt(text)) == text


def test_encrypted_reply_envelope_verifies():
    crypt = MsgCrypt(A_TOKEN, A_KEY, A_APPID)
    env = parse(crypt.encrypt_reply(text_reply("openid", "gh_x", "你好 ]]> 好", now=1), "123", "456"))
    assert crypt.verify(env["MsgSignature"], env["TimeStamp"], env["Nonce"], env["Encrypt"])
    assert parse(crypt.decrypt(env["Encrypt"]))["Content"] == "你好 ]]> 好"


def test_xml_parser_refuses_entities_and_garbage():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    for body in (bomb, b"<xml><unclosed></xml>", b"", b"<notxml/>"):
        with pytest.raises(BadXml):
            parse(body)


# -- cross-check with wechatpy (test-only dependency) ------------------------------------------------

def test_wechatpy_decrypts_ours_and_we_decrypt_theirs():
    wechatpy_crypto = pytest.importorskip("wechatpy.crypto")
    theirs = wechatpy_crypto.WeChatCrypto(A_TOKEN, A_KEY, A_APPID)
    ours = MsgCrypt(A_TOKEN, A_KEY, A_APPID)
    reply = text_reply("openid", "gh_x", "确认 " * 50, now=7)
    env = ours.encrypt_reply(reply, "1700000000", "nonce1")
    assert theirs.decrypt_message(env, parse(env)["MsgSignature"], "1700000000", "nonce1") == reply
    msg = "<xml><Content><![CDATA[" + os.urandom(8).hex() + "上海]]></Content></xml>"
    env2 = parse(theirs.encrypt_message(msg, "n2", "1700000001"))
    assert ours.decrypt_verified(env2["MsgSignature"], env2["TimeStamp"], env2["Nonce"], env2["Encrypt"]) == msg


def test_wechatpy_enterprise_both_ways():
    ent = pytest.importorskip("wechatpy.enterprise.crypto")
    theirs = ent.WeChatCrypto(B_TOKEN, B_KEY, B_CORP)
    ours = MsgCrypt(B_TOKEN, B_KEY, B_CORP)
    assert theirs.check_signature(B_GET_SIG, B_GET_TS, B_GET_NONCE, B_GET_ECHO) == "1616140317555161061"
    env = ours.encrypt_reply("<xml><Content>企业微信</Content></xml>", "1700000002", "n3")
    assert theirs.decrypt_message(env, parse(env)["MsgSignature"], "1700000002", "n3").endswith("</xml>")
    env2 = parse(theirs.encrypt_message("<xml><A>b</A></xml>", "n4", "1700000003"))
    assert ours.decrypt_verified(env2["MsgSignature"], env2["TimeStamp"], env2["Nonce"], env2["Encrypt"]) \
        == "<xml><A>b</A></xml>"
