"""Registration from an Enrol button posted with `post ITEM --token TOKEN`: a guest, or someone
from another organisation in a shared channel, gets a modal with the registration page's
fields (filled in from their Slack profile) instead of a refusal; sending it runs the same
registration as the page (handlers.registration), and the modal shows what happened.

The button carries a signed reference to the token, never its code. Members who click it enrol
through its internal link as with any other button (bot.slack.listeners.actions)."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.slack import register_blocks
from bot.slack.adapter import Caller, Slack
from bot.slack.client import error_code
from handlers import registration_text as text
from handlers import tokens
from handlers.identity import Profile
from handlers.registration import Applicant, Registered, Registration, problems, register
from handlers.replies import SOMETHING_WENT_WRONG, Notice, Tone
from handlers.signing import RegistrationRef, RegistrationRefSigner, TokenProblem
from handlers.tokens import TokenCheck, TokenState

log = logging.getLogger(__name__)

PROFILE_SECONDS = 1.0  # the modal must open within Slack's 3 seconds of the click


def _signer(slack: Slack) -> RegistrationRefSigner:
    return RegistrationRefSigner.beside(slack.runtime.signer)


async def _checked(slack: Slack, signed: str) -> tuple[RegistrationRef | None, TokenCheck]:
    """The reference a button carries, and what its token is worth now."""
    ref = _signer(slack).read(signed)
    if isinstance(ref, TokenProblem):
        return None, TokenCheck(TokenState.UNKNOWN)
    runtime = slack.runtime

    async def work(session: AsyncSession) -> TokenCheck:
        org = await runtime.organisation(session)
        if ref.organisation_id != org.id:
            return TokenCheck(TokenState.UNKNOWN)
        return await tokens.check_id(session, ref.token_id, org.id)

    return ref, await runtime.transact(work)


async def _profile(slack: Slack, user_id: str) -> Profile:
    """What users.info shows of the person, for filling the form in; nothing if it won't say
    in time."""
    try:
        async with asyncio.timeout(PROFILE_SECONDS):
            return await slack.directory.profile(user_id, await slack.pin.get())
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.info("no profile to fill the registration form with (%s)", type(exc).__name__)
        return Profile(email=None)


async def offer(
    slack: Slack, trigger_id: str | None, signed: str, caller: Caller, channel: str | None
) -> Notice | None:
    """Open the registration modal for someone the button's link refused; None once it is
    open, or else what to tell them instead (the token is off, or Slack would not open it)."""
    _, check = await _checked(slack, signed)
    if check.state is not TokenState.OK or check.item is None:
        outcome = (
            Registered.TOKEN_DISABLED
            if check.state is TokenState.DISABLED
            else Registered.TOKEN_UNKNOWN
        )
        return Notice(text.button_refusal(Registration(outcome))[1], Tone.ERROR)
    title = check.item.title
    profile = await _profile(slack, caller.account.subject)
    form = text.RegistrationForm(
        signed, title, profile.first_name, profile.last_name, profile.email or "", channel
    )
    try:
        if not trigger_id:
            raise ValueError("no trigger_id")
        await slack.client.views_open(
            trigger_id=trigger_id, view=register_blocks.registration_form(form)
        )
    except (SlackApiError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
        reason = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        log.info("the registration modal did not open (%s); sending the page's link", reason)
        url = tokens.register_ref_url(slack.runtime.settings.public_url, signed)
        return Notice(text.register_elsewhere(title, url))
    return None


async def submitted(slack: Slack, body: dict, caller: Caller) -> dict:
    """The answer to the modal's view_submission: errors on its fields, or the modal updated
    to say what happened."""
    view = body["view"]
    meta = json.loads(view.get("private_metadata") or "{}")
    values = view["state"]["values"]
    typed = {
        name: (values.get(name, {}).get("value", {}).get("value") or "")
        for name in register_blocks.FIELDS
    }
    applicant = Applicant.of(typed)
    errors = problems(applicant, token_needed=False)
    if errors:
        return {"response_action": "errors", "errors": errors}
    wait = slack.registrations.attempt(str(caller.account))
    if wait:
        minutes = max(1, round(wait / 60))
        return {
            "response_action": "errors",
            "errors": {"email": text.too_many_from_account(minutes)},
        }
    ref = _signer(slack).read(str(meta.get("ref", "")))
    if isinstance(ref, TokenProblem):
        return _answer(text.Answer(text.MODAL_CANNOT, (_refusal(Registered.TOKEN_UNKNOWN),)))
    result = await _register(slack, applicant, ref.token_id, str(caller.account))
    if result.outcome.refused:
        field, sentence = text.button_refusal(result)
        if field:
            return {"response_action": "errors", "errors": {field: sentence}}
        return _answer(text.Answer(text.MODAL_CANNOT, (sentence,)))
    return _answer(text.answer(result))


def went_wrong() -> dict:
    """The modal's face when our side failed: nothing changed, try again."""
    return _answer(text.Answer(text.MODAL_CANNOT, (SOMETHING_WENT_WRONG.text,)))


def _refusal(outcome: Registered) -> str:
    return text.button_refusal(Registration(outcome))[1]


def _answer(answer: text.Answer) -> dict:
    return {"response_action": "update", "view": register_blocks.registration_answer(answer)}


async def _register(slack: Slack, applicant: Applicant, token_id: int, by: str) -> Registration:
    runtime = slack.runtime

    async def work(session: AsyncSession) -> Registration:
        return await register(
            session,
            signer=runtime.signer,
            organisation=await runtime.organisation(session),
            applicant=applicant,
            can_email=bool(runtime.settings.smtp_url),
            token_id=token_id,
            by=by,
        )

    return await runtime.transact(work)
