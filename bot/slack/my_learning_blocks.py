"""My learning as Block Kit: the Home tab's view and the `my learning` command's private
message, from handlers.my_learning's data and handlers.my_learning_words' sentences. Pure
functions, built with slack_sdk's models. Each section is capped with "… and N more" so a long
list stays within Slack's limits (100 blocks in a view, 50 in a message, 3,000 characters in a
section's text, 150 in a header)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.blocks import ENROL_ACTION, SECTION_LIMIT, escape
from bot.slack.register_blocks import OPEN_ITEM_ACTION
from handlers import my_learning_words as words
from handlers.my_learning import UNMUTE_ALL, Entry, Featured, MyLearning

UNMUTE_ACTION = "reminders_unmute"  # value: the item's id, or "all"
TITLE_MAX = 200
URL_MAX = 2000


@dataclass(frozen=True)
class Caps:
    """How many of each section a surface shows before "… and N more"."""

    per_bucket: int
    featured: int


HOME = Caps(per_bucket=20, featured=10)  # ≤ 2 + 3 × (1 + 20 + 1) + 3 + 12 + 3 < 100 blocks
MESSAGE = Caps(per_bucket=9, featured=5)  # ≤ 2 + 3 × (1 + 9 + 1) + 3 + 7 + 3 < 50 blocks


def _section(text: str, accessory: ButtonElement | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT]), accessory=accessory)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:SECTION_LIMIT])])


def _title(title: str, url: str | None) -> str:
    shown = escape(title[:TITLE_MAX])
    if url and len(url) <= URL_MAX and "|" not in url and url.startswith(("https://", "http://")):
        return f"*<{escape(url)}|{shown}>*"
    return f"*{shown}*"


def _entry(entry: Entry, view: MyLearning) -> SectionBlock:
    facts = words.facts(entry.required, entry.due_at, entry.source, view.now, entry.muted)
    accessory = None
    if entry.muted and not view.all_muted:
        accessory = ButtonElement(
            text=words.UNMUTE, action_id=UNMUTE_ACTION, value=str(entry.item_id)
        )
    elif entry.url and len(entry.url) <= URL_MAX:
        accessory = ButtonElement(text=words.OPEN, action_id=OPEN_ITEM_ACTION, url=entry.url)
    return _section(f"{_title(entry.title, entry.url)}\n{escape(facts)}", accessory)


def _bucket(heading: str, entries: tuple[Entry, ...], view: MyLearning, cap: int) -> list[Block]:
    if not entries:
        return []
    blocks: list[Block] = [_section(f"*{escape(heading)}* ({len(entries):,})")]
    blocks += [_entry(e, view) for e in entries[:cap]]
    if len(entries) > cap:
        blocks.append(_context(escape(words.more(len(entries) - cap))))
    return blocks


def _completed(view: MyLearning) -> list[Block]:
    if not view.completed:
        return []
    lines = [
        f"{_title(e.title, e.url)} · {escape(words.completed_on(e.completed_at))}"
        for e in view.completed
    ]
    rest = view.completed_total - len(view.completed)
    if rest > 0:
        lines.append(escape(words.completed_more(rest)))
    return [
        _section(f"*{escape(words.COMPLETED)}* ({view.completed_total:,})\n" + "\n".join(lines))
    ]


def _offer(offer: Featured) -> SectionBlock:
    button = ButtonElement(
        text=words.ENROL, action_id=ENROL_ACTION, value=offer.token, style="primary"
    )
    return _section(
        f"*{escape(offer.title[:TITLE_MAX])}*\n{escape(offer.kind.capitalize())}", button
    )


def _featured(view: MyLearning, cap: int) -> list[Block]:
    if not view.featured:
        return []
    blocks: list[Block] = [_section(f"*{escape(words.FEATURED)}*")]
    blocks += [_offer(f) for f in view.featured[:cap]]
    if len(view.featured) > cap:
        blocks.append(_context(escape(words.more(len(view.featured) - cap))))
    return blocks


def _mutes(view: MyLearning) -> list[Block]:
    if not view.all_muted:
        return []
    button = ButtonElement(text=words.UNMUTE_ALL, action_id=UNMUTE_ACTION, value=UNMUTE_ALL)
    return [_section(escape(words.ALL_MUTED), button)]


def my_learning_blocks(view: MyLearning, caps: Caps, notice: str | None = None) -> list[Block]:
    """The blocks both surfaces show: a heading, a notice (a click's answer), the mutes, the
    overdue, due soon and other enrolments, the latest completions and the featured items."""
    blocks: list[Block] = [HeaderBlock(text=words.TITLE)]
    if notice:
        blocks.append(_section(escape(notice)))
    blocks.append(_context(escape(words.heading(view.open_total, view.completed_total))))
    blocks += _mutes(view)
    for heading, entries in (
        (words.OVERDUE, view.overdue),
        (words.DUE_SOON, view.due_soon),
        (words.REST, view.rest),
    ):
        blocks += _bucket(heading, entries, view, caps.per_bucket)
    if view.more_open:
        blocks.append(_context(escape(words.more(view.more_open))))
    blocks += _completed(view)
    if view.featured:
        blocks.append(DividerBlock())
        blocks += _featured(view, caps.featured)
    return blocks


def home_view(view: MyLearning, notice: str | None = None) -> dict:
    """The Home tab's view, for views.publish."""
    return View(type="home", blocks=my_learning_blocks(view, HOME, notice)).to_dict()


def unknown_home() -> dict:
    """The Home tab of someone who is not one of our learners (a guest, someone unknown)."""
    blocks = [HeaderBlock(text=words.TITLE), _section(escape(words.NOT_KNOWN))]
    return View(type="home", blocks=blocks).to_dict()


def my_learning_message(view: MyLearning) -> dict:
    """The `my learning` command's answer: an ephemeral message."""
    blocks = my_learning_blocks(view, MESSAGE)
    fallback = f"{words.TITLE}: {words.heading(view.open_total, view.completed_total)}"
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": escape(fallback)[:3000],
        "blocks": [b.to_dict() for b in blocks],
    }
