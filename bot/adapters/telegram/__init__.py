"""The Telegram channel (aiogram 3): the same conversation as the terminal, with Telegram's controls.

- Updates arrive by long polling (default) or a webhook (TELEGRAM_WEBHOOK_URL). Each private chat's
  updates are handled in order by a worker of its own; chats do not wait for each other. Group chats
  get a polite pointer to the private chat and nothing else.
- Nothing received is lost to a crash. Polling confirms an update to the Bot API (the next getUpdates
  offset) only once it is handled: the engine committed it and its replies went out. A process killed
  before that gets it again at its next start. So the offset never passes an update still in hand; the
  updates after it come back with every poll and are skipped here, and while only those come back the
  next poll waits for one to finish (or `busy_poll_interval`, so other chats' new messages still come
  in). An update in hand for over `hold_limit` seconds (a hang) is given up on and confirmed, so one
  stuck update cannot stop the bot. A webhook request is answered 200 only once its update is handled
  (503 if the channel stopped first: Telegram sends it again); with the right secret, a body that is not
  an update is answered 400 and logged in one line; a wrong or missing secret 403.
- `Incoming.message_id` is `u<update_id>`: the engine stores it, so an update has one effect even if
  Telegram delivers it again after a restart (its replies are sent again); a repeat within one run is
  dropped here.
- Choices are inline keyboards; multi-select buttons show ☑/☐ and a tap re-draws the same message's
  keyboard. Whether to re-draw is read off the reply alone — a multi-select reply with the tapped
  keyboard's labels (and the same question, where known) — never off a button's payload, which is the
  engine's. A tapped keyboard is answered at once (answerCallbackQuery) and taken off its message, so it
  cannot be tapped twice into two answers; so are the keyboards of earlier questions.
- Replies longer than 4096 characters are split at line breaks (the keyboard on the last part); a finished
  form is sent as a document with a caption of at most 1024 characters.
- A reply with a page (`Reply.page`: 我的文件, a form's full review) ends with one line linking to it
  (`bot.web.page_url`, in the user's language); one that would need several messages and has a summary
  is sent as the summary and that link instead. No JIEBANG_PUBLIC_URL: no link, the text as it is.
  A reply's picture (`Reply.image`, page 1 of the form as it will print) goes as a photo (sendPhoto),
  before its documents, or carrying the text as its caption when the reply has no documents.
- Every call that sends something goes through one `Outbox`: about 30 calls a second overall and one
  message a second per chat (a short burst allowed; `bot.adapters.ratelimit`); a 429 is waited out
  (`retry_after`) and the call repeated, never dropped; any other error is logged with the update it
  answered and the bot carries on.

Where what is:

- `render`: how a Reply looks on Telegram, no I/O: the limits (`MAX_TEXT`, `MAX_CAPTION`,
  `MAX_CALLBACK_DATA`), the channel's own words (`TEXTS`, `channel_text`) and command menu (`COMMANDS`,
  `COMMAND_DESCRIPTIONS`), `utf16_len`, `split_text`, `caption_of`, `command_text`, and the inline
  `keyboard` with ☑/☐ (`TICKED`, `UNTICKED`) and its labels read back (`markup_labels`, `unmark`).
- `outbox`: `Outbox`, the paced Bot API calls (token buckets, 429 waited out, network errors retried).
- `delivery`: `Delivery`, one chat's replies out in order: the keyboards taken off or re-drawn in place,
  texts split, the page link, photos and documents with their captions.
- `channel`: `TelegramChannel`, the lifecycle, long polling and its offset, the webhook (`SECRET_HEADER`),
  each chat's updates in order by a worker, messages, files and taps to the engine, "typing…".
- here: those names, so `from bot.adapters.telegram import TelegramChannel, split_text` reads as before
  (the registry loads `bot.adapters.telegram:TelegramChannel`).

channel imports delivery, outbox and render; delivery imports outbox and render; outbox and render import
nothing of the package. All four log to the logger `bot.adapters.telegram`.
"""

from bot.adapters.telegram.channel import ALLOWED_UPDATES, MAX_DOWNLOAD, SECRET_HEADER, TelegramChannel
from bot.adapters.telegram.delivery import Delivery
from bot.adapters.telegram.outbox import Outbox
from bot.adapters.telegram.render import (
    CHANNEL,
    COMMAND_DESCRIPTIONS,
    COMMANDS,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    TEXTS,
    TICKED,
    UNTICKED,
    caption_of,
    channel_text,
    command_text,
    keyboard,
    markup_labels,
    split_text,
    unmark,
    utf16_len,
)

__all__ = [
    "ALLOWED_UPDATES", "CHANNEL", "COMMANDS", "COMMAND_DESCRIPTIONS", "MAX_CALLBACK_DATA", "MAX_CAPTION",
    "MAX_DOWNLOAD", "MAX_TEXT", "SECRET_HEADER", "TEXTS", "TICKED", "UNTICKED", "Delivery", "Outbox",
    "TelegramChannel", "caption_of", "channel_text", "command_text", "keyboard", "markup_labels", "split_text",
    "unmark", "utf16_len",
]
