"""help, generated from the command registry: what each role sees, on each platform."""

from __future__ import annotations

import pytest

from handlers.commands import (
    run,
)
from handlers.replies import (
    Notice,
)
from tests.support.command_world import (
    BOSS,
)

# help ----------------------------------------------------------------------------------------------

# Generated from the registry, one line per command; it used to be written by hand and left out
# notify.
GROUP_HELP = (
    "`/enrol group list [KIND]`: the groups of people, with their members' count",
    "`/enrol group show GROUP [--kind KIND]`: a group's kind, source and members",
    "`/enrol group create NAME [--kind KIND]`: make a group (kind: group unless --kind)",
    "`/enrol group add GROUP PEOPLE… [--kind KIND]`: add people (emails or @mentions) to a group",
    "`/enrol group remove GROUP PEOPLE… [--kind KIND]`: take people (emails or @mentions) out of "
    "a group",
    "`/enrol group delete GROUP [--kind KIND]`: delete a group (its members' history stays)",
    "`/enrol group sync [SOURCE]`: pull people and groups from SCIM, Slack and Teams now",
    "`/enrol group link usergroup @HANDLE`: make a Slack user group a group whose members "
    "follow Slack's",
    "`/enrol group link channel #CHANNEL`: make a channel's members a group that follows who "
    "joins and leaves",
    "`/enrol group unlink GROUP [--kind KIND]`: stop following a group's Slack user group, "
    "channel or Teams team; the group keeps its members",
    "`/enrol person show EMAIL|@person`: someone's attributes and groups, and where each came from",
)
RULE_OPTIONS = (
    "[--everyone] [--group GROUP]… [--where FIELD=VALUE]… [--manager PERSON] [--all-reports] "
    "[--hired-after DATE] [--added-after DATE] [--include-prospects] [--required] "
    "[--recommended] [--reason TEXT] [--due-within DAYS] [--due-on DATE] "
    "[--due-each-year MM-DD] [--first-due-within DAYS] [--recur once|annual|every N days|months] "
    "[--enrol-days-before DAYS] [--withdraw-on-leave] [--existing] [--new-only]"
)
RULE_HELP = (
    f"`/enrol rule create ITEM {RULE_OPTIONS}`: enrol everyone who matches in ITEM, now and "
    "whenever someone comes to match",
    f"`/enrol rule preview ITEM {RULE_OPTIONS}`: who a rule would enrol, before saving it (same "
    "options as rule create)",
    "`/enrol rule list [ITEM]`: the automatic enrolment rules, of one item or all",
    "`/enrol rule show RULE`: what a rule says, whom it enrolled, and who made it",
    "`/enrol rule pause RULE`: stop a rule enrolling anyone (what it enrolled stays)",
    "`/enrol rule resume RULE`: start a paused rule again, enrolling whoever came to match "
    "meanwhile",
    "`/enrol rule delete RULE`: stop a rule for good (what it enrolled stays)",
    "`/enrol why [PERSON] ITEM`: how someone came to be enrolled in ITEM: which rule, link, "
    "token or person, when, and through which membership (anyone may ask about themselves)",
    "`/enrol drift ITEM`: who the item's rules expect but is not enrolled, and who is enrolled "
    "without a rule, each with the reason",
)
ENROL_HELP = (
    "`/enrol enrol add PEOPLE... ITEMS... [--group GROUP]… [--required] [--recommended] [--due-within DAYS] [--due-on DATE] [--reason TEXT]`: enrol people (@mentions, emails, --group) in items (slugs), each told once; managers only their own direct reports",
    "`/enrol enrol withdraw PERSON ITEM [--reason TEXT]`: withdraw someone from an item, keeping their progress and history; they are told",
    "`/enrol enrol list PERSON|me`: someone's enrolments: status, how they came about, due date (anyone may see their own)",
    "`/enrol team [ITEMS...]`: your direct reports and their enrolments (only these items when given), overdue first",
    "`/enrol enrol template ITEMS...`: an .xlsx to fill in: a column of emails, and an x under "
    "each item to enrol",
    "`/enrol enrol import`: preview a filled template, then Start import: each person enrolled "
    "is told (managers: only their direct reports)",
    "`/enrol enrol imports`: past spreadsheet imports: who ran them, when, and their counts",
)
INVITE_HELP = (
    "`/enrol invite EMAILS… [--group GROUP] [--type staff|client] [--kind KIND]`: invite up to "
    "10 people by email into a group",
    "`/enrol invite list [--status pending|accepted|cancelled]`: invitations and their status "
    "(pending, accepted, cancelled)",
    "`/enrol invite resend INVITE|EMAIL`: send a pending invitation again, with a new link (the "
    "old one stops working)",
    "`/enrol invite cancel INVITE|EMAIL`: cancel a pending invitation: its link stops working "
    "at once",
    "`/enrol invite import`: invite up to 500 people from a spreadsheet (email, group[, type]): "
    "a preview first, then Send invitations",
    "`/enrol join on [--group GROUP] [--allow-domain DOMAIN]…`: switch the join page on (again: "
    "at a new address, the old one stops working)",
    "`/enrol join off`: switch the join page off",
    "`/enrol join show`: the join page: on or off, its address, group and domains",
)
MY_LEARNING_HELP = (
    "`/enrol my learning`: your enrolments, overdue first, then due soon; your completions; "
    "featured items to enrol in",
)
FEATURE_HELP = (
    "`/enrol item feature ITEM`: offer ITEM to everyone in My learning, with an Enrol button",
    "`/enrol item unfeature ITEM`: stop offering ITEM in My learning",
)
SUPER_HELP = (
    "`/enrol items [QUERY]`: topics, articles and pathways, with their slugs",
    "`/enrol link create ITEM [--label TEXT] [--notes TEXT]`: a new link (no label: a form asks)",
    "`/enrol link list ITEM`: an item's links: id, label, status, uses, created",
    "`/enrol link deactivate LINK`: switch a link off: its buttons and URLs say it is disabled",
    "`/enrol link activate LINK`: switch a link back on: its old buttons and URLs work again",
    "`/enrol link delete LINK [--yes]`: destroy a link for good (asks first without --yes)",
    "`/enrol post ITEM|LINK [#channel] [--token TOKEN]`: post an Enrol button (default: the "
    "item's default link, in this channel); with --token, guests and other organisations' people "
    "register through it",
    "`/enrol notify ITEM|all [#channel] [--off] [--digest hourly|daily] [--email EMAIL] "
    "[--external-email on|off] [--stakeholder EMAIL]`: alerts in this channel (or by email) when "
    "people enrol themselves; alone: what this channel gets",
    "`/enrol token create ITEM [--nickname TEXT]`: a self-registration token for outsiders: a "
    "code and a link, shown once",
    "`/enrol token list ITEM`: an item's tokens: id, nickname, status, uses, created",
    "`/enrol token deactivate TOKEN`: pause a token: its code says it is currently disabled",
    "`/enrol token activate TOKEN`: switch a token back on: its code and link work again",
    "`/enrol token delete TOKEN [--yes]`: destroy a token for good (asks first without --yes)",
    "`/enrol token import`: create or update many tokens from a spreadsheet (on the command line)",
    "`/enrol report ITEM [--type T] [--since DATE]`: an item's enrolments by user type and by "
    "source, with the CSV",
    "`/enrol admin add EMAIL|@person [--standard]`: make someone an admin (super unless "
    "--standard)",
    "`/enrol admin remove EMAIL|@person`: take someone's admin rights away",
    "`/enrol admin list`: who can manage enrolment",
    *GROUP_HELP,
    *RULE_HELP,
    *ENROL_HELP,
    *MY_LEARNING_HELP,
    *FEATURE_HELP,
    *INVITE_HELP,
    "`/enrol help [COMMAND]`: this list, or how one command is used, with examples",
    "ITEM is an item's slug; LINK is a link's id; TOKEN is a token's id (t12) or its code; "
    "GROUP is a group's name; RULE is a rule's number. Quote text with spaces: "
    '--label "Team intranet".',
)


@pytest.mark.parametrize("text", ["help", "", "  ", "HELP", "-h", "--help", "?"])
async def test_help_for_a_super_admin_lists_every_command(acme, text):
    reply = await run(await acme.ctx(BOSS), text)
    assert reply == Notice("What I can do for you:", lines=SUPER_HELP, heading="enrolbot")


async def test_help_for_a_standard_admin_leaves_out_admin_management(acme):
    reply = await run(await acme.ctx("sam@example.com"), "help")
    assert isinstance(reply, Notice)
    assert reply.lines == (
        SUPER_HELP[:15]
        + GROUP_HELP
        + RULE_HELP
        + ENROL_HELP
        + MY_LEARNING_HELP
        + FEATURE_HELP
        + INVITE_HELP
        + SUPER_HELP[-2:]
    )
    assert not any("admin add" in line or "admin list" in line for line in reply.lines)


# What a learner may run about themselves, and so finds in their help.
LEARNERS_OWN = ("`/enrol why ", "`/enrol enrol list ", "`/enrol my learning")


async def test_help_for_a_learner_explains_the_enrol_button_and_names_no_admin_command(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("ann@example.com"), "help")
    assert reply == Notice(
        "To enrol, click an Enrol button in a channel or open an enrolment link: you're "
        "enrolled at once as who you are here, with no forms. Enrolment links and buttons "
        "are managed by your training admins; ask them for training you can't find.",
        lines=tuple(line for line in SUPER_HELP if line.startswith(LEARNERS_OWN)),
        heading="enrolbot",
    )
    assert len(reply.lines) == len(LEARNERS_OWN)
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


async def test_help_lists_notify_for_every_admin_on_both_platforms(acme):
    for email in (BOSS, "sam@example.com"):
        for prefix in ("/enrol", "enrol"):
            reply = await run(await acme.ctx(email, prefix=prefix), "help")
            assert any(line.startswith(f"`{prefix} notify ITEM|all") for line in reply.lines)


async def test_help_in_teams_never_offers_a_channel_by_name(acme):
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False, provider="teams")
    reply = await run(ctx, "help")
    assert isinstance(reply, Notice)
    assert (
        "`enrol post ITEM|LINK [--token TOKEN]`: post an Enrol button (default: the item's "
        "default link, in this channel); with --token, guests and other organisations' people "
        "register through it"
    ) in reply.lines
    assert not any("#" in line for line in reply.lines)
    for command in ("post", "notify"):
        one = await run(ctx, f"help {command}")
        assert one.lines and not any("#" in line for line in (one.text, *one.lines))


async def test_help_in_a_teams_personal_chat_says_this_chat(acme):
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False, personal=True)
    reply = await run(ctx, "help")
    assert (
        "`enrol notify ITEM|all [--off] [--digest hourly|daily] [--email EMAIL] "
        "[--external-email on|off] [--stakeholder EMAIL]`: alerts in this chat (or by email) "
        "when people enrol themselves; alone: what this chat gets"
    ) in reply.lines


async def test_help_command_shows_its_usage_examples_and_aliases(acme):
    reply = await run(await acme.ctx("sam@example.com"), "help LINK CREATE")
    assert reply == Notice(
        "`/enrol link create ITEM [--label TEXT] [--notes TEXT]`: a new link (no label: a form "
        "asks)",
        lines=(
            'For example: `/enrol link create safety-101 --label "Team intranet"`',
            "For example: `/enrol link create safety-101`",
            "Also understood: link new",
        ),
        heading="/enrol link create",
    )


async def test_help_of_a_noun_lists_its_commands(acme):
    reply = await run(await acme.ctx(BOSS), "help links")
    assert reply == Notice("The link commands:", lines=SUPER_HELP[1:6], heading="enrolbot")


async def test_help_of_what_the_caller_may_not_run_or_of_nothing_says_so(acme):
    sam = await acme.ctx("sam@example.com")
    assert await run(sam, "help admin add") == Notice("Only super admins can manage admins.")
    assert await run(sam, "help admin") == Notice("Only super admins can manage admins.")
    assert await run(sam, "help frob") == Notice(
        "I don't know the command `frob`. `/enrol help` lists what I can do."
    )
    ann = await acme.ctx("ann@example.com")
    assert await run(ann, "help link create") == await run(ann, "help")


def test_every_registered_command_is_in_help_for_a_super_admin():
    """help is generated: a command registered later shows up without anyone editing help."""
    from handlers.commands import registry

    names = [c.name for c in registry.COMMANDS]
    slack = [c for c in registry.COMMANDS if c.works_on("slack")]  # SUPER_HELP is Slack's help
    assert names[0] == "help" and len(names) == len(set(names))
    assert len(slack) == len(SUPER_HELP) - 1
    for command in slack:
        assert any(line.startswith(f"`/enrol {command.name}") for line in SUPER_HELP)
