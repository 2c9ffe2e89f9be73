"""What a WeChat message or event says, as the engine's Incoming, and the replies the engine gives it.

- Following the account is `/start` (the greeting); menu clicks are `/start`, `/status`, `/help`
  (menu.py). A follow or a scan of a QR code with a scene (a district's code) keeps the scene in the
  user's row and is `/start <scene>` where the engine takes that scene (`start_text`).
- A voice answer is echoed back ("我听到的是：…。回复 1 确认，2 重说") and goes to the engine only once
  confirmed; a picture is fetched from WeChat by its MediaId and goes as the message's attachment.
- Consent to notifications (subscribe_msg_popup_event), an unfollow and the windows a message opens
  (windows.py) are written to the user's row; a message older than one of theirs already applied
  (order.py) is not applied, and they are told so.
- The engine's answer begins with what waited in the outbox (`taken_outbox` tells the two apart); after a
  finished section an OA user may be asked for consent to reminders once (consent.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.adapters.wechat import windows
from bot.adapters.wechat.api import ApiError, WeChatAPI
from bot.adapters.wechat.book import Book, who
from bot.adapters.wechat.consent import Consent
from bot.adapters.wechat.menu import MENU_COMMANDS
from bot.adapters.wechat.xml import template_statuses
from bot.i18n import N_, gettext
from bot.messages import Attachment, Incoming, Reply, reply_to_dict
from storage.channel_models import ChannelState

log = logging.getLogger(__name__)

MAX_PICTURE = 10 * 1024 * 1024  # WeChat's own limit for an image
PICTURE_EXT = {"image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/bmp": ".bmp"}
CONFIRM = ("1", "确认", "对", "是")
RETRY = ("2", "重说", "不对", "否")
_SCENE = re.compile(r"[A-Za-z0-9_.:@~+=-]{1,64}")


def scene_of(key: str) -> str | None:
    """A QR code's scene (WeChat: scene_id 1–100000 or scene_str of 1–64 characters) as it may be kept and
    passed on: letters, digits and a few marks; anything else is no scene."""
    key = key.strip()
    return key if _SCENE.fullmatch(key) else None


def start_text(scene: str | None, word: Callable[[str], tuple[str, str] | None]) -> str:
    """What a follow or a scan says to the engine: `/start <scene>` once the engine takes a scene there
    (`word`, the engine's reading of a text, names `/start <scene>` "start"), else `/start` — so that, until
    then, a scan in the middle of a form is never taken as the answer to its question. The scene is kept
    either way."""
    if scene:
        said = f"/start {scene}"
        found = word(said)
        if found is not None and found[0] == "start":
            return said
    return "/start"


def taken_outbox(answered: Sequence[Reply], waiting: Sequence[Reply]) -> tuple[list[Reply], list[Reply]]:
    """Split the engine's replies into what waited in the outbox (it shows that first: `waiting`, as read
    just before) and the answer to this message."""
    n = 0
    while n < len(waiting) and n < len(answered) and reply_to_dict(answered[n]) == reply_to_dict(waiting[n]):
        n += 1
    return list(answered[:n]), list(answered[n:])


class Inbound:
    """One account's messages, each to the engine (`app.engine`) as the user meant it. `clock` (epoch
    seconds) is when it arrived, for the windows it opens and a scene's time."""

    def __init__(self, app, settings, name: str, kind: str, api: WeChatAPI, book: Book, consent: Consent,
                 clock: Callable[[], float]) -> None:
        self.app = app
        self.settings = settings
        self.name = name
        self.kind = kind
        self.api = api
        self.book = book
        self.consent = consent
        self.clock = clock

    async def handle(self, key: str, msg: dict[str, str], root, late: bool = False,
                     written: ChannelState | None = None) -> tuple[list[Reply], list[Reply], ChannelState]:
        """One WeChat message or event: (the replies to it, the replies that waited for it in the outbox
        and the engine handed back with its answer, the user's row as it is now). `late`: a newer message
        of the user was applied already (order.py): this one is not. `written`: the row as ordering wrote
        it, with the window this message opens."""
        user = msg["FromUserName"]
        mtype = msg.get("MsgType", "").lower()
        event = msg.get("Event", "").lower() if mtype == "event" else ""
        now = self.clock()
        opened = windows.opened_by(mtype, event) if self.kind == "oa" else None
        values: dict = windows.open_window(opened, now) if opened else {}
        text: str | None = None
        heard = ""
        picture: Attachment | None = None
        replies: list[Reply] = []
        if late:
            state = written or (await self.book.write(user, values, must=True) if values else self.book.copy(user))
            return [self._late(msg, await self.language(user))], [], state
        if event in ("subscribe", "scan"):  # a follow (by a QR code: qrscene_…) or a follower's scan
            raw = msg.get("EventKey", "")
            scene = scene_of(raw.removeprefix("qrscene_") if event == "subscribe" else raw)
            if event == "subscribe" and not raw.startswith("qrscene_"):
                scene = None
            if scene:
                values.update(scene=scene, scene_at=datetime.fromtimestamp(now, UTC))
                log.info("%s %s: came by a QR code (scene %s)", self.name, who(user), scene)
            text = start_text(scene, self.app.engine.word)
        elif event == "click":
            text = MENU_COMMANDS.get(msg.get("EventKey", ""))
        elif event in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
            template = self.settings.wechat_reminder_template_id
            status = template_statuses(root).get(template) if template else None
            if status:
                values["notify"] = status == "accept"
                log.info("%s %s: subscription notifications %s", self.name, who(user), status)
        elif event == "unsubscribe":
            values.update(notify=False, voice_pending=None, **windows.closed())
        elif mtype == "text":
            text = msg.get("Content", "")
        elif mtype == "voice":
            heard = msg.get("Recognition", "").strip().rstrip("。.!！")
            if heard:
                values["voice_pending"] = heard
        elif mtype == "image":
            picture = await self._picture(user, msg)
        waiting: list[Reply] = []
        if text is not None or picture is not None:
            state, waiting = await self.book.begin(user, values, written)
        elif values:
            state = await self.book.write(user, values, must=True)
        else:
            state = self.book.copy(user)
        if mtype not in ("text", "event") and picture is None:
            lang = await self.language(user)
            if heard:
                replies = [Reply(gettext(lang, N_("我听到的是：{text}。回复 1 确认，2 重说"), text=heard), language=lang,
                                 screen="voice")]
            elif mtype == "voice":
                replies = [Reply(gettext(lang, N_("这条语音没有识别出文字，请直接打字回答。")), language=lang,
                                 screen="voice")]
            elif mtype == "image":
                replies = [Reply(gettext(lang, N_("这张图片没有收到，请再发一次。")), language=lang, screen="picture")]
            else:
                replies = [Reply(gettext(lang, N_("暂时只能处理文字、语音和图片，请直接打字回答。")), language=lang,
                                 screen="other")]
        pending = state.voice_pending
        if pending and mtype == "text" and text is not None:
            await self.book.write(user, {"voice_pending": None}, must=True)
            answer = text.strip().rstrip(".、。")
            if answer in CONFIRM:
                text = pending
            elif answer in RETRY:
                text = None
                lang = await self.language(user)
                replies = [Reply(gettext(lang, N_("好的，请再说一遍，或直接打字回答。")), language=lang, screen="voice")]
        if text is None and picture is None:
            return replies, [], state
        answered = await self.app.engine.handle(
            Incoming(channel=self.name, user_id=user, text=text or "", message_id=key, attachment=picture))
        waited, replies = taken_outbox(answered, waiting)
        if any(r.section_done for r in replies) and self.consent.may_ask(state):
            await self.book.write(user, {"notify_asked": True})
            lang = replies[-1].language  # the engine knows it now (a language switch, a first message)
            replies = [*replies, self.consent.question(lang)]
        return replies, waited, state

    def _late(self, msg: dict[str, str], lang: str) -> Reply:
        said = msg.get("Content", "").strip() if msg.get("MsgType", "").lower() == "text" else ""
        if said:
            said = said if len(said) <= 20 else said[:20] + "…"
            text = gettext(lang, N_("“{text}”比您之后发的消息晚到，没有保存。如仍需要，请再发一次。"), text=said)
        else:
            text = gettext(lang, N_("这条消息比您之后发的消息晚到，没有保存。如仍需要，请再发一次。"))
        return Reply(text, language=lang, screen="late")

    async def _picture(self, user: str, msg: dict[str, str]) -> Attachment | None:
        """A picture the user sent, fetched from WeChat by its MediaId (the media API: valid 3 days). The
        PicUrl beside it is not fetched: any address could be written there."""
        media_id = msg.get("MediaId", "").strip()
        if not media_id or len(media_id) > 256:
            return None
        try:
            data, mime, _name = await self.api.download_media(media_id, MAX_PICTURE)
        except ApiError as exc:
            log.warning("%s %s: a picture could not be fetched: %s", self.name, who(user), exc)
            return None
        if not data:
            return None
        mime = mime if mime.startswith("image/") else "image/jpeg"
        return Attachment(f"图片{PICTURE_EXT.get(mime, '.jpg')}", data, mime)

    async def language(self, user: str) -> str:
        """The user's language as the engine last kept it (WeChat does not tell it; zh_CN before their
        first message): for the channel's own lines."""
        known = await self.book.retry("user", lambda: self.app.store.user(self.name, user))
        return known.language if known else "zh_CN"
