"""The admin command layer, platform-neutral: what an admin (or a learner) types, the exact reply
they read, and what the database holds afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import admins, links
from handlers.commands import (
    CommandContext,
    FieldProblem,
    confirm_link_delete,
    run,
    submit_link_form,
)
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account, Profile, identify
from handlers.links import LinkState, check_token
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    EnrolButton,
    LinkCreated,
    Notice,
    Tone,
)
from handlers.signing import LinkSigner
from store.models import (
    AdminGrant,
    AdminRole,
    AuditEvent,
    CatalogItem,
    DeletedLink,
    EnrolmentLink,
    Identity,
    Organisation,
    Standing,
    User,
)
from tests.support import factories

SIGNER = LinkSigner(["command-test-key"])
PUBLIC_URL = "https://enrol.example.com"
BOSS = "boss@example.com"  # in ENROLBOT_ADMINS
ADMINS = frozenset({BOSS})
TEAM = "T1"

CREATE_USAGE = "`/enrol link create ITEM [--label TEXT] [--notes TEXT]`"
POST_USAGE = "`/enrol post ITEM|LINK [#channel]`"


def subject_of(email: str) -> str:
    return "U" + email.split("@")[0].upper()


@dataclass
class Snapshot:
    """What the database holds, read after a commit in a session of its own."""

    links: dict[int, tuple]
    grants: dict[str, str]
    tombstones: set[int]
    audit: list[tuple]


@dataclass
class Acme:
    session: AsyncSession
    sessions: async_sessionmaker[AsyncSession]
    org: Organisation
    safety: CatalogItem  # topic
    gdpr: CatalogItem  # article
    onboarding: CatalogItem  # pathway
    users: dict[str, User]
    profiles: dict[str, Profile] = field(default_factory=dict)  # what @mentions resolve to

    async def ctx(
        self,
        email: str,
        *,
        standing: Standing = Standing.MEMBER,
        prefix: str = "/enrol",
    ) -> CommandContext:
        """The context of a command typed by the account whose verified email is `email`."""
        account = Account("slack", TEAM, subject_of(email))

        async def lookup() -> Profile:
            return Profile(email=email, standing=standing)

        person = await identify(self.session, self.org, account, lookup, bootstrap_admins=ADMINS)

        async def lookup_profile(subject: str) -> Profile:
            return self.profiles[subject]

        return CommandContext(
            session=self.session,
            organisation=self.org,
            account=account,
            caller=person,
            signer=SIGNER,
            public_url=PUBLIC_URL,
            bootstrap_admins=ADMINS,
            prefix=prefix,
            lookup_profile=lookup_profile,
        )

    async def default_link(self, item: CatalogItem) -> EnrolmentLink:
        return await links.default_link(self.session, item)

    async def extra_link(
        self, item: CatalogItem, label: str = "Intranet", notes: str | None = None
    ) -> EnrolmentLink:
        return await links.create_link(
            self.session, item, label=label, notes=notes, created_by_user_id=None
        )

    async def enrol_through(self, link: EnrolmentLink, *emails: str) -> None:
        for email in emails:
            result = await enrol_with_token(
                self.session,
                signer=SIGNER,
                organisation=self.org,
                token=links.token_for(SIGNER, link),
                account=Account("slack", TEAM, subject_of(email)),
                lookup=lambda email=email: _profile(email),
            )
            assert result.outcome is Outcome.ENROLLED

    async def db(self) -> Snapshot:
        await self.session.commit()
        async with self.sessions() as s:
            link_rows = await s.execute(
                select(
                    EnrolmentLink.id,
                    CatalogItem.slug,
                    EnrolmentLink.label,
                    EnrolmentLink.notes,
                    EnrolmentLink.is_default,
                    EnrolmentLink.is_active,
                    EnrolmentLink.secret.is_not(None),
                    EnrolmentLink.deleted_at.is_not(None),
                    EnrolmentLink.created_by_user_id,
                ).join(CatalogItem, CatalogItem.id == EnrolmentLink.item_id)
            )
            grant_rows = await s.execute(
                select(User.email, AdminGrant.role).join(User, User.id == AdminGrant.user_id)
            )
            tombstones = set((await s.execute(select(DeletedLink.link_id))).scalars())
            audit_rows = await s.execute(
                select(
                    AuditEvent.action,
                    AuditEvent.actor,
                    AuditEvent.actor_user_id,
                    AuditEvent.item_id,
                    AuditEvent.link_id,
                    AuditEvent.detail,
                ).order_by(AuditEvent.id)
            )
            return Snapshot(
                links={row[0]: tuple(row[1:]) for row in link_rows},
                grants={email: role.value for email, role in grant_rows},
                tombstones=tombstones,
                audit=[tuple(row) for row in audit_rows],
            )


@pytest.fixture
async def acme(session, sessions) -> Acme:
    org = await factories.organisation(session)
    safety = await factories.item(
        session, org, "safety-101", "topic", title="Safety 101", url="https://learn.example/s101"
    )
    gdpr = await factories.item(session, org, "gdpr-basics", "article", title="GDPR basics")
    onboarding = await factories.item(session, org, "onboarding", "pathway", title="Onboarding")
    users = {}
    for email in (BOSS, "ann@example.com", "sam@example.com", "sue@example.com", "cat@example.com"):
        users[email] = await factories.user(session, org, email=email)
    # sam manages links; sue is a super admin added with `admin add`; ann and cat are learners
    await admins.grant(session, users["sam@example.com"], AdminRole.STANDARD, granted_by=None)
    await admins.grant(session, users["sue@example.com"], AdminRole.SUPER, granted_by=None)
    world = Acme(session, sessions, org, safety, gdpr, onboarding, users)
    for email in users:  # each account seen once already, so commands audit only what they do
        await world.ctx(email)
    await session.commit()
    return world


def error(reply: object) -> str:
    assert isinstance(reply, Notice), reply
    assert reply.tone is Tone.ERROR, reply
    assert reply.lines == ()
    return reply.text


def new_audit(before: Snapshot, after: Snapshot) -> list[tuple]:
    return after.audit[len(before.audit) :]


def actions(rows: list[tuple]) -> list[str]:
    return [row[0] for row in rows]


# help ----------------------------------------------------------------------------------------------

SUPER_HELP = (
    "`/enrol items [QUERY]`: topics, articles and pathways, with their slugs",
    "`/enrol link create ITEM [--label TEXT] [--notes TEXT]`: a new link (no label: a form asks)",
    "`/enrol link list ITEM`: an item's links: id, label, status, uses, created",
    "`/enrol link deactivate LINK` and `/enrol link activate LINK`: switch a link off and on",
    "`/enrol link delete LINK [--yes]`: destroy a link for good (asks first without --yes)",
    "`/enrol post ITEM|LINK [#channel]`: post an Enrol button (default: the item's default link, "
    "in this channel)",
    "`/enrol admin add EMAIL|@person [--standard]`: make someone an admin (super unless "
    "--standard)",
    "`/enrol admin remove EMAIL|@person` and `/enrol admin list`: who can manage enrolment",
    "ITEM is an item's slug; LINK is a link's id. Quote text with spaces: --label \"Team intranet\".",
)


@pytest.mark.parametrize("text", ["help", "", "  ", "HELP", "-h", "--help", "?"])
async def test_help_for_a_super_admin_lists_every_command(acme, text):
    reply = await run(await acme.ctx(BOSS), text)
    assert reply == Notice("What I can do for you:", lines=SUPER_HELP, heading="enrolbot")


async def test_help_for_a_standard_admin_leaves_out_admin_management(acme):
    reply = await run(await acme.ctx("sam@example.com"), "help")
    assert isinstance(reply, Notice)
    assert reply.lines == SUPER_HELP[:6] + SUPER_HELP[-1:]
    assert not any("admin add" in line or "admin list" in line for line in reply.lines)


async def test_help_for_a_learner_explains_the_enrol_button_and_names_no_admin_command(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("ann@example.com"), "help")
    assert reply == Notice(
        "To enrol, click an Enrol button in a channel or open an enrolment link: you're "
        "enrolled at once as who you are here, with no forms. Enrolment links and buttons "
        "are managed by your training admins; ask them for training you can't find.",
        heading="enrolbot",
    )
    for word in ("/enrol", "link create", "link list", "post", "admin add", "items", "--"):
        assert word not in reply.text
    after = await acme.db()
    assert (after.links, after.grants) == (before.links, before.grants)


async def test_help_in_teams_uses_the_teams_prefix(acme):
    reply = await run(await acme.ctx(BOSS, prefix="enrol"), "help")
    assert isinstance(reply, Notice)
    assert (
        reply.lines[0] == "`enrol items [QUERY]`: topics, articles and pathways, with their slugs"
    )
    assert not any("/enrol" in line for line in reply.lines)


# items ---------------------------------------------------------------------------------------------


async def test_items_lists_every_item_by_slug_with_kind_title_and_live_links(acme):
    await acme.extra_link(acme.safety, "Intranet")
    gone = await acme.extra_link(acme.safety, "Old email")
    await links.delete_link(acme.session, gone, deleted_by_user_id=None)
    reply = await run(await acme.ctx(BOSS), "items")
    assert reply == Notice(
        "3 items:",
        lines=(
            "`gdpr-basics` · article · GDPR basics · 1 link",
            "`onboarding` · pathway · Onboarding · 1 link",
            "`safety-101` · topic · Safety 101 · 2 links",
        ),
        heading="Items",
    )


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("safety", ["safety-101"]),
        ("SAFETY", ["safety-101"]),
        ("gdpr basics", ["gdpr-basics"]),  # several words are one query
        ("basics", ["gdpr-basics"]),  # title only
        ("s", ["gdpr-basics", "safety-101"]),
    ],
)
async def test_items_with_a_query_lists_items_whose_slug_or_title_contains_it(acme, query, slugs):
    reply = await run(await acme.ctx("sam@example.com"), f"items {query}")
    assert isinstance(reply, Notice)
    assert reply.heading == f"Items matching “{query}”"
    assert reply.text == f"{len(slugs)} item{'s' if len(slugs) != 1 else ''}:"
    assert [line.split(" · ")[0] for line in reply.lines] == [f"`{s}`" for s in slugs]


async def test_items_with_a_query_that_matches_nothing_says_so(acme):
    reply = await run(await acme.ctx(BOSS), "items fire")
    assert reply == Notice("No item's slug or title contains “fire”.")


async def test_items_in_an_empty_catalog_says_how_to_import(session, sessions):
    org = await factories.organisation(session, "Empty Co")
    await factories.user(session, org, email=BOSS)
    world = Acme(session, sessions, org, None, None, None, {})  # type: ignore[arg-type]
    reply = await run(await world.ctx(BOSS), "items")
    assert reply == Notice(
        "The catalog is empty. Import items with `enrolbot catalog import FILE.csv`."
    )


async def test_items_shows_fifty_and_says_how_many_more(acme):
    for n in range(50):
        await factories.item(acme.session, acme.org, f"course-{n:02}", "article")
    reply = await run(await acme.ctx(BOSS), "items")
    assert isinstance(reply, Notice)
    assert reply.text == "53 items:"
    assert len(reply.lines) == 51
    assert reply.lines[0].startswith("`course-00` · article · ")
    assert reply.lines[-1] == "… and 3 more: narrow it down with `/enrol items QUERY`."


# link create ---------------------------------------------------------------------------------------


async def test_link_create_with_label_and_notes_gives_a_deep_link_that_verifies(acme):
    before = await acme.db()
    reply = await run(
        await acme.ctx(BOSS),
        'link create safety-101 --label "Team intranet" --notes "Sent to HR in May"',
    )
    assert isinstance(reply, LinkCreated)
    assert (reply.item_title, reply.label) == ("Safety 101", "Team intranet")
    assert reply.url.startswith(PUBLIC_URL + "/enrol/")
    assert reply.post_hint == (
        f"Post it as a button with `/enrol post {reply.link_id} #channel`, or share the URL "
        "in documents and email."
    )
    token = reply.url.removeprefix(PUBLIC_URL + "/enrol/")
    check = await check_token(acme.session, SIGNER, token, acme.org.id)
    assert (check.state, check.link.id, check.item.slug) == (
        LinkState.OK,
        reply.link_id,
        "safety-101",
    )

    after = await acme.db()
    assert set(after.links) - set(before.links) == {reply.link_id}
    boss_id = acme.users[BOSS].id
    assert after.links[reply.link_id] == (
        "safety-101",
        "Team intranet",
        "Sent to HR in May",
        False,  # default
        True,  # active
        True,  # has a secret
        False,  # deleted
        boss_id,
    )
    assert new_audit(before, after) == [
        (
            "link.created",
            f"slack:{TEAM}:UBOSS",
            boss_id,
            acme.safety.id,
            reply.link_id,
            {"label": "Team intranet"},
        )
    ]


async def test_link_create_takes_the_label_after_an_equals_sign(acme):
    reply = await run(
        await acme.ctx("sam@example.com"), 'link create gdpr-basics --label="Q3 email"'
    )
    assert isinstance(reply, LinkCreated)
    assert reply.label == "Q3 email"
    after = await acme.db()
    assert after.links[reply.link_id][:3] == ("gdpr-basics", "Q3 email", None)


async def test_link_create_accepts_the_curly_quotes_chat_clients_type(acme):
    reply = await run(
        await acme.ctx(BOSS), "link create safety-101 --label “Team intranet” --notes ‘for HR’"
    )
    assert isinstance(reply, LinkCreated)
    after = await acme.db()
    assert after.links[reply.link_id][1:3] == ("Team intranet", "for HR")


async def test_link_create_without_a_label_asks_for_the_details_and_creates_nothing(acme):
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    assert await run(ctx, "link create safety-101") == AskLinkDetails("safety-101", "Safety 101")
    assert await run(ctx, 'link create SAFETY-101 --notes "for HR"') == AskLinkDetails(
        "safety-101", "Safety 101", notes="for HR"
    )
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == []


@pytest.mark.parametrize(
    "text", ["link create onboarding --label Intranet", "link create onboarding"]
)
async def test_link_create_on_a_pathway_is_refused_with_a_sentence(acme, text):
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), text)
    assert error(reply) == (
        "Onboarding is a pathway, and pathways have only their default link; "
        "post or share that one instead."
    )
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == []


async def test_link_create_of_an_unknown_item_suggests_the_closest_slug(acme):
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, "link create saftey-101 --label Intranet")
    assert error(reply) == "There is no item `saftey-101`. Did you mean `safety-101`?"
    reply = await run(ctx, "link create fire-drill --label Intranet")
    assert error(reply) == "There is no item `fire-drill`. `items` lists them."
    assert (await acme.db()).links == before.links


# link list -----------------------------------------------------------------------------------------


async def test_link_list_prints_one_line_per_link_starting_with_its_id(acme):
    default = await acme.default_link(acme.safety)
    intranet = await acme.extra_link(acme.safety, "Intranet", notes="Sent to HR")
    email = await acme.extra_link(acme.safety, "Q3 email")
    unlabelled = await links.create_link(
        acme.session, acme.safety, label=None, notes=None, created_by_user_id=None
    )
    gone = await acme.extra_link(acme.safety, "Old")
    links.set_active(email, False)
    await links.delete_link(acme.session, gone, deleted_by_user_id=None)
    # Ann enrols through the intranet link: one use.
    result = await enrol_with_token(
        acme.session,
        signer=SIGNER,
        organisation=acme.org,
        token=links.token_for(SIGNER, intranet),
        account=Account("slack", TEAM, "UANN"),
        lookup=lambda: _profile("ann@example.com"),
    )
    assert result.outcome is Outcome.ENROLLED
    await acme.session.commit()

    reply = await run(await acme.ctx("sam@example.com"), "link list safety-101")
    assert isinstance(reply, Notice)
    assert (reply.text, reply.heading, reply.tone) == (
        "Safety 101 (topic) has 4 links:",
        "Links of safety-101",
        Tone.INFO,
    )
    async with acme.sessions() as s:
        created = {
            lk.id: f"{lk.created_at.astimezone(UTC):%Y-%m-%d}"
            for lk in (await s.execute(select(EnrolmentLink))).scalars()
        }
    assert reply.lines == (
        f"{default.id} · default · active · 0 uses · created {created[default.id]}",
        f"{intranet.id} · Intranet · active · 1 use · created {created[intranet.id]}"
        " · notes: Sent to HR",
        f"{email.id} · Q3 email · deactivated · 0 uses · created {created[email.id]}",
        f"{unlabelled.id} · no label · active · 0 uses · created {created[unlabelled.id]}",
    )
    for line in reply.lines:
        assert line.split(" · ")[0].isdigit()


async def _profile(email: str) -> Profile:
    return Profile(email=email)


# link deactivate / activate ------------------------------------------------------------------------


async def test_deactivate_then_activate_a_link_and_repeat_each(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    token = links.token_for(SIGNER, link)
    ctx = await acme.ctx("sam@example.com")
    name = f"Link {link.id} (Safety 101, Intranet)"
    before = await acme.db()

    reply = await run(ctx, f"link deactivate {link.id}")
    assert reply == Notice(
        f"{name} is deactivated: its buttons and URLs now say the link is disabled. "
        f"`/enrol link activate {link.id}` turns it back on.",
        Tone.SUCCESS,
    )
    assert (await acme.db()).links[link.id][4] is False
    check = await check_token(acme.session, SIGNER, token, acme.org.id)
    assert check.state is LinkState.DISABLED

    reply = await run(ctx, f"link deactivate {link.id}")
    assert reply == Notice(f"{name} is already deactivated; nothing changed.")

    reply = await run(ctx, f"link activate {link.id}")
    assert reply == Notice(
        f"{name} is active again: its buttons and URLs enrol people once more.", Tone.SUCCESS
    )
    assert (await acme.db()).links[link.id][4] is True
    assert (await check_token(acme.session, SIGNER, token, acme.org.id)).state is LinkState.OK

    reply = await run(ctx, f"link activate {link.id}")
    assert reply == Notice(f"{name} is already active; nothing changed.")

    after = await acme.db()
    assert [(row[0], row[4]) for row in new_audit(before, after)] == [
        ("link.deactivated", link.id),
        ("link.activated", link.id),
    ]


async def test_the_default_link_is_named_as_such_and_aliases_work(acme):
    default = await acme.default_link(acme.gdpr)
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, f"LINKS DISABLE {default.id}")
    assert isinstance(reply, Notice)
    assert reply.text.startswith(f"Link {default.id} (GDPR basics, default link) is deactivated")
    reply = await run(ctx, f"link enable {default.id}")
    assert isinstance(reply, Notice)
    assert reply.text.startswith(f"Link {default.id} (GDPR basics, default link) is active again")
    reply = await run(ctx, f"link reactivate {default.id}")
    assert reply == Notice(
        f"Link {default.id} (GDPR basics, default link) is already active; nothing changed."
    )


async def test_a_link_of_another_organisation_is_no_link_here(acme):
    other = await factories.organisation(acme.session, "Other Co")
    theirs = await factories.item(acme.session, other, "safety-101")
    their_link = await links.default_link(acme.session, theirs)
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"link deactivate {their_link.id}")
    assert (
        error(reply) == f"There is no link {their_link.id}. `link list ITEM` shows an item's links."
    )
    after = await acme.db()
    assert after.links == before.links
    assert after.links[their_link.id][4] is True


# link delete ---------------------------------------------------------------------------------------


async def test_link_delete_without_yes_asks_and_changes_nothing(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    await acme.enrol_through(link, "ann@example.com", "sam@example.com", "cat@example.com")
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"link delete {link.id}")
    assert reply == ConfirmLinkDelete(
        link.id,
        f"Delete Link {link.id} (Safety 101, Intranet)?",
        "Every Enrol button and URL made from it stops working for good (it has been used "
        "3 times). This cannot be undone.",
    )
    after = await acme.db()
    assert (after.links, after.tombstones) == (before.links, before.tombstones)
    assert new_audit(before, after) == []


async def test_link_delete_of_the_default_link_warns_of_the_new_default(acme):
    default = await acme.default_link(acme.safety)
    await acme.enrol_through(default, "ann@example.com")
    reply = await run(await acme.ctx(BOSS), f"link delete {default.id}")
    assert isinstance(reply, ConfirmLinkDelete)
    assert reply.question == f"Delete Link {default.id} (Safety 101, default link)?"
    assert reply.consequence == (
        "Every Enrol button and URL made from it stops working for good (it has been used "
        "1 time). This cannot be undone; Safety 101 gets a new default link."
    )


async def test_link_delete_with_yes_destroys_the_link_for_good(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    token = links.token_for(SIGNER, link)
    ctx = await acme.ctx("sam@example.com")
    before = await acme.db()
    reply = await run(ctx, f"link delete {link.id} --yes")
    assert reply == Notice(
        f"Link {link.id} (Safety 101, Intranet) is deleted: its buttons and URLs will never "
        "work again.",
        Tone.SUCCESS,
    )
    after = await acme.db()
    assert after.links[link.id][4:7] == (False, False, True)  # inactive, no secret, deleted
    assert after.tombstones == before.tombstones | {link.id}
    assert [(row[0], row[4]) for row in new_audit(before, after)] == [("link.deleted", link.id)]
    assert (await check_token(acme.session, SIGNER, token, acme.org.id)).state is LinkState.DELETED

    listed = await run(ctx, "link list safety-101")
    assert isinstance(listed, Notice)
    assert not any(line.startswith(f"{link.id} ") for line in listed.lines)
    for again in (f"link delete {link.id} --yes", f"link activate {link.id}", f"post {link.id}"):
        assert error(await run(ctx, again)) == (
            f"Link {link.id} was deleted; deleted links cannot be recovered."
        )


async def test_deleting_the_default_link_gives_the_item_a_new_default(acme):
    default = await acme.default_link(acme.safety)
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"link delete {default.id} --yes")
    after = await acme.db()
    (new_id,) = set(after.links) - set(before.links)
    assert reply == Notice(
        f"Link {default.id} (Safety 101, default link) is deleted: its buttons and URLs will "
        f"never work again. Safety 101's new default link is {new_id}.",
        Tone.SUCCESS,
    )
    assert after.links[default.id][3:7] == (False, False, False, True)
    assert after.links[new_id][:7] == ("safety-101", None, None, True, True, True, False)
    assert [(row[0], row[4]) for row in new_audit(before, after)] == [
        ("link.deleted", default.id),
        ("link.created", new_id),
    ]


async def test_confirm_link_delete_deletes_what_the_question_named(acme):
    link = await acme.extra_link(acme.gdpr, "Q3 email")
    ctx = await acme.ctx(BOSS)
    question = await run(ctx, f"link delete {link.id}")
    assert isinstance(question, ConfirmLinkDelete)
    reply = await confirm_link_delete(ctx, str(question.link_id))
    assert reply == Notice(
        f"Link {link.id} (GDPR basics, Q3 email) is deleted: its buttons and URLs will never "
        "work again.",
        Tone.SUCCESS,
    )
    assert link.id in (await acme.db()).tombstones
    # a second press of the same button
    assert error(await confirm_link_delete(ctx, str(link.id))) == (
        f"Link {link.id} was deleted; deleted links cannot be recovered."
    )
    assert error(await confirm_link_delete(ctx, "x1")) == (
        "`x1` isn't a link id. `/enrol link list ITEM` shows an item's links, each line "
        "starting with its id."
    )


# post ----------------------------------------------------------------------------------------------


async def test_post_an_item_posts_its_default_link_here(acme):
    default = await acme.default_link(acme.safety)
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), "post safety-101")
    assert isinstance(reply, EnrolButton)
    assert (reply.channel, reply.channel_name, reply.link_id) == (None, None, default.id)
    assert (reply.title, reply.kind, reply.url, reply.label) == (
        "Safety 101",
        "topic",
        "https://learn.example/s101",
        None,
    )
    assert reply.text == "Safety 101 (topic): click Enrol to join."
    check = await check_token(acme.session, SIGNER, reply.token, acme.org.id)
    assert (check.state, check.link.id) == (LinkState.OK, default.id)
    after = await acme.db()
    assert after.links == before.links
    assert [(r[0], r[3], r[4], r[5]) for r in new_audit(before, after)] == [
        ("link.posted", acme.safety.id, default.id, {"channel": None})
    ]


async def test_post_a_link_by_id_to_a_picked_channel(acme):
    link = await acme.extra_link(acme.gdpr, "Intranet")
    before = await acme.db()
    reply = await run(await acme.ctx("sam@example.com"), f"post {link.id} <#C123|ops>")
    assert isinstance(reply, EnrolButton)
    assert (reply.channel, reply.channel_name, reply.link_id, reply.label, reply.title) == (
        "C123",
        "ops",
        link.id,
        "Intranet",
        "GDPR basics",
    )
    check = await check_token(acme.session, SIGNER, reply.token, acme.org.id)
    assert (check.state, check.link.id) == (LinkState.OK, link.id)
    after = await acme.db()
    assert [r[5] for r in new_audit(before, after)] == [{"channel": "C123"}]


@pytest.mark.parametrize(
    ("word", "channel", "name"),
    [
        ("<#C123|ops>", "C123", "ops"),
        ("<#C0OPS>", "C0OPS", None),
        ("#ops", "#ops", "ops"),
        ("#team.ops-2", "#team.ops-2", "team.ops-2"),
    ],
)
async def test_post_understands_picked_and_typed_channels(acme, word, channel, name):
    reply = await run(await acme.ctx(BOSS), f"post SAFETY-101 {word}")
    assert isinstance(reply, EnrolButton)
    assert (reply.channel, reply.channel_name) == (channel, name)


async def test_post_of_a_deactivated_link_is_refused(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    default = await acme.default_link(acme.gdpr)
    links.set_active(link, False)
    links.set_active(default, False)
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    assert error(await run(ctx, f"post {link.id} #ops")) == (
        f"Link {link.id} (Safety 101, Intranet) is deactivated, so its button would refuse "
        f"everyone. Turn it on first: `/enrol link activate {link.id}`."
    )
    assert error(await run(ctx, "post gdpr-basics")) == (
        f"Link {default.id} (GDPR basics, default link) is deactivated, so its button would "
        f"refuse everyone. Turn it on first: `/enrol link activate {default.id}`."
    )
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == []


@pytest.mark.parametrize("word", ["ops", "@ops", "<@U123>", "<#c123|ops>", "#", "C123"])
async def test_post_to_something_that_is_not_a_channel_is_refused(acme, word):
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"post safety-101 '{word}'")
    assert error(reply) == f"`{word}` isn't a channel: {POST_USAGE}, e.g. #ops."
    assert new_audit(before, await acme.db()) == []


# admin add / remove / list -------------------------------------------------------------------------


async def test_admin_add_by_email_makes_a_super_admin(acme):
    before = await acme.db()
    ann = acme.users["ann@example.com"]
    reply = await run(await acme.ctx(BOSS), "admin add Ann@Example.com")
    assert reply == Notice("ann@example.com is now a super admin.", Tone.SUCCESS)
    after = await acme.db()
    assert after.grants == before.grants | {"ann@example.com": "super"}
    async with acme.sessions() as s:
        grant = (
            await s.execute(select(AdminGrant).where(AdminGrant.user_id == ann.id))
        ).scalar_one()
        assert grant.granted_by_user_id == acme.users[BOSS].id
    assert [(r[0], r[5]) for r in new_audit(before, after)] == [
        ("admin.granted", {"target": "ann@example.com", "role": "super"})
    ]
    # Ann can now manage admins herself.
    assert isinstance(await run(await acme.ctx("ann@example.com"), "admin list"), Notice)
    assert await admins.role_of(acme.session, ann, ADMINS) is AdminRole.SUPER


async def test_admin_add_standard_then_again_then_super(acme):
    ctx = await acme.ctx("sue@example.com")
    reply = await run(ctx, "admin add ann@example.com --standard")
    assert reply == Notice("ann@example.com is now a standard admin.", Tone.SUCCESS)
    assert (await acme.db()).grants["ann@example.com"] == "standard"
    reply = await run(ctx, "admin add ann@example.com --standard")
    assert reply == Notice("ann@example.com is already a standard admin; nothing changed.")
    reply = await run(ctx, "admin add ann@example.com")
    assert reply == Notice("ann@example.com is now a super admin.", Tone.SUCCESS)
    assert (await acme.db()).grants["ann@example.com"] == "super"


async def test_admin_add_of_an_enrolbot_admins_admin_changes_nothing(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("sue@example.com"), "admin add BOSS@example.com --standard")
    assert reply == Notice("boss@example.com is a super admin through ENROLBOT_ADMINS already.")
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == []


@pytest.mark.parametrize("mention", ["<@UCAT42>", "<@UCAT42|cat>"])
async def test_admin_add_by_mention_matches_the_mentioned_account(acme, mention):
    acme.profiles["UCAT42"] = Profile(email="CAT@example.com", first_name="Cat")
    reply = await run(await acme.ctx(BOSS), f"admin add {mention} --standard")
    assert reply == Notice("cat@example.com is now a standard admin.", Tone.SUCCESS)
    after = await acme.db()
    assert after.grants["cat@example.com"] == "standard"
    async with acme.sessions() as s:
        identity = (
            await s.execute(select(Identity).where(Identity.subject == "UCAT42"))
        ).scalar_one()
    assert (identity.provider, identity.tenant_key, identity.user_id) == (
        "slack",
        TEAM,
        acme.users["cat@example.com"].id,
    )


@pytest.mark.parametrize(
    "profile",
    [
        Profile(email="new@example.com"),  # no training account
        Profile(email="cat@example.com", standing=Standing.GUEST),
        Profile(email=None),
    ],
)
async def test_admin_add_of_a_mention_with_no_usable_account_is_refused(acme, profile):
    acme.profiles["UNEW"] = profile
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), "admin add <@UNEW>")
    assert error(reply) == (
        "<@UNEW> can't be an admin: they have no active training account I can match."
    )
    after = await acme.db()
    assert after.grants == before.grants
    assert "admin.granted" not in actions(new_audit(before, after))


async def test_admin_remove_and_list(acme):
    ctx = await acme.ctx(BOSS)
    await run(ctx, "admin add cat@example.com --standard")
    reply = await run(ctx, "admin list")
    assert reply == Notice(
        "4 admins:",
        lines=(
            "cat@example.com · standard (added with admin add)",
            "sam@example.com · standard (added with admin add)",
            "sue@example.com · super (added with admin add)",
            "boss@example.com · super (ENROLBOT_ADMINS)",
        ),
        heading="Admins",
    )
    before = await acme.db()
    acme.profiles["USUE"] = Profile(email="sue@example.com")
    assert await run(ctx, "admin remove <@USUE>") == Notice(
        "sue@example.com is no longer an admin.", Tone.SUCCESS
    )
    assert await run(ctx, "admin remove SAM@example.com") == Notice(
        "sam@example.com is no longer an admin.", Tone.SUCCESS
    )
    assert await run(ctx, "admin remove sam@example.com") == Notice(
        "sam@example.com isn't an admin; nothing changed."
    )
    after = await acme.db()
    assert after.grants == {"cat@example.com": "standard"}
    assert [(r[0], r[5]) for r in new_audit(before, after)] == [
        ("admin.revoked", {"target": "sue@example.com"}),
        ("admin.revoked", {"target": "sam@example.com"}),
    ]
    assert await run(ctx, "admins list") == Notice(
        "2 admins:",
        lines=(
            "cat@example.com · standard (added with admin add)",
            "boss@example.com · super (ENROLBOT_ADMINS)",
        ),
        heading="Admins",
    )
    # the removed no longer manage anything
    reply = await run(await acme.ctx("sam@example.com"), "link list safety-101")
    assert error(reply) == "Only enrolment admins can list links; nothing was changed."


@pytest.mark.parametrize("query", ["_", "%", "safety_101"])
async def test_items_takes_percent_and_underscore_literally(acme, query):
    reply = await run(await acme.ctx(BOSS), f"items {query}")
    assert reply.text == f"No item's slug or title contains “{query}”."


async def test_changing_your_own_role_is_refused(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("sue@example.com"), "admin add sue@example.com --standard")
    assert error(reply) == "You can't change your own role; ask another super admin."
    assert (await acme.db()).grants == before.grants


async def test_an_apostrophe_is_not_an_open_quote(acme):
    reply = await run(await acme.ctx(BOSS), "link create safety-101 --label Bob’s")
    assert reply.label == "Bob’s"


async def test_removing_yourself_is_refused(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("sue@example.com"), "admin remove sue@example.com")
    assert error(reply) == "You can't remove yourself; ask another super admin."
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == []


@pytest.mark.parametrize("who", [BOSS, "sue@example.com"])
async def test_removing_an_enrolbot_admins_admin_is_refused(acme, who):
    before = await acme.db()
    reply = await run(await acme.ctx(who), "admin remove Boss@example.com")
    assert error(reply) == (
        "boss@example.com is an admin through the ENROLBOT_ADMINS setting; remove them there."
    )
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == []


@pytest.mark.parametrize(
    ("text", "doing"),
    [
        ("admin add ann@example.com", "manage admins"),
        ("admin add ann@example.com --standard", "manage admins"),
        ("admin remove sue@example.com", "manage admins"),
        ("admin list", "list admins"),
    ],
)
async def test_standard_admins_cannot_manage_admins(acme, text, doing):
    before = await acme.db()
    reply = await run(await acme.ctx("sam@example.com"), text)
    assert error(reply) == f"Only super admins can {doing}; nothing was changed."
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == [
        (
            "command.refused",
            f"slack:{TEAM}:USAM",
            acme.users["sam@example.com"].id,
            None,
            None,
            {"doing": doing},
        )
    ]


async def test_a_standard_admin_manages_links(acme):
    ctx = await acme.ctx("sam@example.com")
    created = await run(ctx, "link create safety-101 --label Intranet")
    assert isinstance(created, LinkCreated)
    assert (await acme.db()).links[created.link_id][7] == acme.users["sam@example.com"].id
    assert isinstance(await run(ctx, f"post {created.link_id}"), EnrolButton)


# non-admins ----------------------------------------------------------------------------------------

REFUSED = [
    ("items", "list the catalog"),
    ("items safety", "list the catalog"),
    ("link create safety-101 --label Intranet", "create links"),
    ("link create safety-101", "create links"),
    ("link create onboarding --label Intranet", "create links"),
    ("link list safety-101", "list links"),
    ("link deactivate {link}", "deactivate links"),
    ("link activate {link}", "activate links"),
    ("link delete {link}", "delete links"),
    ("link delete {link} --yes", "delete links"),
    ("post safety-101", "post Enrol buttons"),
    ("post {link} <#C123|ops>", "post Enrol buttons"),
    ("admin add ann@example.com", "manage admins"),
    ("admin remove sue@example.com", "manage admins"),
    ("admin list", "list admins"),
    ("notify safety-101", "manage self-enrolment alerts"),
]


@pytest.mark.parametrize(("text", "doing"), REFUSED)
async def test_a_learner_is_refused_every_admin_command_and_nothing_changes(acme, text, doing):
    link = await acme.extra_link(acme.safety, "Intranet")
    before = await acme.db()
    reply = await run(await acme.ctx("ann@example.com"), text.format(link=link.id))
    assert error(reply) == f"Only enrolment admins can {doing}; nothing was changed."
    after = await acme.db()
    assert (after.links, after.grants, after.tombstones) == (
        before.links,
        before.grants,
        before.tombstones,
    )
    assert new_audit(before, after) == [
        (
            "command.refused",
            f"slack:{TEAM}:UANN",
            acme.users["ann@example.com"].id,
            None,
            None,
            {"doing": doing},
        )
    ]


async def test_a_learner_cannot_confirm_a_deletion_or_submit_the_link_form(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    before = await acme.db()
    ctx = await acme.ctx("ann@example.com")
    assert error(await confirm_link_delete(ctx, str(link.id))) == (
        "Only enrolment admins can delete links; nothing was changed."
    )
    assert error(await submit_link_form(ctx, "safety-101", "Email", "")) == (
        "Only enrolment admins can create links; nothing was changed."
    )
    after = await acme.db()
    assert (after.links, after.tombstones) == (before.links, before.tombstones)
    assert actions(new_audit(before, after)) == ["command.refused", "command.refused"]


async def test_a_guest_with_no_training_account_is_refused_too(acme):
    before = await acme.db()
    ctx = await acme.ctx("visitor@partner.example", standing=Standing.GUEST)
    assert ctx.caller.user is None
    reply = await run(ctx, "link create safety-101 --label Intranet")
    assert error(reply) == "Only enrolment admins can create links; nothing was changed."
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == [
        (
            "command.refused",
            f"slack:{TEAM}:UVISITOR",
            None,
            None,
            None,
            {"doing": "create links"},
        )
    ]


# mistakes ------------------------------------------------------------------------------------------

MISTAKES = [
    ("frobnicate", "I don't know `frobnicate`. `/enrol help` lists what I can do."),
    (
        "link",
        "`link` needs what to do: create, list, deactivate, activate or delete. "
        "`/enrol help` shows how.",
    ),
    (
        "link frob 3",
        "I don't know `link frob`; use create, list, deactivate, activate or delete. "
        "`/enrol help` shows how.",
    ),
    ("admin", "`admin` needs add, remove or list: `/enrol help` shows how."),
    ("admin promote ann@example.com", "I don't know `admin promote`; use add, remove or list."),
    ("link create", f"Tell me which item: {CREATE_USAGE}."),
    ("link create --label Intranet", f"Tell me which item: {CREATE_USAGE}."),
    ("link list", "Tell me which item: `/enrol link list ITEM`."),
    ("link deactivate", "Tell me which link: `/enrol link deactivate LINK`."),
    ("link activate", "Tell me which link: `/enrol link activate LINK`."),
    ("link delete --yes", "Tell me which link: `/enrol link delete LINK [--yes]`."),
    ("post", f"Tell me what to post: {POST_USAGE}."),
    ("admin add", "Tell me who: `/enrol admin add EMAIL|@person [--standard]`."),
    ("admin remove", "Tell me who: `/enrol admin remove EMAIL|@person`."),
    ("link create safety-101 --label", f"--label needs a value: {CREATE_USAGE}."),
    (
        'link create safety-101 --label "Team intranet',
        'A quote is left open: close it, e.g. --label "Team intranet".',
    ),
    (
        "link create safety-101 --label “Team intranet",
        'A quote is left open: close it, e.g. --label "Team intranet".',
    ),
    (
        "link create safety-101 --colour red",
        f"I don't know the option --colour here; it takes --label, --notes: {CREATE_USAGE}.",
    ),
    (
        "link list safety-101 --all",
        "I don't know the option --all here; it takes no options: `/enrol link list ITEM`.",
    ),
    (
        "link delete 1 --force",
        "I don't know the option --force here; it takes --yes: `/enrol link delete LINK [--yes]`.",
    ),
    (
        "admin remove sam@example.com --standard",
        "I don't know the option --standard here; it takes no options: "
        "`/enrol admin remove EMAIL|@person`.",
    ),
    (
        "link create safety-101 --label Team intranet",
        f"I didn't expect `intranet` there: {CREATE_USAGE}. Put quotes around text with spaces.",
    ),
    (
        "link list safety-101 gdpr-basics",
        "I didn't expect `gdpr-basics` there: `/enrol link list ITEM`. Put quotes around text "
        "with spaces.",
    ),
    (
        "post safety-101 #ops now",
        f"I didn't expect `now` there: {POST_USAGE}. Put quotes around text with spaces.",
    ),
    (
        "admin add ann@example.com sam@example.com",
        "I didn't expect `sam@example.com` there: `/enrol admin add EMAIL|@person [--standard]`. "
        "Put quotes around text with spaces.",
    ),
    (
        "link deactivate abc",
        "`abc` isn't a link id. `/enrol link list ITEM` shows an item's links, each line "
        "starting with its id.",
    ),
    (
        "link delete -1 --yes",
        "`-1` isn't a link id. `/enrol link list ITEM` shows an item's links, each line "
        "starting with its id.",
    ),
    ("link activate 99999", "There is no link 99999. `link list ITEM` shows an item's links."),
    ("link activate 3000000000", "There is no link 3000000000."),
    ("post 3000000000", "There is no link 3000000000."),
    (
        "link deactivate ²",
        "`²` isn't a link id. `/enrol link list ITEM` shows an item's links, each line "
        "starting with its id.",
    ),
    ("link delete 99999 --yes", "There is no link 99999. `link list ITEM` shows an item's links."),
    ("post 99999", "There is no link 99999. `link list ITEM` shows an item's links."),
    ("link list saftey-101", "There is no item `saftey-101`. Did you mean `safety-101`?"),
    ("post fire-drill #ops", "There is no item `fire-drill`. `items` lists them."),
    (
        "admin add @cat",
        "I can't tell who @cat is: pick the person from the @ suggestions, or give their email.",
    ),
    ("admin add not-an-email", "`not-an-email` is neither an email address nor an @mention."),
    (
        "admin add new@example.com",
        "There's no training account for new@example.com. Import it with `enrolbot users "
        "import` first.",
    ),
]


@pytest.mark.parametrize(("text", "answer"), MISTAKES)
async def test_a_mistake_gets_a_sentence_saying_what_to_type_and_changes_nothing(
    acme, text, answer
):
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), text)
    assert error(reply) == answer
    after = await acme.db()
    assert after == before


async def test_mistakes_in_teams_quote_the_teams_prefix(acme):
    ctx = await acme.ctx(BOSS, prefix="enrol")
    assert error(await run(ctx, "frobnicate")) == (
        "I don't know `frobnicate`. `enrol help` lists what I can do."
    )
    assert error(await run(ctx, "link list")) == "Tell me which item: `enrol link list ITEM`."


# the new-link form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["", "   "])
async def test_the_form_wants_a_label(acme, label):
    before = await acme.db()
    reply = await submit_link_form(await acme.ctx(BOSS), "safety-101", label, "notes")
    assert reply == FieldProblem(
        "label", "Give the link a label, so you can tell it apart from the item's other links."
    )
    assert (await acme.db()).links == before.links


async def test_the_form_refuses_a_label_another_link_of_the_item_has(acme):
    taken = await acme.extra_link(acme.safety, "Intranet")
    await acme.extra_link(acme.gdpr, "Email")  # another item's label is no clash
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    for label in ("Intranet", "INTRANET", "  intranet "):
        reply = await submit_link_form(ctx, "safety-101", label, "")
        assert reply == FieldProblem(
            "label", f"Link {taken.id} already has this label; choose another."
        )
    assert (await acme.db()).links == before.links
    assert isinstance(await submit_link_form(ctx, "safety-101", "Email", ""), LinkCreated)


async def test_the_form_refuses_a_label_too_long(acme):
    reply = await submit_link_form(await acme.ctx(BOSS), "safety-101", "x" * 201, "")
    assert reply == FieldProblem("label", "Keep the label to 200 characters.")


async def test_a_good_form_creates_the_link(acme):
    before = await acme.db()
    reply = await submit_link_form(
        await acme.ctx("sam@example.com"), "gdpr-basics", " Q3 email ", " Sent to sales "
    )
    assert isinstance(reply, LinkCreated)
    assert (reply.item_title, reply.label) == ("GDPR basics", "Q3 email")
    assert reply.url.startswith(PUBLIC_URL + "/enrol/")
    token = reply.url.rsplit("/", 1)[1]
    check = await check_token(acme.session, SIGNER, token, acme.org.id)
    assert (check.state, check.link.id) == (LinkState.OK, reply.link_id)
    after = await acme.db()
    assert set(after.links) - set(before.links) == {reply.link_id}
    assert after.links[reply.link_id][:4] == ("gdpr-basics", "Q3 email", "Sent to sales", False)
    assert actions(new_audit(before, after)) == ["link.created"]


async def test_the_form_for_a_pathway_or_a_vanished_item_says_why(acme):
    ctx = await acme.ctx(BOSS)
    assert error(await submit_link_form(ctx, "onboarding", "Intranet", "")) == (
        "Onboarding is a pathway, and pathways have only their default link; "
        "post or share that one instead."
    )
    assert error(await submit_link_form(ctx, "fire-drill", "Intranet", "")) == (
        "There is no item `fire-drill`. `items` lists them."
    )
    async with acme.sessions() as s:
        count = await s.scalar(
            select(func.count()).select_from(EnrolmentLink).where(EnrolmentLink.label.is_not(None))
        )
    assert count == 0
