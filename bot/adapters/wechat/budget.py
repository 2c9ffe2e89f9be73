"""What one message of a user may bring back on WeChat: the delivery budget (issue 15).

WeChat answers a message with one passive reply (≤ 2048 bytes, within 5 s) and, while a window is open,
a few customer-service messages (windows.py: 5 within 48 h of a message of theirs, 3 within a minute of
a follow, a click or a scan). Everything a message brings back is planned here, within `budget` messages:

1. the answer to the current message (a long reply with a short version goes as that summary and a link
   to its page: planning.py cuts it before it comes here), with any document link it carries;
2. documents as files (WeCom);
3. document links that waited in the outbox, newest first;
4. pictures (page 1 of a form, as it will print) — left out when the budget is used, never kept;
5. other replies that waited (reminders, notices), newest first.

What waited and is no longer worth sending is dropped (`still_worth`): a question, a review, a menu —
any reply that shows where the conversation stood — is superseded by the answer to the current message;
a repeated reply or a newer link to the same file leaves one; at most `MAX_NOTES` notices. What does
not fit the budget is handed back (`Plan.left`) for the outbox, and judged when it would be shown: the
outbox drains, since at every message what waited goes newest first and what is superseded is dropped;
nothing is re-sent in a loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.messages import Document, Reply

TEXT_LIMIT = 2048  # bytes (UTF-8) of one passive reply / customer-service text
MAX_NOTES = 3  # notices (reminders, announcements) kept waiting for one user
ACK = "✓ "  # the line that says an answer was kept ("✓ 已保存：企业名称 …")

CURRENT, FILES, OLD_DOCS, IMAGES, OLD_NOTES = range(5)


@dataclass
class Chunk:
    """One WeChat text message and the replies it carries (to outbox them whole if it fails)."""

    text: str
    sources: list[Reply] = field(default_factory=list)


@dataclass
class Out:
    """One message to send: a text, or a picture / file by upload."""

    kind: str  # "text" | "image" | "file"
    text: str = ""
    doc: Document | None = None
    sources: list[Reply] = field(default_factory=list)


@dataclass
class Unit:
    """A piece of what could go out: a text (merged with others into as few messages as fit), a file or a
    picture (one message each)."""

    tier: int
    kind: str
    reply: Reply
    text: str = ""
    doc: Document | None = None
    old: bool = False


@dataclass
class Plan:
    messages: list[Out]
    left: list[Reply] = field(default_factory=list)  # did not fit, still worth sending: for the outbox
    dropped: int = 0  # waited, and no longer worth sending

    @property
    def passive(self) -> str | None:
        """The text a passive reply can carry: the first message, when it is a text."""
        return self.messages[0].text if self.messages and self.messages[0].kind == "text" else None


def split_bytes(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of ≤ `limit` UTF-8 bytes, cut at line ends where possible."""
    if len(text.encode()) <= limit:
        return [text]
    pieces: list[str] = []
    cur = ""
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # one very long line: cut by characters
            if cur:
                pieces.append(cur)
                cur = ""
            cut, size = 0, 0
            while cut < len(line) and size + len(line[cut].encode()) <= limit:
                size += len(line[cut].encode())
                cut += 1
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{cur}\n{line}" if cur else line
        if len(candidate.encode()) <= limit:
            cur = candidate
        else:
            pieces.append(cur)
            cur = line
    if cur:
        pieces.append(cur)
    return pieces


def merge(items: Sequence[tuple[str, Reply]], limit: int = TEXT_LIMIT) -> list[Chunk]:
    """As few messages as possible, each ≤ `limit` bytes: replies joined by a blank line."""
    chunks: list[Chunk] = []
    for text, source in items:
        for piece in split_bytes(text, limit):
            if chunks and len(f"{chunks[-1].text}\n\n{piece}".encode()) <= limit:
                chunks[-1].text = f"{chunks[-1].text}\n\n{piece}"
                if not any(source is s for s in chunks[-1].sources):
                    chunks[-1].sources.append(source)
            else:
                chunks.append(Chunk(piece, [source]))
    return chunks


def condense(text: str, room: int) -> str:
    """A short version of a long text in ≤ `room` bytes when it has none of its own: every line cut to a
    few characters (a review then shows each answer's start), fewer lines if even that is too long."""
    lines = text.split("\n")
    for cap in (60, 40, 24, 14):
        short = "\n".join(x if len(x) <= cap else x[:cap] + "…" for x in lines)
        if len(short.encode()) <= room:
            return short
    out = ""
    for line in (x if len(x) <= 14 else x[:14] + "…" for x in lines):
        candidate = f"{out}\n{line}" if out else line
        if len(f"{candidate}\n…".encode()) > room:
            break
        out = candidate
    return f"{out}\n…" if out else text.encode()[:max(0, room - 3)].decode("utf-8", "ignore") + "…"


# -- what waited --------------------------------------------------------------------------------------


def _doc_key(doc: Document) -> str:
    return str(doc.path) if doc.path is not None else doc.filename


def worth_keeping(reply: Reply) -> bool:
    """Worth showing at a later message as it is: a document link, or a reply that is not a screen of the
    conversation (a reminder, a notice). A question or a review is superseded by the next answer."""
    return bool(reply.all_documents()) or not reply.screen


def still_worth(waited: Sequence[Reply], max_notes: int = MAX_NOTES) -> tuple[list[Reply], int]:
    """Of what waited (oldest first), what is still worth sending (oldest first) and how many are not.
    A superseded screen leaves its "✓ 已保存：…" lines (one note for all of them): the user learns that
    the answers they sent were kept, without the questions that came after them."""
    kept: list[Reply] = []
    seen: set[tuple] = set()
    docs_seen: set[str] = set()
    acks: list[str] = []
    ack_lang = ""
    notes = dropped = 0
    for reply in reversed(waited):  # newest first: a newer one wins
        docs = [_doc_key(d) for d in reply.all_documents()]
        key = (reply.text, tuple(docs))
        if not worth_keeping(reply):
            dropped += 1
            said = [x for x in reply.text.splitlines() if x.startswith(ACK) and x not in acks]
            acks[:0] = said
            ack_lang = ack_lang or reply.language
            continue
        if key in seen or (docs and all(d in docs_seen for d in docs)):
            dropped += 1
            continue
        if not docs:
            notes += 1
            if notes > max_notes:
                dropped += 1
                continue
        seen.add(key)
        docs_seen.update(docs)
        kept.append(reply)
    kept.reverse()
    if acks:
        kept.append(Reply("\n".join(acks), language=ack_lang or "zh_CN"))
    return kept, dropped


# -- the plan -----------------------------------------------------------------------------------------


def arrange(units: Sequence[Unit], limit: int = TEXT_LIMIT) -> list[Out]:
    """The messages `units` make, in the order they go: texts first (what waited before the current answer
    when both fit in one message, else after it), then files, then pictures."""
    current = merge([(u.text, u.reply) for u in units if u.kind == "text" and not u.old], limit)
    waited = merge([(u.text, u.reply) for u in units if u.kind == "text" and u.old], limit)
    if waited and current and len(waited) == 1 and \
            len(f"{waited[0].text}\n\n{current[0].text}".encode()) <= limit:
        current[0] = Chunk(f"{waited[0].text}\n\n{current[0].text}", [*waited[0].sources, *current[0].sources])
        waited = []
    chunks = [*current, *waited] if current else waited
    out = [Out("text", c.text, sources=c.sources) for c in chunks]
    for kind in ("file", "image"):
        for old in (False, True):
            out += [Out(kind, doc=u.doc, sources=[u.reply]) for u in units if u.kind == kind and u.old is old]
    return out


def plan(units: Sequence[Unit], budget: int, limit: int = TEXT_LIMIT, dropped: int = 0) -> Plan:
    """Take units by tier (within a tier: the current answer in order; what waited newest first) while
    the messages they make stay within `budget`; the pieces of one reply are taken in order, up to the
    first that does not fit. What is not taken is `left` (pictures are not kept): whether it is still
    worth sending is decided when it would be shown (`still_worth`), so nothing computed is lost."""
    rank: dict[int, int] = {}
    for i, u in enumerate(units):
        rank.setdefault(id(u.reply), i)
    order = sorted(range(len(units)), key=lambda i: (units[i].tier, (-1 if units[i].old else 1) * rank[id(units[i].reply)], i))
    taken: set[int] = set()
    cut: set[int] = set()  # replies (by id) whose text stopped at a piece that did not fit
    for i in order:
        u = units[i]
        if u.kind == "text" and id(u.reply) in cut:
            continue
        trial = sorted(taken | {i})
        if len(arrange([units[j] for j in trial], limit)) <= budget:
            taken.add(i)
        elif u.kind == "text":
            cut.add(id(u.reply))
    left: list[Reply] = []
    replies: list[Reply] = []
    for u in units:
        if not any(u.reply is r for r in replies):
            replies.append(u.reply)
    for reply in replies:
        mine = [(i, u) for i, u in enumerate(units) if u.reply is reply and u.kind != "image"]
        missing = [u for i, u in mine if i not in taken]
        if not missing:
            continue
        if len(missing) == len(mine):  # nothing of it went out: it waits whole
            left.append(reply)
            continue
        rest = "\n".join(u.text for u in missing if u.kind == "text")  # the rest of a reply whose start went out
        if rest:
            left.append(Reply(rest, language=reply.language, screen=reply.screen))
        left += [Reply(u.doc.filename, document=u.doc, language=reply.language)
                 for u in missing if u.kind == "file" and u.doc is not None]  # a file unit carries its document
    return Plan(arrange([units[i] for i in sorted(taken)], limit), left, dropped)
