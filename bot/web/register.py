"""GET/POST /register: outsiders register with a self-registration token; GET /register/confirm:
the link in their email, which confirms the address and, for an address that has an account,
enrols it (handlers.registration and handlers.registration_confirm decide, this page renders).
The answer to a registration never says whether the address has an account.

The form is plain HTML, no JavaScript. Against cross-site posts it carries a signed form token
bound to a cookie set with the form: a post whose token and cookie disagree is shown the form
again, with what was typed. Attempts are limited per client address and per token
(bot.web.ratelimit). The client address is the connection's: `enrolbot serve` trusts no proxy
headers, so behind a reverse proxy every visitor shares the proxy's address (raise
ENROLBOT_REGISTER_LIMIT_ADDRESS there); uvicorn sets it from X-Forwarded-For only where it was
told to trust the proxy.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot.web.pages import render
from bot.web.ratelimit import SlidingWindow
from handlers import registration_text as text
from handlers import tokens
from handlers.registration import (
    Applicant,
    Confirmation,
    Confirmed,
    ConfirmSigner,
    Registered,
    Registration,
    confirm,
    problems,
    register,
)
from handlers.signing import RegistrationRefSigner, TokenProblem
from store.models import utcnow

WINDOW_SECONDS = 600
FORM_MAX_AGE = 2 * 3600  # seconds a form may stay open before it must be sent again
COOKIE = "enrolbot_register"
# Nothing on these pages may be kept by a cache, nor leave a token in a Referer header.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_REFUSED_STATUS = {Registered.TOKEN_UNKNOWN: 404, Registered.TOKEN_DISABLED: 403}
_CONFIRM_STATUS = {
    Confirmed.CONFIRMED: 200,
    Confirmed.TAMPERED: 400,
    Confirmed.EXPIRED: 410,
    Confirmed.DEACTIVATED: 403,
    Confirmed.TOKEN_DISABLED: 403,
    Confirmed.TOKEN_UNKNOWN: 410,
}


@dataclass
class RegisterPage:
    """What the pages keep between requests: the form signer and the rate limits."""

    forms: URLSafeTimedSerializer
    confirms: ConfirmSigner
    per_address: SlidingWindow
    per_token: SlidingWindow
    secure_cookie: bool

    @classmethod
    def start(
        cls, keys: tuple[str, ...], public_url: str, per_address: int, per_token: int
    ) -> RegisterPage:
        return cls(
            URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.register-form"),
            ConfirmSigner(keys),
            SlidingWindow(per_address, WINDOW_SECONDS),
            SlidingWindow(per_token, WINDOW_SECONDS),
            public_url.startswith("https://"),
        )

    def form_token(self, nonce: str) -> str:
        return self.forms.dumps(nonce)

    def form_holds(self, request: Request, form_token: str) -> bool:
        nonce = request.cookies.get(COOKIE, "")
        try:
            signed = self.forms.loads(form_token, max_age=FORM_MAX_AGE)
        except BadData:
            return False
        return bool(nonce) and secrets.compare_digest(str(signed), nonce)


def _page(request: Request) -> RegisterPage:
    return request.app.state.register_page


def _form(
    request: Request,
    applicant: Applicant,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    ref: str | None = None,
) -> Response:
    """The form with what was typed, its problems, and a form token bound to the cookie (the
    request's own when it has one, so a page shown again is the same page)."""
    page = _page(request)
    nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
    response = render(
        "register.html",
        status_code=status,
        headers=_HEADERS | (headers or {}),
        heading=text.FORM_HEADING,
        intro=text.FORM_INTRO,
        problem_heading=text.PROBLEM_HEADING,
        values=applicant,
        errors=errors or {},
        notice=notice,
        form_token=page.form_token(nonce),
        ref=ref,
        ref_token=text.REF_TOKEN,
    )
    if request.cookies.get(COOKIE) != nonce:
        response.set_cookie(
            COOKIE,
            nonce,
            max_age=FORM_MAX_AGE,
            path="/register",
            httponly=True,
            secure=page.secure_cookie,
            samesite="lax",
        )
    return response


def _answer(answer: text.Answer, status: int = 200) -> Response:
    return render(
        "answer.html",
        status_code=status,
        headers=_HEADERS,
        heading=answer.heading,
        sentences=answer.sentences,
        link=answer.link,
    )


async def register_page(request: Request) -> Response:
    if request.method == "GET":
        signed = request.query_params.get("ref", "")[:500]
        if signed:  # a registration button's link (Teams, or a Slack modal that didn't open)
            if _token_id(request, signed) is None:
                return _form(request, Applicant(), notice=text.REF_BROKEN, status=400)
            return _form(request, Applicant(), ref=signed)
        typed = request.query_params.get("token", "")[:100]
        return _form(request, Applicant(token=typed))
    form = await _fields(request)
    signed = form.get("ref", "")[:500] or None
    # With a link's reference, the token is the one it names, whatever else was sent.
    applicant = Applicant.of(form | {"token": ""} if signed else form)
    page = _page(request)
    if not page.form_holds(request, form.get("form", "")):
        return _form(request, applicant, notice=text.FORM_EXPIRED, status=400, ref=signed)
    token_id = _token_id(request, signed) if signed else None
    if signed and token_id is None:
        return _form(request, applicant, notice=text.REF_BROKEN, status=400)
    limited = _limited(request, applicant, token_id, signed)
    if limited is not None:
        return limited
    errors = problems(applicant, token_needed=token_id is None)
    if errors:
        return _form(request, applicant, errors=errors, status=400, ref=signed)
    result = await _register(request, applicant, token_id)
    if result.outcome.refused:
        status = _REFUSED_STATUS[result.outcome]
        if token_id is None:
            field, sentence = text.refusal(result)
            return _form(request, applicant, errors={field: sentence}, status=status)
        field, sentence = text.button_refusal(result)
        if field:
            return _form(request, applicant, errors={field: sentence}, status=status, ref=signed)
        return _form(request, applicant, notice=sentence, status=status, ref=signed)
    return _answer(text.answer(result))


def _token_id(request: Request, signed: str) -> int | None:
    """The token a registration link's signed reference names, if its signature holds and it
    is this organisation's (whether the token still works is the registration's to say)."""
    runtime = request.app.state.runtime
    ref = RegistrationRefSigner.beside(runtime.signer).read(signed)
    if isinstance(ref, TokenProblem):
        return None
    return ref.token_id


async def _fields(request: Request) -> dict[str, str]:
    """The form's fields, urlencoded as a browser sends a plain form (the body is at most
    1 MiB: bot.web.limits); the first of a repeated field counts."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True, max_num_fields=20):
        fields.setdefault(name, value)
    return fields


def _limited(
    request: Request, applicant: Applicant, token_id: int | None, signed: str | None
) -> Response | None:
    """A 429 page saying when to try again, or None when this attempt may go ahead. A token
    named by a link's reference counts as that token, however it is reached."""
    page = _page(request)
    address = request.client.host if request.client else "unknown"
    wait = page.per_address.attempt(address)
    per_token = False
    key = f"t{token_id}" if token_id is not None else None
    if key is None and applicant.token:
        key = tokens.normalise(applicant.token) or applicant.token.casefold()
    if not wait and key:
        wait = page.per_token.attempt(key)
        per_token = True
    if not wait:
        return None
    return _form(
        request,
        applicant,
        notice=text.too_many(per_token, wait, utcnow()),
        status=429,
        headers={"Retry-After": str(max(1, round(wait)))},
        ref=signed,
    )


async def _register(request: Request, applicant: Applicant, token_id: int | None) -> Registration:
    runtime = request.app.state.runtime

    async def work(session: AsyncSession) -> Registration:
        return await register(
            session,
            signer=runtime.signer,
            organisation=await runtime.organisation(session),
            applicant=applicant,
            can_email=bool(runtime.settings.smtp_url),
            token_id=token_id,
        )

    return await runtime.transact(work)


async def confirm_page(request: Request) -> Response:
    runtime = request.app.state.runtime
    token = request.query_params.get("t", "")

    async def work(session: AsyncSession) -> Confirmation:
        organisation = await runtime.organisation(session)
        return await confirm(session, _page(request).confirms, organisation, token)

    result = await runtime.transact(work)
    return _answer(text.confirmation(result), _CONFIRM_STATUS[result.outcome])
