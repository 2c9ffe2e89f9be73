"""WeChat's XML: parse an incoming message safely, build passive replies."""

from __future__ import annotations

import time
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class BadXml(ValueError):
    """Malformed, hostile (DTD, entities) or not a WeChat message."""


def parse(body: bytes | str) -> dict[str, str]:
    """A flat message: tag → text of the root's children (WeChat's messages are one level deep)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BadXml(str(exc)) from exc
    if root.tag != "xml":
        raise BadXml(f"root is <{root.tag}>, not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(now if now is not None else time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(content)}</Content></xml>")
