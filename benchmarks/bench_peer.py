"""The peer: the same 对接表 in python-telegram-bot 22 (ConversationHandler + PicklePersistence), durable.

    python benchmarks/bench_peer.py                        # 20 and 200 users, 1 and 10 at a time
    python benchmarks/bench_peer.py --users 200 --concurrency 10 --json /tmp/peer.json

What a user of python-telegram-bot would write instead of this project: one ConversationHandler state a
question, the answers in `context.user_data`, PicklePersistence — and, to be as durable as this project
(an answer the user saw accepted survives kill -9), after every answer `Application.update_persistence()`,
`PicklePersistence.flush()` (the whole pickle rewritten) and an fsync of the file.
No network: Update objects go straight into `Application.process_update`; the bot's getMe and sendMessage
return at once. Each answer is checked by this project's own validators and form (bot.dialogs), so the
logic per answer is the same; the answers are tests/conftest.py's SME_STEPS, chosen by step key as
ChatClient.fill chooses them (SME_ANSWERS by question where there are no step keys); every message is an
answer (a skip, a long text's parts and its closing 完成, the "no more items" too), as in bench_engine.py.

python-telegram-bot is installed into benchmarks/.peer-venv (made on the first run: python -m venv, pip), with
the libraries the project's validators import at the versions of the venv that launched this script, and
the script re-executes itself there; python-telegram-bot is never a dependency of the bot.
Timed per answer: process_update → update_persistence → flush → fsync. The /start that opens each
user's form is sent before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peer-venv"
PEER = "python-telegram-bot==22.*"

# Run by the launching interpreter: the third-party distributions the project's form and validators import,
# at the versions installed there (the bot's own venv), so the peer checks answers with the same code.
_FIND_REQUIREMENTS = r"""
import importlib.metadata as md, json, sys
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
import bot.dialogs.forms.sme_match, bot.dialogs.validators
dists = md.packages_distributions()
names = {d for m in set(sys.modules) - before for d in dists.get(m.split(".")[0], ())}
print(json.dumps(sorted(f"{d}=={md.version(d)}" for d in names if d.replace("_", "-").lower() != "jiebang-bot")))
"""


def requirements() -> list[str]:
    found = subprocess.run([sys.executable, "-c", _FIND_REQUIREMENTS, str(HERE.parent)], capture_output=True,
                           text=True)
    if found.returncode == 0:
        return [PEER, *json.loads(found.stdout)]
    import tomllib  # not the bot's venv: all of the project's runtime dependencies, as pyproject.toml caps them

    project = tomllib.loads((HERE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [PEER, *project["dependencies"]]


def ensure_peer_venv() -> None:
    """Run inside benchmarks/.peer-venv, making it (or adding what the validators came to need) first."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    ready = VENV / ".installed"
    wanted = requirements()
    if not python.exists() or not ready.exists() or ready.read_text() != "\n".join(wanted):
        print(f"installing {', '.join(wanted)} into {VENV}", file=sys.stderr)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *wanted],
                       check=True)
        ready.write_text("\n".join(wanted))
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    ensure_peer_venv()

# -- from here on: inside the peer's venv ---------------------------------------------------------------

import asyncio  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

sys.path.insert(0, str(HERE))
import benchlib  # noqa: E402
from telegram import Chat, Message, MessageEntity, Update, User  # noqa: E402
from telegram import __version__ as PTB_VERSION  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    ExtBot,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning  # noqa: E402

from bot.dialogs.fields import Choice, Field, Group  # noqa: E402
from bot.dialogs.forms.sme_match import FORM  # noqa: E402
from bot.dialogs.results import Ambiguous, Invalid, Ok  # noqa: E402

warnings.filterwarnings("ignore", category=PTBUserWarning)
NOW = datetime.now(UTC)
SKIP = {"跳过", "skip"}
DONE = {"完成", "done"}
REVIEW_MARK = "全部填完了"


# -- the form as ConversationHandler states: one a question ----------------------------------------------

@dataclass(frozen=True)
class Step:
    field: Field | None  # None: the group's "one more item?" question
    group: Group | None = None

    def key(self, answers: dict) -> str:
        """The step key, as this project's replies name it: "company_name", "items.0.name", "items.#more"."""
        if self.group is None:
            return self.field.key
        if self.field is None:
            return f"{self.group.key}.#more"
        return f"{self.group.key}.{max(len(answers.get(self.group.key, [])) - 1, 0)}.{self.field.key}"


STEPS: list[Step] = []
for _item in FORM.items:
    if isinstance(_item, Group):
        STEPS.extend(Step(f, _item) for f in _item.fields)
        STEPS.append(Step(None, _item))
    else:
        STEPS.append(Step(_item))
REVIEW = len(STEPS)
TOTAL = sum(1 for s in STEPS if s.field is not None)


def applies(step: Step, answers: dict) -> bool:
    if step.group is not None:
        return step.group.applies(answers)
    return step.field.applies(answers)


ASKED: dict[int, str] = {}  # chat → step key of the question last asked (the harness's view, like Reply.step)


def question(i: int, ud: dict, chat_id: int) -> str:
    step = STEPS[i]
    ASKED[chat_id] = step.key(ud["answers"])
    if step.field is None:
        return step.group.more_question
    label = step.field.label
    if step.group is not None:
        label = f"{step.group.label} {len(ud['answers'].get(step.group.key, [])) or 1} · {label}"
    lines = [f"{label} ({i + 1}/{TOTAL})"]
    if step.field.compute is not None:
        proposed = step.field.compute(ud["answers"])
        if isinstance(proposed, Ok):
            lines.append(f"计算结果：{proposed.value}  1. 确认  2. 修改数字")
    choices = step.field.choices_for(ud["answers"])
    if choices and step.field.compute is None:
        lines.extend(f"{n}. {c.text}" for n, c in enumerate(choices, 1))
    if step.field.hint:
        lines.append(step.field.hint)
    return "\n".join(lines)


def pick(choices: tuple[Choice, ...], raw: str, multi: bool) -> Ok | Invalid:
    parts = [p for p in re.split(r"[,，、\s]+", raw) if p] if multi else [raw]
    values = []
    for p in parts:
        if p.isdigit() and 1 <= int(p) <= len(choices):
            values.append(choices[int(p) - 1].value)
            continue
        found = [c for c in choices if p in (c.value, c.text)]
        if len(found) != 1:
            return Invalid("no_such_choice")
        values.append(found[0].value)
    return Ok(values if multi else values[0])


def check(step: Step, raw: str, answers: dict) -> Ok | Invalid | Ambiguous:
    """The project's own checks (bot.dialogs.validators via the form's fields)."""
    f = step.field
    if f is None:
        if raw in ("是", "1", "yes"):
            return Ok(True)
        return Ok(False) if raw in ("否", "2", "no") else Invalid("no_such_choice")
    if f.optional and raw.lower() in SKIP:
        return Ok(None)
    if f.compute is not None:
        proposed = f.compute(answers)
        if isinstance(proposed, Ok) and raw in ("1", "确认", "ok"):
            return Ok(proposed.value)
    choices = f.choices_for(answers)
    if choices:
        return pick(choices, raw, f.multi)
    if f.validate is not None:
        return f.validate(raw, answers)
    return Ok(raw)


def shown(step: Step, value) -> str:
    if value is None:
        return "—"
    if step.field is not None and step.field.show is not None:
        return step.field.show(value)
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


def next_step(i: int, answers: dict, more: bool = False) -> int:
    if more:  # one more item: back to the group's first field
        return next(j for j, s in enumerate(STEPS) if s.group is STEPS[i].group)
    j = i + 1
    while j < REVIEW and not applies(STEPS[j], answers):
        j += 1
    return j


def summary(answers: dict) -> str:
    lines = [f"{REVIEW_MARK}。请核对《{FORM.title}》："]
    for s in STEPS:
        if s.field is None:
            continue
        if s.group is None:
            if applies(s, answers):
                lines.append(f"{s.field.label}：{shown(s, answers.get(s.field.key))}")
        else:
            for n, item in enumerate(answers.get(s.group.key, []), 1):
                lines.append(f"{s.group.label} {n} · {s.field.label}：{shown(s, item.get(s.field.key))}")
    return "\n".join(lines)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data["answers"] = {}
    await update.message.reply_text(question(0, context.user_data, update.effective_chat.id))
    return 0


def on_answer(i: int):
    step = STEPS[i]

    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        ud = context.user_data
        answers = ud["answers"]
        raw = update.message.text.strip()
        if step.field is not None and step.field.long_text and raw.lower() not in DONE | SKIP:
            parts = ud.setdefault("parts", [])  # a long section in several messages, closed by 完成
            parts.append(raw)
            await update.message.reply_text(f"已收到第{len(parts)}段。继续发送，或回复“完成”。")
            return i
        if step.field is not None and step.field.long_text and raw.lower() in DONE:
            raw = "\n".join(ud.pop("parts", []))
        result = check(step, raw, answers)
        if not isinstance(result, Ok):
            code = getattr(result, "code", "choose_one")
            await update.message.reply_text(f"✗ {code}\n{question(i, ud, update.effective_chat.id)}")
            return i
        if step.field is None:
            nxt = next_step(i, answers, more=result.value)
            if result.value:
                answers[step.group.key].append({})
            saved = ""
        else:
            if step.group is None:
                answers[step.field.key] = result.value
            else:
                items = answers.setdefault(step.group.key, [])
                if not items:
                    items.append({})
                items[-1][step.field.key] = result.value
            nxt = next_step(i, answers)
            saved = f"✓ 已保存：{step.field.label} {shown(step, result.value)}\n"
        if nxt == REVIEW:
            ASKED[update.effective_chat.id] = ""
            await update.message.reply_text(saved + summary(answers))
            return REVIEW
        await update.message.reply_text(saved + question(nxt, ud, update.effective_chat.id))
        return nxt

    return handler


async def review(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(summary(context.user_data["answers"]))
    return REVIEW


def conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND
    states = {i: [MessageHandler(text, on_answer(i))] for i in range(len(STEPS))}
    states[REVIEW] = [MessageHandler(text, review)]
    return ConversationHandler(entry_points=[CommandHandler("start", start)], states=states,
                               fallbacks=[CommandHandler("start", start)], name="sme_match", persistent=True)


# -- no network: a bot that answers getMe and sendMessage itself, a persistence that fsyncs -------------

class OfflineBot(ExtBot):
    """ExtBot whose getMe and sendMessage return without HTTP; it keeps each chat's last text (on the class:
    a bot's instances are frozen)."""

    last: dict[int, str] = {}
    sent = 0

    async def get_me(self, *args, **kwargs) -> User:
        self._bot_user = User(id=1, first_name="bench", is_bot=True, username="bench_bot")
        return self._bot_user

    async def send_message(self, chat_id, text, *args, **kwargs) -> Message:
        OfflineBot.last[chat_id] = text
        OfflineBot.sent += 1
        return Message(message_id=OfflineBot.sent, date=NOW, chat=Chat(id=chat_id, type=Chat.PRIVATE), text=text)


class DurablePickle(PicklePersistence):
    """PicklePersistence whose flush() is durable: the file written (in place, as PTB writes it), then fsync."""

    async def flush(self) -> None:
        await super().flush()
        fd = os.open(self.filepath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- the run --------------------------------------------------------------------------------------------

async def run(users: int, concurrency: int, workdir: Path) -> dict:
    mode, script = benchlib.sme_script()
    path = workdir / f"peer-{users}-{concurrency}.pickle"
    persistence = DurablePickle(filepath=path, on_flush=True, update_interval=10**9)
    OfflineBot.last = {}
    ASKED.clear()
    bot = OfflineBot("123456:offline-benchmark-token")
    app = Application.builder().bot(bot).updater(None).persistence(persistence).build()
    app.add_handler(conversation())
    await app.initialize()
    ids = iter(range(1, 10**9))

    def update(uid: int, text: str) -> Update:
        n = next(ids)
        text = json.loads(json.dumps(text))  # a string of its own, as an update parsed off the wire has
        entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text))] if text.startswith("/") else None
        msg = Message(message_id=n, date=NOW, chat=Chat(id=uid, type=Chat.PRIVATE), text=text, entities=entities,
                      from_user=User(id=uid, first_name="u", is_bot=False))
        msg.set_bot(bot)
        return Update(update_id=n, message=msg)

    latencies: list[float] = []

    async def send(uid: int, text: str, timed: bool) -> str:
        u = update(uid, text)
        t0 = time.perf_counter()
        await app.process_update(u)
        await app.update_persistence()
        await persistence.flush()
        if timed:
            latencies.append(time.perf_counter() - t0)
        return bot.last[uid]

    uids = [100_000 + n for n in range(users)]
    for uid in uids:  # each user's form opened, before the clock starts
        await send(uid, "/start", timed=False)

    sem = asyncio.Semaphore(concurrency)
    per_user: list[int] = []
    refused: list[str] = []

    async def fill(uid: int) -> None:
        async with sem:
            sent = 0
            text = bot.last[uid]
            while not text.startswith(REVIEW_MARK):
                q = ASKED[uid] if mode == "step" else benchlib.question_line(text)
                value = script.get(q) if mode == "step" else benchlib.answer_for(q, script)
                if value is None or sent > 80:
                    raise SystemExit(f"peer: no scripted answer for {q!r}")
                for message in [value] if isinstance(value, str) else value:
                    if mode == "step" and ASKED[uid] != q:  # a long text's parts all go to its question
                        raise SystemExit(f"peer: {message!r} meant for {q!r} would answer {ASKED[uid]!r}")
                    text = await send(uid, message, timed=True)
                    sent += 1
                    if text.startswith("✗"):
                        refused.append(text)
            per_user.append(sent)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(fill(uid) for uid in uids))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await app.shutdown()

    reread = PicklePersistence(filepath=path)  # what a restart would find
    saved = await reread.get_conversations("sme_match")
    user_data = await reread.get_user_data()
    # group answers are stored as typed: each user's must be the script's (a misrouted message would show)
    typed = {k: v for k, v in script.items() if mode == "step" and k.count(".") == 2 and isinstance(v, str)}

    def stored(answers: dict, key: str):
        group, index, field = key.split(".")
        items = answers.get(group, [])
        return items[int(index)].get(field) if int(index) < len(items) else None

    finished = sum(1 for uid in uids if saved.get((uid, uid)) == REVIEW and len(user_data[uid]["answers"]) > 20
                   and all(stored(user_data[uid]["answers"], k) == v for k, v in typed.items()))
    if refused or finished != users:
        raise SystemExit(f"peer: {len(refused)} answers refused, {finished}/{users} forms found after a re-read; "
                         f"first refusal: {refused[:1]}")
    n = len(latencies)
    return {"bench": "peer", "ptb": PTB_VERSION, "users": users, "concurrency": concurrency, "answers": n,
            "answers_per_user": sorted(set(per_user)), "wall_s": wall, "answers_per_s": n / wall,
            **benchlib.latency(latencies), "cpu_ms_per_answer": cpu * 1000 / n,
            "pickle_kb": path.stat().st_size / 1024, "peak_rss_mb": benchlib.peak_rss_mb()}


def report(r: dict) -> str:
    return (f"{r['users']:>6} {r['concurrency']:>9} {benchlib.num(r['answers_per_s'], 0):>10} "
            f"{benchlib.num(r['p50_ms'], 2):>8} {benchlib.num(r['p99_ms'], 2):>8} {benchlib.num(r['max_ms'], 2):>8} "
            f"{benchlib.num(r['cpu_ms_per_answer'], 2):>10} {benchlib.num(r['pickle_kb'], 0):>10}")


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=ints, default=[20, 200], help="users in all, comma-separated runs (20,200)")
    ap.add_argument("--concurrency", type=ints, default=[1, 10], help="users at a time (1,10)")
    ap.add_argument("--dir", type=Path, default=None, help="where the pickle is written (default: a temp dir)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    results = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"peer: python-telegram-bot {PTB_VERSION} ConversationHandler + PicklePersistence, flush + fsync "
              f"after every answer; {benchlib.conditions(Path(tmp))}")
        print(f"{'users':>6} {'at a time':>9} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'CPU ms/ans':>10} {'pickle KB':>10}")
        for users in args.users:
            for concurrency in args.concurrency:
                r = await run(users, concurrency, Path(tmp))
                results.append(r)
                print(report(r), flush=True)
    print(f"answers per user: {results[0]['answers_per_user']}; per answer: process_update → update_persistence → "
          f"flush → fsync; peak RSS {benchlib.num(max(r['peak_rss_mb'] for r in results), 0)} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
