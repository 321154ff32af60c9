"""GET /reports/{token}: a report's CSV, from the short-lived signed link the Teams answer to
`report` carries. The report is made again when the link is opened, for the admin it names,
who must still be an admin; an expired or tampered link gets a page saying to run it again."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.web.pages import render
from handlers import reports
from handlers.organisations import default_organisation
from handlers.signing import ReportLinkSigner, TokenProblem

# Personal data: nothing on the way keeps a copy, and the link never leaves in a Referer.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def download_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/reports/{token}"


async def download(request: Request) -> Response:
    runtime = request.app.state.runtime
    claims = ReportLinkSigner(runtime.signer.keys).read(request.path_params["token"])
    if isinstance(claims, TokenProblem):
        return _gone(410 if claims is TokenProblem.EXPIRED else 403)
    async with runtime.transaction() as session:
        org = await default_organisation(session)
        made = await reports.report_for_link(session, org.id, claims, runtime.settings.admin_emails)
    if made is None:
        return _gone(403)
    return Response(
        made.csv,
        media_type="text/csv; charset=utf-8",
        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


def _gone(status: int) -> Response:
    return render(
        "enrol.html",
        status_code=status,
        headers=_HEADERS,
        title=reports.DOWNLOAD_TITLE,
        sentences=[reports.DOWNLOAD_GONE.replace("`", "")],
    )
