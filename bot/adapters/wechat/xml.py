"""WeChat's XML: parse an incoming message safely, build passive replies."""

from __future__ import annotations

import time
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class BadXml(ValueError):
    """Malformed, hostile (DTD, entities) or not a WeChat message."""


def parse_element(body: bytes | str) -> Element:
    """The <xml> root; no DTD, no entities, no external references."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BadXml(str(exc) or type(exc).__name__) from exc
    if root.tag != "xml":
        raise BadXml(f"root is <{root.tag}>, not <xml>")
    return root


def fields(root: Element) -> dict[str, str]:
    """tag → text of the root's leaf children (messages are one level deep; nested lists are skipped)."""
    return {child.tag: (child.text or "").strip() for child in root if len(child) == 0}


def parse(body: bytes | str) -> dict[str, str]:
    return fields(parse_element(body))


def template_statuses(root: Element) -> dict[str, str]:
    """Subscription-notification consent in subscribe_msg_popup_event / subscribe_msg_change_event:
    template id → "accept" | "reject" (each <List> under the event's element)."""
    out = {}
    for item in root.iter("List"):
        tid = (item.findtext("TemplateId") or "").strip()
        status = (item.findtext("SubscribeStatusString") or "").strip()
        if tid and status:
            out[tid] = status
    return out


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(now if now is not None else time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(content)}</Content></xml>")
