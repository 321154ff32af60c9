"""GET /enrol/{token}: a deep link opened in a browser.

Opening the link names the item it is for; enrolling happens with the Enrol button where an
admin posted it, in Slack or Microsoft Teams. A link that won't work says why, and what to do.
Every sentence says what the reader can do today.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.web.pages import render
from handlers.enrol import LINK_OUTCOME, EnrolResult
from handlers.links import LinkState, check_token
from handlers.organisations import default_organisation
from handlers.replies import click_reply

_STATUS = {
    LinkState.OK: 200,
    LinkState.DISABLED: 403,
    LinkState.DELETED: 410,
    LinkState.EXPIRED: 410,
}

# The page holds a working link's token and says which item it is for: nothing keeps a copy,
# and the token never leaves in a Referer header.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def how_to_enrol(title: str) -> list[str]:
    return [
        f"This link is for {title}.",
        f"To enrol, click the Enrol button for {title} where your admin posted it, "
        "in Slack or Microsoft Teams.",
        "If you can't find the button, ask the admin who shared this link to post it in a "
        "channel or chat you're in.",
    ]


async def enrol_page(request: Request) -> Response:
    runtime = request.app.state.runtime
    token = request.path_params["token"]
    async with runtime.transaction() as session:
        org = await default_organisation(session)
        check = await check_token(session, runtime.signer, token, org.id)
    if check.state is LinkState.OK:
        assert check.item is not None
        title = check.item.title
        sentences = how_to_enrol(title)
    else:
        title = "Enrolment link"
        sentences = [click_reply(EnrolResult(LINK_OUTCOME[check.state], check.item)).text]
    return render(
        "enrol.html",
        status_code=_STATUS.get(check.state, 404),
        headers=_HEADERS,
        title=title,
        sentences=sentences,
    )
