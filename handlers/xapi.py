"""An enrolment event as an xAPI 1.0.3 statement: the person (by mbox) registered for or
completed the item (the activity), with the way they came in in the context's extensions.

Built from the event's outbox payload alone, so a retried send is the same statement with the
same id (a UUID derived from the event's id): the LRS keeps one, whatever the retries.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from handlers.events import ENROLMENT_COMPLETED, ENROLMENT_CREATED

VERSION = "1.0.3"
VERBS = {
    ENROLMENT_CREATED: ("http://adlnet.gov/expapi/verbs/registered", "registered"),
    ENROLMENT_COMPLETED: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
}
ACTIVITY_TYPE = "http://adlnet.gov/expapi/activities/course"
# Our own extension keys are IRIs under this.
EXTENSIONS = "https://enrolbot.dev/xapi/extensions/"
# Statement ids are UUIDs derived from event ids in this namespace, never random.
NAMESPACE = uuid.UUID("5d1b6a4e-7c1f-4c55-9a53-3f7b2a0c9e11")


def statement_id(event_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, event_id))


def activity_id(public_url: str, item: dict[str, Any]) -> str:
    """The item's own URL where the catalog has one, else one under ENROLBOT_PUBLIC_URL."""
    if item.get("url"):
        return str(item["url"])
    return f"{public_url.rstrip('/')}/items/{quote(str(item['slug']), safe='')}"


def statement(event: dict[str, Any], public_url: str) -> dict[str, Any]:
    """The statement for an enrolment event (its outbox payload)."""
    verb_id, verb_name = VERBS[event["type"]]
    data = event["data"]
    item = data["item"]
    extensions = {
        EXTENSIONS + "source": data.get("source"),
        EXTENSIONS + "enrolment-id": data.get("enrolment_id"),
    }
    for key in ("period", "due"):
        if data.get(key) is not None:
            extensions[EXTENSIONS + key] = data[key]
    return {
        "id": statement_id(event["id"]),
        "actor": {"objectType": "Agent", "mbox": f"mailto:{data['person']['email']}"},
        "verb": {"id": verb_id, "display": {"en-US": verb_name}},
        "object": {
            "objectType": "Activity",
            "id": activity_id(public_url, item),
            "definition": {"name": {"en-US": item["title"]}, "type": ACTIVITY_TYPE},
        },
        "context": {"platform": "enrolbot", "extensions": extensions},
        "timestamp": event["timestamp"],
    }
