"""GET/POST /invite/{token}: accepting an invitation; GET/POST /join/{path} and GET /join/confirm:
the join page and its emailed confirmation (handlers.invitations and handlers.join decide,
handlers.invitations_text words, these pages render). Plain HTML forms, no JavaScript.

The invitation's form needs no token against cross-site posts: its URL holds the invitation's
signed secret, which another site cannot know. The join form carries a signed form token bound
to a cookie, as the registration form does, and is rate limited per client address and per
email; it answers the same whether or not the address is known.
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
from handlers import invitations, join, users
from handlers import invitations_text as text
from handlers.invitations import Checked, InviteSigner
from handlers.join import Joined, JoinSigner
from handlers.registration import Applicant

WINDOW_SECONDS = 600
EMAIL_LIMIT = 3  # confirmation emails one address may be sent per hour
FORM_MAX_AGE = 2 * 3600
COOKIE = "enrolbot_join"
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_NAMES = [
    ("first_name", "First name", "text", "given-name"),
    ("last_name", "Last name", "text", "family-name"),
]
_STATUS = {
    Checked.BROKEN: 400,
    Checked.EXPIRED: 410,
    Checked.CANCELLED: 410,
    Checked.GROUP_GONE: 410,
    Checked.DEACTIVATED: 403,
    Checked.ACCEPTED: 200,
}


@dataclass
class InvitePages:
    invites: InviteSigner
    joins: JoinSigner
    forms: URLSafeTimedSerializer
    per_address: SlidingWindow
    per_email: SlidingWindow
    secure_cookie: bool

    @classmethod
    def start(cls, keys: tuple[str, ...], public_url: str, per_address: int) -> InvitePages:
        return cls(
            InviteSigner(keys),
            JoinSigner(keys),
            URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.join-form"),
            SlidingWindow(per_address, WINDOW_SECONDS),
            SlidingWindow(EMAIL_LIMIT, 3600),
            public_url.startswith("https://"),
        )

    def form_holds(self, request: Request, form_token: str) -> bool:
        nonce = request.cookies.get(COOKIE, "")
        try:
            signed = self.forms.loads(form_token, max_age=FORM_MAX_AGE)
        except BadData:
            return False
        return bool(nonce) and secrets.compare_digest(str(signed), nonce)


def _pages(request: Request) -> InvitePages:
    return request.app.state.invite_pages


def _answer(answer: text.Answer, status: int = 200) -> Response:
    return render(
        "answer.html",
        status_code=status,
        headers=_HEADERS,
        heading=answer.heading,
        sentences=answer.sentences,
        link=answer.link,
    )


async def _fields(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True, max_num_fields=20):
        fields.setdefault(name, value)
    return fields


# An invitation ------------------------------------------------------------------------------


async def invite_page(request: Request) -> Response:
    runtime = request.app.state.runtime
    token = request.path_params["token"]
    signer = _pages(request).invites
    if request.method == "GET":

        async def look(session: AsyncSession) -> tuple[invitations.Check, str]:
            org = await runtime.organisation(session)
            return await invitations.check(session, signer, org, token), org.name

        checked, organisation = await runtime.transact(look)
        if checked.state is not Checked.OK:
            return _answer(text.link_answer(checked.state, checked.group), _STATUS[checked.state])
        return _invite_form(request, checked, organisation, {}, {})
    typed = Applicant.of(await _fields(request))

    async def work(session: AsyncSession) -> tuple[invitations.Check, str, dict[str, str]]:
        org = await runtime.organisation(session)
        checked = await invitations.check(session, signer, org, token)
        if checked.state is not Checked.OK:
            return checked, org.name, {}
        if checked.user is None:
            errors = text.name_problems(typed.first_name, typed.last_name)
            if errors:
                return checked, org.name, errors
        done = await invitations.accept(
            session, signer, org, token, first_name=typed.first_name, last_name=typed.last_name
        )
        return done, org.name, {}

    checked, organisation, errors = await runtime.transact(work)
    if errors:
        values = {"first_name": typed.first_name, "last_name": typed.last_name}
        return _invite_form(request, checked, organisation, values, errors, status=400)
    if checked.state is Checked.ACCEPTED and checked.user is not None:
        assert checked.group is not None
        return _answer(text.accepted_answer(checked.group))
    return _answer(text.link_answer(checked.state, checked.group), _STATUS[checked.state])


def _invite_form(
    request: Request,
    checked: invitations.Check,
    organisation: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    assert checked.group is not None
    known = checked.user is not None
    return render(
        "person_form.html",
        status_code=status,
        headers=_HEADERS,
        heading=text.ACCEPT_HEADING,
        intro=text.accept_intro(organisation, checked.group.name, known),
        problem_heading=text.PROBLEM_HEADING,
        errors=errors,
        notice=None,
        action=request.url.path,
        hidden=[],
        fields=[] if known else _NAMES,
        values=values,
        button=text.ACCEPT_BUTTON,
    )


# The join page ------------------------------------------------------------------------------


async def join_page(request: Request) -> Response:
    runtime = request.app.state.runtime
    path = request.path_params["path"]

    async def look(session: AsyncSession):
        return await join.open_page(session, path)

    opened = await runtime.transact(look)
    if opened is None:
        return _answer(text.JOIN_OFF, 404)
    page, _, organisation = opened
    domains = list(page.domains or [])
    if request.method == "GET":
        return _join_form(request, organisation.name, domains, {}, {})
    pages = _pages(request)
    fields = await _fields(request)
    typed = Applicant.of(fields)
    values = {"first_name": typed.first_name, "last_name": typed.last_name, "email": typed.email}
    address = request.client.host if request.client else "unknown"
    wait = pages.per_address.attempt(address)
    if wait:
        notice = text.too_many(wait)
        return _join_form(request, organisation.name, domains, values, {}, notice, 429, wait)
    if not pages.form_holds(request, fields.get("form", "")):
        return _join_form(request, organisation.name, domains, values, {}, text.FORM_EXPIRED, 400)
    errors = text.name_problems(typed.first_name, typed.last_name)
    email = users.normalise_email(typed.email)
    if email is None:
        errors["email"] = "Enter your email address, like name@example.com."
    elif not join.domain_allowed(page, email):
        errors["email"] = text.domain_problem(domains)
    if errors:
        return _join_form(request, organisation.name, domains, values, errors, status=400)
    assert email is not None
    if not pages.per_email.attempt(email):

        async def ask(session: AsyncSession) -> None:
            join.ask(
                session,
                organisation,
                page,
                email=email,
                first_name=typed.first_name,
                last_name=typed.last_name,
            )

        await runtime.transact(ask)
    # The same page whether the address is known, new, or was sent a link just now.
    return _answer(text.JOIN_SENT)


def _join_form(
    request: Request,
    organisation: str,
    domains: list[str],
    values: dict[str, str],
    errors: dict[str, str],
    notice: str | None = None,
    status: int = 200,
    wait: float = 0,
) -> Response:
    pages = _pages(request)
    nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
    headers = _HEADERS | ({"Retry-After": str(max(1, round(wait)))} if wait else {})
    response = render(
        "person_form.html",
        status_code=status,
        headers=headers,
        heading=text.JOIN_HEADING,
        intro=text.join_intro(organisation, domains),
        problem_heading=text.PROBLEM_HEADING,
        errors=errors,
        notice=notice,
        action=request.url.path,
        hidden=[("form", pages.forms.dumps(nonce))],
        fields=[*_NAMES, ("email", "Email address", "email", "email")],
        values=values,
        button=text.JOIN_BUTTON,
    )
    if request.cookies.get(COOKIE) != nonce:
        response.set_cookie(
            COOKIE,
            nonce,
            max_age=FORM_MAX_AGE,
            path="/join",
            httponly=True,
            secure=pages.secure_cookie,
            samesite="lax",
        )
    return response


async def join_confirm(request: Request) -> Response:
    runtime = request.app.state.runtime
    token = request.query_params.get("t", "")
    signer = _pages(request).joins

    async def work(session: AsyncSession) -> join.Joining:
        return await join.confirm(session, signer, token)

    done = await runtime.transact(work)
    if done.outcome is Joined.JOINED:
        assert done.group is not None
        return _answer(text.joined(done.group))
    if done.outcome is Joined.DEACTIVATED:
        return _answer(text.JOIN_DEACTIVATED, 403)
    return _answer(text.JOIN_BROKEN, 400)
