"""My learning as an Adaptive Card (1.5): the same data and sentences as the Slack Home tab
(handlers.my_learning, handlers.my_learning_words), for `my learning` in Teams and the personal
chat's welcome. Pure functions; every title, name and label goes through cards.escape. Each
section is capped with "… and N more", within a Teams message's size."""

from __future__ import annotations

from bot.teams import cards
from handlers import my_learning_words as words
from handlers.my_learning import UNMUTE_ALL, Entry, Featured, MyLearning

UNMUTE = "remindersUnmute"  # data: {"item": id} or {"item": "all"}
PER_BUCKET = 15
FEATURED_SHOWN = 10
TITLE_MAX = 200


def _text(text: str, **style: object) -> dict:
    """A TextBlock of plain text: escaped, so it shows as written."""
    return {"type": "TextBlock", "text": cards.escape(text), "wrap": True, **style}


def _actions(*actions: dict) -> dict:
    return {"type": "ActionSet", "actions": list(actions)}


def _unmute(item: int | str, title: str) -> dict:
    return {"type": "Action.Execute", "title": title, "verb": UNMUTE, "data": {"item": item}}


def _entry(entry: Entry, view: MyLearning) -> dict:
    facts = words.facts(entry.required, entry.due_at, entry.source, view.now, entry.muted)
    items: list[dict] = [
        _text(entry.title[:TITLE_MAX], weight="Bolder"),
        _text(facts, isSubtle=True, spacing="None"),
    ]
    buttons = []
    if entry.url and entry.url.startswith(("https://", "http://")):
        buttons.append({"type": "Action.OpenUrl", "title": words.OPEN, "url": entry.url})
    if entry.muted and not view.all_muted:
        buttons.append(_unmute(entry.item_id, words.UNMUTE))
    if buttons:
        items.append(_actions(*buttons))
    return {"type": "Container", "items": items, "spacing": "Medium"}


def _bucket(heading: str, entries: tuple[Entry, ...], view: MyLearning) -> list[dict]:
    if not entries:
        return []
    body = [_text(f"{heading} ({len(entries):,})", weight="Bolder", size="Medium")]
    body += [_entry(e, view) for e in entries[:PER_BUCKET]]
    if len(entries) > PER_BUCKET:
        body.append(_text(words.more(len(entries) - PER_BUCKET), isSubtle=True))
    return body


def _completed(view: MyLearning) -> list[dict]:
    if not view.completed:
        return []
    body = [_text(f"{words.COMPLETED} ({view.completed_total:,})", weight="Bolder", size="Medium")]
    body += [
        _text(f"{e.title[:TITLE_MAX]} · {words.completed_on(e.completed_at)}", spacing="Small")
        for e in view.completed
    ]
    rest = view.completed_total - len(view.completed)
    if rest > 0:
        body.append(_text(words.completed_more(rest), isSubtle=True))
    return body


def _offer(offer: Featured) -> dict:
    enrol = {
        "type": "Action.Execute",
        "title": words.ENROL,
        "verb": cards.ENROL,
        "data": {"token": offer.token},
        "style": "positive",
    }
    return {
        "type": "Container",
        "items": [
            _text(offer.title[:TITLE_MAX], weight="Bolder"),
            _text(offer.kind.capitalize(), isSubtle=True, spacing="None"),
            _actions(enrol),
        ],
    }


def _featured(view: MyLearning) -> list[dict]:
    if not view.featured:
        return []
    body = [_text(words.FEATURED, weight="Bolder", size="Medium", separator=True)]
    body += [_offer(f) for f in view.featured[:FEATURED_SHOWN]]
    if len(view.featured) > FEATURED_SHOWN:
        body.append(_text(words.more(len(view.featured) - FEATURED_SHOWN), isSubtle=True))
    return body


def my_learning_card(view: MyLearning, notice: str | None = None) -> dict:
    body: list[dict] = [_text(words.TITLE, weight="Bolder", size="Large")]
    if notice:
        body.append(_text(notice, color="Good"))
    body.append(_text(words.heading(view.open_total, view.completed_total), isSubtle=True))
    if view.all_muted:
        body += [_text(words.ALL_MUTED), _actions(_unmute(UNMUTE_ALL, words.UNMUTE_ALL))]
    for heading, entries in (
        (words.OVERDUE, view.overdue),
        (words.DUE_SOON, view.due_soon),
        (words.REST, view.rest),
    ):
        body += _bucket(heading, entries, view)
    if view.more_open:
        body.append(_text(words.more(view.more_open), isSubtle=True))
    body += _completed(view)
    body += _featured(view)
    return cards.card(body)


def summary(view: MyLearning) -> str:
    """The message's preview in notifications and the chat list."""
    return f"{words.TITLE}: {words.heading(view.open_total, view.completed_total)}"
