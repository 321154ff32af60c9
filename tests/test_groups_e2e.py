"""Group and person commands end to end: Slack's slash command and a Teams message reach the
same handlers over HTTP, mentions name people on both, and the replies render."""

from __future__ import annotations

from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import TeamsWorld, card_text


def test_slack_group_commands_take_mentions_and_keep_the_department(db_url):
    with SlackWorld(db_url) as slack:
        made = text_of(slack.command(ADMIN, "group create Sales --kind department"))
        assert "Made the department Sales." in made
        added = text_of(slack.command(ADMIN, f"group add Sales <@{ANN}|ann>"))
        assert "Added 1 person to Sales (department)." in added
        shown = text_of(slack.command(ADMIN, f"person show <@{ANN}>"))
        assert "Department: Sales · from manual, since " in shown
        assert "In Sales (department, made by hand) since " in shown
        refused = text_of(slack.command(ANN, "group list"))
        assert "Only enrolment admins can manage groups" in refused


ANN_IN_TEAMS = {"Ann Lee": "29:ann"}


def test_teams_group_commands_take_mentions(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as teams:
        assert "Made the group Mentors." in card_text(teams.say("admin", "group create Mentors"))
        added = teams.say("admin", "group add Mentors <at>Ann Lee</at>", mentions=ANN_IN_TEAMS)
        assert "Added 1 person to Mentors (group)." in card_text(added)
        shown = card_text(teams.say("admin", "group show Mentors"))
        assert "Members: 1" in shown and "ann@acme.test" in shown
