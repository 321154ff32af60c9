"""`rule create ITEM` without options, on Teams: an Adaptive Card form with
handlers.commands.rule_form's fields, sent back with Action.Execute (Teams merges the inputs'
values into the action's data). Pure functions."""

from __future__ import annotations

from bot.teams.cards import _inline, _say, card
from handlers.commands.rule_form import CHECK, CHOICE, DATE, FIELDS, Field
from handlers.replies import AskRuleDetails

RULE_CREATE = "ruleCreate"


def _input(field: Field, value: object) -> dict:
    if field.kind == CHECK:
        on = value is True or str(value).lower() == "true"
        return {
            "type": "Input.Toggle",
            "id": field.id,
            "title": field.label,
            "value": "true" if on else "false",
        }
    if field.kind == DATE:
        return {"type": "Input.Date", "id": field.id, "label": field.label, "value": value or ""}
    if field.kind == CHOICE:
        return {
            "type": "Input.ChoiceSet",
            "id": field.id,
            "label": field.label,
            "style": "expanded",
            "value": str(value or field.choices[0][0]),
            "choices": [{"title": t, "value": v} for v, t in field.choices],
        }
    text = {
        "type": "Input.Text",
        "id": field.id,
        "label": field.label,
        "maxLength": 500,
        "value": str(value or ""),
    }
    if field.hint:
        text["placeholder"] = field.hint
    return text


def rule_form(
    ask: AskRuleDetails, answers: dict[str, object] | None = None, problem: str | None = None
) -> dict:
    """The form; sent again with the answers and what to change when they were refused."""
    answers = answers or {}
    body: list[dict] = [
        {
            "type": "TextBlock",
            "wrap": True,
            "weight": "Bolder",
            "text": f"A new rule for **{_inline(ask.item_title)}**.",
        }
    ]
    if problem:
        body.append(_say(problem, color="Attention"))
    body += [_input(field, answers.get(field.id)) for field in FIELDS]
    return card(
        body,
        [
            {
                "type": "Action.Execute",
                "title": "Create rule",
                "verb": RULE_CREATE,
                "data": {"item": ask.item_slug},
                "style": "positive",
            }
        ],
    )
