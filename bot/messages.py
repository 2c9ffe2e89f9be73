"""The values that cross the adapter boundary: what a channel hands the engine, what it gets back.

Nothing here knows a platform. An adapter turns its platform's traffic into `Incoming` and renders
`Reply` values with the controls its platform has (inline keyboards, numbered lines, links).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent (supporting evidence)."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from a user, as any channel delivers it.

    `message_id` is the channel's own id for the delivery: a repeated id has one effect and gets
    the same replies (channels retry). `payload` is set when the user tapped a button; `text` holds
    what they typed (or a voice message's recognised text, once confirmed).
    """

    channel: str
    user_id: str
    text: str = ""
    message_id: str | None = None
    payload: str | None = None
    attachment: Attachment | None = None
    language: str | None = None
    # The channel's own order of this user's messages (Telegram's update_id), where it numbers them: a
    # message that arrives after a later one was applied is not applied (its answer would land on a later
    # question); the user is asked to send it again. None: the channel keeps order itself.
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A choice. `payload` is short and opaque (≤ 64 bytes, Telegram's limit); never a label."""

    label: str
    payload: str
    selected: bool | None = None  # multi-select: ticked or not; None for a plain choice
    # A convenience the text already says how to do by typing (跳过 at an optional question): drawn where a
    # platform has keyboards, left out of numbered lines (where "1" would rather be an answer).
    shortcut: bool = False


DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MIME = "application/pdf"
PNG_MIME = "image/png"


@dataclass(frozen=True, slots=True)
class Document:
    """A finished form. `path` is where the file lives on disk (for download links)."""

    filename: str
    data: bytes
    path: Path | None = None
    mime: str = DOCX_MIME


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the user. Buttons are numbered lines where a platform has no keyboard."""

    text: str
    buttons: tuple[Button, ...] = ()
    multi: bool = False  # buttons toggle; a `done` button (payload ends with ":done") closes the choice
    document: Document | None = None
    documents: tuple[Document, ...] = field(default=())
    # This answer finished a section of a form: a good moment for a channel to ask something of its own
    # once (WeChat: consent to reminder notifications). Channels that need nothing ignore it.
    section_done: bool = False
    # The language the text is in, so a channel writes its own lines (download links…) in it too.
    language: str = "zh_CN"
    # Where the conversation stands after this reply: the screen ("ask", "review", "menu" …) and, on a
    # question, its step key ("sme_match/revenue", "sme_match/items.0.name"). Tests and channels read
    # these instead of parsing the text.
    screen: str = ""
    step: str = ""
    # A long reply (a review, a preview, a status) for channels with a small delivery budget: `summary` is
    # its short version, `page` names the web page with the whole of it ("review:<submission id>",
    # "files"). A channel that cannot deliver `text` whole sends the summary and a link to the page.
    summary: str = ""
    page: str = ""
    # A picture to show beside the text (page 1 of a form as it will print, PNG); channels that cannot
    # show images leave it out.
    image: Document | None = None

    def all_documents(self) -> tuple[Document, ...]:
        return ((self.document,) if self.document else ()) + self.documents


def reply_to_dict(reply: Reply) -> dict:
    """A reply as JSON, to store with the message it answered (documents by path, not bytes)."""
    d: dict = {"text": reply.text}
    if reply.buttons:
        d["buttons"] = [[b.label, b.payload, b.selected, *([True] if b.shortcut else [])] for b in reply.buttons]
    if reply.multi:
        d["multi"] = True
    docs = [{"filename": x.filename, "path": str(x.path) if x.path else None, "mime": x.mime}
            for x in reply.all_documents()]
    if docs:
        d["documents"] = docs
    if reply.section_done:
        d["section_done"] = True
    if reply.language != "zh_CN":
        d["language"] = reply.language
    if reply.screen:
        d["screen"] = reply.screen
    if reply.step:
        d["step"] = reply.step
    if reply.summary:
        d["summary"] = reply.summary
    if reply.page:
        d["page"] = reply.page
    if reply.image is not None and reply.image.path is not None:
        d["image"] = {"filename": reply.image.filename, "path": str(reply.image.path), "mime": reply.image.mime}
    return d


def reply_from_dict(d: dict) -> Reply:
    docs = []
    for x in d.get("documents", ()):
        path = Path(x["path"]) if x.get("path") else None
        if path is not None and path.exists():
            docs.append(Document(x["filename"], path.read_bytes(), path, x.get("mime") or DOCX_MIME))
    return Reply(
        text=d.get("text", ""),
        buttons=tuple(Button(b[0], b[1], b[2] if len(b) > 2 else None, shortcut=len(b) > 3 and bool(b[3]))
                      for b in d.get("buttons", ())),
        multi=bool(d.get("multi")),
        document=docs[0] if docs else None,
        documents=tuple(docs[1:]),
        section_done=bool(d.get("section_done")),
        language=d.get("language") or "zh_CN",
        screen=d.get("screen", ""),
        step=d.get("step", ""),
        summary=d.get("summary", ""),
        page=d.get("page", ""),
        image=_document(d["image"]) if d.get("image") else None,
    )


def _document(x: dict) -> Document | None:
    path = Path(x["path"]) if x.get("path") else None
    if path is None or not path.exists():
        return None
    return Document(x["filename"], path.read_bytes(), path, x.get("mime") or PNG_MIME)
