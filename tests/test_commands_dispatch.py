"""The dispatcher: one role check (and audit of a refusal) for every command, and one parser
whose every mistake gets a sentence saying what to type."""

from __future__ import annotations

import pytest

from handlers.commands import (
    confirm_link_delete,
    name_of,
    run,
    submit_link_form,
)
from handlers.identity import Profile
from handlers.replies import Notice
from store.models import Standing
from tests.support.command_world import (
    BOSS,
    CREATE_USAGE,
    POST_USAGE,
    TEAM,
    actions,
    error,
    new_audit,
)

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


# names for metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("", "help"),
        ("HELP link", "help"),
        ("?", "help"),
        ("items safety", "items"),
        ("LINKS disable 3", "link deactivate"),
        ('link create safety-101 --label "Team intranet"', "link create"),
        ('link create safety-101 --label "open', "link create"),
        ("post 3 <#C1|ops>", "post"),
        ("admins list", "admin list"),
        ("notify all --off", "notify"),
        ("frobnicate", "unknown"),
        ("link frob", "unknown"),
        ("[Verify your account](https://evil.example)", "unknown"),
    ],
)
def test_metrics_name_a_command_by_its_registered_name_and_anything_else_unknown(text, name):
    assert name_of(text) == name


def test_three_hundred_made_up_commands_are_one_name():
    assert {name_of(f"guest{n} says hi") for n in range(300)} == {"unknown"}


# echoed words --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ann@example.com", "visitor@partner.example"])
async def test_an_unknown_word_from_a_non_admin_is_not_echoed(acme, who):
    standing = Standing.GUEST if who.startswith("visitor") else Standing.MEMBER
    ctx = await acme.ctx(who, standing=standing, prefix="enrol")
    for text in ('"[Verify your account](https://evil.example)"', "<!channel>", "link frob"):
        assert error(await run(ctx, text)) == (
            "I don't know that command. `enrol help` says what I can do."
        )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            '"[Verify your account](https://evil.example)"',
            "I don't know `Verify your account(https://evil.exampl…`. `/enrol help` lists what I "
            "can do.",
        ),
        ("'a`b` *bold* ~x~'", "I don't know `ab bold x`. `/enrol help` lists what I can do."),
        ("'two\nlines'", "I don't know `two lines`. `/enrol help` lists what I can do."),
        ("x" * 500, f"I don't know `{'x' * 39}…`. `/enrol help` lists what I can do."),
        (
            "link '`[x](https://e.example)`'",
            "I don't know `link x(https://e.example)`; use create, list, deactivate, activate or "
            "delete. `/enrol help` shows how.",
        ),
        (
            "link list safety-101 '--[x](https://e.example)'",
            "I don't know the option --x(https://e.example) here; it takes no options: "
            "`/enrol link list ITEM`.",
        ),
        (
            "link list '`safety`'",
            "There is no item `safety`. Did you mean `safety-101`?",
        ),
        (
            "admin add '<@U1|[x](https://e.example)>'",
            "<@U1|x(https://e.example)> can't be an admin: they have no active training account "
            "I can match.",
        ),
        (
            "items '*[x](https://e.example)*'",
            None,
        ),
    ],
)
async def test_words_quoted_back_cannot_form_links_code_or_line_breaks(acme, text, answer):
    acme.profiles["U1"] = Profile(email=None)
    reply = await run(await acme.ctx(BOSS), text)
    if answer is None:
        assert reply == Notice("No item's slug or title contains “x(https://e.example)”.")
        return
    assert error(reply) == answer
