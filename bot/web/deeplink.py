"""GET /enrol/{token}: a deep link opened in a browser.

Enrolling from a browser needs the organisation's sign-in (Entra ID), which this version does
not offer yet; the page says what the link is and where to enrol, or why the link won't work.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

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

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}}
</style>
</head><body><h1>{title}</h1><p>{message}</p></body></html>"""


async def enrol_page(request: Request) -> HTMLResponse:
    runtime = request.app.state.runtime
    token = request.path_params["token"]
    async with runtime.transaction() as session:
        org = await default_organisation(session)
        check = await check_token(session, runtime.signer, token, org.id)
    if check.state is LinkState.OK:
        assert check.item is not None
        title = check.item.title
        message = (
            "To enrol, click the Enrol button for it where your admin posted it in Slack. "
            "Enrolling straight from a browser, with your organisation's sign-in, is not "
            "switched on yet."
        )
    else:
        title = "Enrolment link"
        message = click_reply(EnrolResult(LINK_OUTCOME[check.state], check.item)).text
    return HTMLResponse(
        _PAGE.format(title=escape(title), message=escape(message)),
        status_code=_STATUS.get(check.state, 404),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
