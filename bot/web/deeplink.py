"""GET /enrol/{token}: a deep link opened in a browser, the same signed link as the Enrol
button.

A browser signed in (bot.web.auth) is enrolled through the one way in, as the person its
session names, and shown what happened and what to do next. A browser without a session is
sent to sign in and comes back here; a link that cannot work says so without asking anyone to
sign in first. Where no sign-in is set up, the page names the item and says how to set it up.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot import metrics
from bot.web.auth.routes import SignIn, answered, login_path, show
from handlers.enrol import LINK_OUTCOME, EnrolResult, Outcome
from handlers.identity import Profile, signed_in
from handlers.links import LinkState, check_token
from handlers.web_replies import enrol_page, sign_in_missing

# Where the audit says a deep link's enrolment or refusal happened.
BROWSER = "browser"

_STATUS = {
    Outcome.ENROLLED: 200,
    Outcome.ALREADY_ENROLLED: 200,
    Outcome.ALREADY_COMPLETED: 200,
    Outcome.LINK_UNKNOWN: 404,
    Outcome.LINK_TAMPERED: 404,
    Outcome.LINK_EXPIRED: 410,
    Outcome.LINK_DELETED: 410,
}


class DeepLinks:
    def __init__(self, sign_in: SignIn) -> None:
        self.sign_in = sign_in
        self.runtime = sign_in.runtime

    async def enrol_page(self, request: Request) -> Response:
        return await answered(self._enrol_page(request), "a deep link")

    async def _enrol_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        known = None
        identity_id = self.sign_in.cookies.identity_id(request)
        if identity_id is not None:
            async with self.runtime.transaction() as session:
                known = await signed_in(session, identity_id)
        if known is None:
            return await self._stranger(token)
        account, kept = known

        async def as_kept() -> Profile:
            # A session names an identity the sign-in identified: nothing new to ask.
            return kept

        result = await self.runtime.enrol(account, token, as_kept, channel=BROWSER)
        metrics.CLICKS.labels("web", result.outcome.value).inc()
        again = login_path(f"/enrol/{token}", choose_account=True)
        return show(enrol_page(result, again), _STATUS.get(result.outcome, 403))

    async def _stranger(self, token: str) -> Response:
        """A browser nobody signed in: a link that can't work says so at once; a working one
        asks for sign-in, or says how an admin sets it up."""
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            check = await check_token(session, self.runtime.signer, token, org.id)
        if check.state is not LinkState.OK:
            result = EnrolResult(LINK_OUTCOME[check.state], check.item)
            return show(enrol_page(result), _STATUS.get(result.outcome, 403))
        assert check.item is not None
        if not self.sign_in.providers:
            return show(sign_in_missing(check.item.title))
        return RedirectResponse(login_path(f"/enrol/{token}"), status_code=303)
