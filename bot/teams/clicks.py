"""The Enrol button on a Teams card.

A click goes through `Runtime.enrol`, the same path as a Slack click: one token check, the
directory asked only about someone new, the enrolment decided in one transaction. Its answer is
the card the clicker sees from then on. A card refreshing itself for someone it lists shows
them their own state.
"""

from __future__ import annotations

import logging

from bot import metrics
from bot.runtime import Runtime
from bot.teams import cards, directory
from bot.teams.activity import PROVIDER, channel_of, sender_account, tenant_of
from bot.teams.connector import Connector
from bot.teams.conversations import show_own_state, viewers
from handlers import audit
from handlers.enrol import LINK_OUTCOME, EnrolResult, Outcome, state_of
from handlers.identity import Account
from handlers.links import LinkCheck, LinkState, check_token
from handlers.registration import REGISTER_INSTEAD
from handlers.registration_text import register_elsewhere
from handlers.replies import ANONYMOUS, NOT_OUR_ORGANISATION, Notice, click_reply
from handlers.tokens import register_ref_url
from store.models import CatalogItem

log = logging.getLogger(__name__)

_STATUS = {
    Outcome.ENROLLED: "Enrolled ✓",
    Outcome.ALREADY_ENROLLED: "Enrolled ✓",
    Outcome.ALREADY_COMPLETED: "Completed ✓",
}


def refusal_of(activity: dict, tenant: str) -> Notice | None:
    """Why Teams says this person is not one of ours: another tenant, or anonymous."""
    if tenant_of(activity) != tenant:
        return NOT_OUR_ORGANISATION
    if not activity["from"].get("aadObjectId"):
        return ANONYMOUS
    return None


def _offer(
    token: str, item: CatalogItem | None, registration: str | None = None
) -> cards.Offer | None:
    return cards.Offer(token, item.title, item.kind.value, registration) if item else None


class Clicks:
    def __init__(self, runtime: Runtime, connector: Connector, tenant: str) -> None:
        self.runtime = runtime
        self.connector = connector
        self.tenant = tenant

    def _register_elsewhere(self, registration: str, item: CatalogItem | None) -> Notice:
        """A registration button's answer to a guest or outsider: Teams shows no form here, so
        the registration page, with the button's token filled in (as a signed reference)."""
        url = register_ref_url(self.runtime.settings.public_url, registration)
        return Notice(register_elsewhere(item.title if item else "this training", url))

    async def enrol(self, activity: dict, token: str, registration: str | None = None) -> dict:
        """A press of Enrol: the invoke's answer, the card the clicker sees. On a button posted
        with a token, a guest or someone of another tenant is sent to the registration page."""
        refusal = refusal_of(activity, self.tenant)
        if refusal is not None:
            return await self._refuse(activity, token, refusal, registration)
        sender = activity["from"]
        result = await self.runtime.enrol(
            Account(PROVIDER, self.tenant, sender["aadObjectId"]),
            token,
            directory.lookup(self.connector, activity, sender["id"], self.tenant),
            channel=channel_of(activity),
        )
        metrics.CLICKS.labels("teams", result.outcome.value).inc()
        reply, offer = click_reply(result), _offer(token, result.item, registration)
        if registration and result.outcome in REGISTER_INSTEAD:
            reply = self._register_elsewhere(registration, result.item)
        if offer is None:
            return cards.invoke_card(cards.notice(reply))
        card_id = activity.get("replyToId")
        status = _STATUS.get(result.outcome)
        async with self.runtime.transaction() as session:
            if status is None:
                users = await viewers(session, card_id)
            else:
                users = await show_own_state(session, card_id, sender["id"])
        if status is None:
            return cards.invoke_card(cards.answered_card(offer, reply, users))
        if card_id:
            await self._refresh_for_everyone(activity, card_id, offer, users)
        return cards.invoke_card(cards.enrolled_card(offer, status, reply, users))

    async def _refuse(
        self, activity: dict, token: str, refusal: Notice, registration: str | None = None
    ) -> dict:
        """Someone of another tenant (in a shared channel) or anonymous: refused with the same
        answer as on Slack, and audited as Slack audits its outsiders."""
        outsider = refusal is NOT_OUR_ORGANISATION
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            check = await check_token(session, self.runtime.signer, token, org.id)
            await audit.record(
                session,
                organisation_id=org.id,
                action="enrol.external" if outsider else "enrol.anonymous",
                actor=str(sender_account(activity)),
                item_id=check.item.id if check.item else None,
                link_id=check.link_id,
                channel=channel_of(activity),
            )
            users = await viewers(session, activity.get("replyToId"))
        reply = click_reply(EnrolResult(Outcome.EXTERNAL, check.item)) if outsider else refusal
        if outsider and registration:
            reply = self._register_elsewhere(registration, check.item)
        offer = _offer(token, check.item, registration)
        if offer is None:
            return cards.invoke_card(cards.notice(reply))
        return cards.invoke_card(cards.answered_card(offer, reply, users))

    async def view(self, activity: dict, token: str, registration: str | None = None) -> dict:
        """The card refreshing itself for someone it lists: their own state, or the button."""
        runtime = self.runtime
        refused = refusal_of(activity, self.tenant) is not None
        async with runtime.transaction() as session:
            org = await runtime.organisation(session)
            users = await viewers(session, activity.get("replyToId"))
            state = None
            if not refused:
                account = Account(PROVIDER, self.tenant, activity["from"]["aadObjectId"])
                state = await state_of(
                    session, signer=runtime.signer, organisation=org, token=token, account=account
                )
            if state is not None and state.item is not None:
                offer = cards.Offer(token, state.item.title, state.item.kind.value, registration)
                status = _STATUS[state.outcome]
                return cards.invoke_card(
                    cards.enrolled_card(offer, status, click_reply(state), users)
                )
            check = await check_token(session, runtime.signer, token, org.id)
        offer = _offer(token, check.item, registration) if check.link_id is not None else None
        if offer is None:
            return cards.invoke_card(cards.notice(click_reply(_link_result(check))))
        return cards.invoke_card(cards.enrol_card(offer, users))

    async def _refresh_for_everyone(
        self, activity: dict, card_id: str, offer: cards.Offer, users: list[str]
    ) -> None:
        """Update the shared card with the new list, so the user's own state survives a reload
        and their other devices; everyone else keeps the Enrol button."""
        try:
            await self.connector.update(
                activity["serviceUrl"],
                activity["conversation"]["id"],
                card_id,
                cards.message(cards.enrol_card(offer, users), offer.summary),
            )
        except Exception:
            log.warning("could not update the shared Enrol card %s", card_id, exc_info=True)


def _link_result(check: LinkCheck) -> EnrolResult:
    state = check.state if check.state is not LinkState.OK else LinkState.UNKNOWN
    return EnrolResult(LINK_OUTCOME[state], check.item)
