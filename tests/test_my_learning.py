"""My learning's data (handlers.my_learning) and the `my learning` / `item feature` commands,
in process on both databases, at a moment the test chooses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from handlers import links, refresh
from handlers.commands import run
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account
from handlers.my_learning import Bucket, mute, mutes, my_learning, unmute
from handlers.replies import MyLearningReply, Notice, Tone
from handlers.rules.periods import reveal
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    Group,
    GroupKind,
    GroupSource,
    HomeRefresh,
    Identity,
    RegistrationToken,
    RuleGroup,
    User,
    utcnow,
)
from tests.support import factories
from tests.support.command_world import PUBLIC_URL, SIGNER, TEAM, Acme, profile_of, subject_of

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
ANN = "ann@example.com"


async def _enrolment(acme: Acme, email: str, item: CatalogItem, **row) -> Enrolment:
    row.setdefault("source", EnrolmentSource.LINK)
    row.setdefault("enrolled_at", NOW - timedelta(days=30))
    e = Enrolment(user_id=acme.users[email].id, item_id=item.id, **row)
    acme.session.add(e)
    await acme.session.flush()
    return e


async def _items(acme: Acme, n: int, prefix: str = "extra") -> list[CatalogItem]:
    return [
        await factories.item(
            acme.session, acme.org, f"{prefix}-{i}", "topic", title=f"{prefix} {i}"
        )
        for i in range(n)
    ]


async def _view(acme: Acme, email: str = ANN, now: datetime = NOW):
    return await my_learning(
        acme.session, acme.users[email], signer=SIGNER, public_url=PUBLIC_URL, now=now
    )


def _titles(entries) -> list[str]:
    return [e.title for e in entries]


async def test_overdue_first_then_due_soon_then_the_rest(acme: Acme) -> None:
    late, soon, later, undated, soonest = await _items(acme, 5)
    await _enrolment(acme, ANN, late, due_at=NOW - timedelta(days=2), required=True)
    await _enrolment(acme, ANN, soon, due_at=NOW + timedelta(days=6), required=False)
    await _enrolment(acme, ANN, soonest, due_at=NOW + timedelta(days=1))
    await _enrolment(acme, ANN, later, due_at=NOW + timedelta(days=8))
    await _enrolment(acme, ANN, undated)
    view = await _view(acme)
    assert _titles(view.overdue) == ["extra 0"]
    assert _titles(view.due_soon) == ["extra 4", "extra 1"]
    assert _titles(view.rest) == ["extra 2", "extra 3"]
    assert view.overdue[0].required is True and view.overdue[0].bucket is Bucket.OVERDUE
    assert view.due_soon[1].required is False
    # A week on, what was due soon is overdue.
    later_view = await _view(acme, now=NOW + timedelta(days=7))
    assert _titles(later_view.overdue) == ["extra 0", "extra 4", "extra 1"]


async def test_hidden_until_their_day_and_withdrawn_never(acme: Acme) -> None:
    hidden, gone, shown = await _items(acme, 3)
    await _enrolment(
        acme, ANN, hidden, visible_from=NOW + timedelta(days=3), due_at=NOW + timedelta(days=30)
    )
    await _enrolment(acme, ANN, gone, status=EnrolmentStatus.WITHDRAWN, withdrawn_at=NOW)
    await _enrolment(acme, ANN, shown, visible_from=NOW - timedelta(days=1))
    assert _titles((await _view(acme)).rest) == ["extra 2"]
    on_the_day = await _view(acme, now=NOW + timedelta(days=3))
    assert _titles(on_the_day.rest) == ["extra 0", "extra 2"]


async def test_only_the_current_period_counts(acme: Acme) -> None:
    (annual,) = await _items(acme, 1, "annual")
    await _enrolment(
        acme,
        ANN,
        annual,
        period=20260301,
        status=EnrolmentStatus.COMPLETED,
        completed_at=NOW - timedelta(days=365),
        due_at=NOW - timedelta(days=370),
    )
    await _enrolment(acme, ANN, annual, period=20270301, due_at=NOW - timedelta(days=9))
    view = await _view(acme)
    assert _titles(view.overdue) == ["annual 0"] and view.completed == ()


async def test_completed_section_shows_the_latest_five(acme: Acme) -> None:
    items = await _items(acme, 7, "done")
    for n, item in enumerate(items):
        await _enrolment(
            acme,
            ANN,
            item,
            status=EnrolmentStatus.COMPLETED,
            completed_at=NOW - timedelta(days=10 - n),
        )
    view = await _view(acme)
    assert view.completed_total == 7
    assert _titles(view.completed) == ["done 6", "done 5", "done 4", "done 3", "done 2"]
    assert view.open_total == 0


async def test_sources_say_why(acme: Acme) -> None:
    by_rule, by_link, by_hand, by_token, by_sheet, by_api = await _items(acme, 6)
    sales = Group(
        organisation_id=acme.org.id,
        kind=GroupKind.DEPARTMENT,
        name="Sales",
        source=GroupSource.MANUAL,
    )
    acme.session.add(sales)
    await acme.session.flush()
    rule = EnrolmentRule(organisation_id=acme.org.id, item_id=by_rule.id, created_by="test")
    acme.session.add(rule)
    await acme.session.flush()
    acme.session.add(RuleGroup(rule_id=rule.id, group_id=sales.id))
    intranet = await acme.extra_link(by_link, "Intranet")
    fair = RegistrationToken(
        organisation_id=acme.org.id, item_id=by_token.id, nickname="Spring fair"
    )
    acme.session.add(fair)
    boss = acme.users["boss@example.com"]
    await acme.session.execute(
        update(User).where(User.id == boss.id).values(first_name="Bo", last_name="Boss")
    )
    await acme.session.flush()
    await _enrolment(
        acme, ANN, by_rule, source=EnrolmentSource.RULE, rule_id=rule.id, required=True
    )
    await _enrolment(acme, ANN, by_link, link_id=intranet.id)
    await _enrolment(acme, ANN, by_hand, source=EnrolmentSource.MANUAL, enrolled_by_user_id=boss.id)
    await _enrolment(
        acme, ANN, by_token, source=EnrolmentSource.REGISTRATION, registration_token_id=fair.id
    )
    await _enrolment(acme, ANN, by_sheet, source=EnrolmentSource.IMPORT)
    await _enrolment(acme, ANN, by_api, source=EnrolmentSource.API)
    view = await _view(acme)
    assert [e.source for e in view.rest] == [
        "rule: Sales department",
        "link: Intranet",
        "by hand by Bo Boss",
        "token: Spring fair",
        "imported",
        "API",
    ]


async def test_featured_items_offer_a_working_enrol_token(acme: Acme) -> None:
    await run(await acme.ctx("sam@example.com"), "item feature safety-101")
    await run(await acme.ctx("sam@example.com"), "item feature gdpr-basics")
    await _enrolment(acme, ANN, acme.gdpr)  # already in it: not offered
    view = await _view(acme)
    assert [f.slug for f in view.featured] == ["safety-101"]
    offer = view.featured[0]
    assert offer.url == links.deep_link(PUBLIC_URL, offer.token)
    result = await enrol_with_token(
        acme.session,
        signer=SIGNER,
        organisation=acme.org,
        token=offer.token,
        account=Account("slack", TEAM, subject_of(ANN)),
        lookup=lambda: profile_of(ANN),
    )
    assert result.outcome is Outcome.ENROLLED
    view = await _view(acme)
    assert view.featured == () and _titles(view.rest) == ["GDPR basics", "Safety 101"]


async def test_feature_and_unfeature_are_admins(acme: Acme) -> None:
    refused = await run(await acme.ctx(ANN), "item feature safety-101")
    assert isinstance(refused, Notice) and refused.tone is Tone.ERROR
    done = await run(await acme.ctx("sam@example.com"), "item feature safety-101")
    assert done.tone is Tone.SUCCESS and "featured" in done.text
    again = await run(await acme.ctx("sam@example.com"), "item feature safety-101")
    assert "already featured" in again.text
    await run(await acme.ctx("sam@example.com"), "item unfeature safety-101")
    await acme.session.commit()
    featured = await acme.session.scalar(
        select(CatalogItem.featured).where(CatalogItem.id == acme.safety.id)
    )
    assert featured is False


async def test_mutes_per_item_and_for_all(acme: Acme) -> None:
    ann = acme.users[ANN]
    await _enrolment(acme, ANN, acme.safety, due_at=NOW + timedelta(days=2))
    await _enrolment(acme, ANN, acme.gdpr)
    assert await mute(acme.session, ann.id, acme.safety.id)
    assert not await mute(acme.session, ann.id, acme.safety.id)
    view = await _view(acme)
    assert [e.muted for e in view.due_soon + view.rest] == [True, False]
    assert view.muted_items == ((acme.safety.id, "Safety 101"),) and not view.all_muted
    assert await mute(acme.session, ann.id, None)
    assert await mutes(acme.session, ann.id) == (True, {acme.safety.id})
    view = await _view(acme)
    assert view.all_muted and all(e.muted for e in view.due_soon + view.rest)
    assert await unmute(acme.session, ann.id, None)
    assert await unmute(acme.session, ann.id, acme.safety.id)
    assert not await unmute(acme.session, ann.id, acme.safety.id)
    assert await mutes(acme.session, ann.id) == (False, set())


@pytest.mark.parametrize("typed", ["my learning", "mine", "My Learning"])
async def test_my_learning_command(acme: Acme, typed: str) -> None:
    await _enrolment(acme, ANN, acme.safety, due_at=datetime.now(UTC) - timedelta(days=1))
    reply = await run(await acme.ctx(ANN), typed)
    assert isinstance(reply, MyLearningReply)
    assert _titles(reply.view.overdue) == ["Safety 101"]


async def test_my_learning_for_someone_unknown(acme: Acme) -> None:
    ctx = await acme.ctx("nobody@elsewhere.example")
    assert ctx.caller.user is None
    reply = await run(ctx, "mine")
    assert isinstance(reply, Notice) and reply.tone is Tone.ERROR
    assert "don't know you" in reply.text


async def _queued(acme: Acme) -> set[int]:
    return set(await acme.session.scalars(select(HomeRefresh.user_id)))


async def _opened_home(acme: Acme, user_id: int) -> None:
    opened = update(Identity).where(Identity.user_id == user_id).values(home_opened_at=NOW)
    await acme.session.execute(opened)


async def test_a_change_queues_the_home_tab_of_those_who_opened_it_in_its_transaction(
    acme: Acme,
) -> None:
    ann, cat = acme.users[ANN].id, acme.users["cat@example.com"].id
    ctx = await acme.ctx("boss@example.com")
    for email in (ANN, "cat@example.com"):
        await acme.ctx(email)
    await _opened_home(acme, ann)
    await acme.session.commit()
    reply = await run(ctx, "enrol add ann@example.com cat@example.com safety-101")
    assert "Enrolled 2" in reply.text, reply
    await acme.session.commit()
    assert await _queued(acme) == {ann}  # Cat never opened the Home tab
    await acme.session.execute(delete(HomeRefresh))
    await _opened_home(acme, cat)
    await acme.session.commit()
    await mute(acme.session, cat, None)
    assert await _queued(acme) == {cat}  # in the change's own transaction
    await acme.session.rollback()
    assert await _queued(acme) == set()  # a rollback queues no one


async def test_the_periods_job_revealing_an_enrolment_queues_its_person(acme: Acme) -> None:
    ann = acme.users[ANN].id
    await acme.ctx(ANN)
    await _opened_home(acme, ann)
    await _enrolment(acme, ANN, acme.safety, visible_from=utcnow() - timedelta(hours=1))
    assert await _queued(acme) == set()
    assert [u for _, u in await reveal(acme.session)] == [ann]
    assert await _queued(acme) == {ann}


async def test_the_queue_is_taken_once_and_a_failure_goes_back_later(acme: Acme) -> None:
    ann = acme.users[ANN].id
    await acme.ctx(ANN)
    await _opened_home(acme, ann)
    await refresh.changed(acme.session, [ann, ann])
    assert await refresh.take(acme.session) == [ann]
    assert await refresh.take(acme.session) == []
    await refresh.later(acme.session, [ann])
    assert await refresh.take(acme.session) == []  # not due yet
    assert await refresh.take(acme.session, utcnow() + refresh.RETRY) == [ann]


async def test_a_long_list_shows_the_first_and_counts_the_rest(acme: Acme, monkeypatch) -> None:
    from handlers import my_learning as module

    monkeypatch.setattr(module, "OPEN_SHOWN", 3)
    items = await _items(acme, 5, "many")
    for n, item in enumerate(items):
        await _enrolment(acme, ANN, item, due_at=NOW + timedelta(days=n - 1))
    view = await _view(acme)
    assert _titles(view.overdue) == ["many 0"]
    assert _titles(view.due_soon) == ["many 1", "many 2"]
    assert view.rest == () and view.more_open == 2 and view.open_total == 5
