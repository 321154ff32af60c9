"""Group and person commands end to end: Slack's slash command and a Teams message reach the
same handlers over HTTP, mentions name people on both, and the replies render."""

from __future__ import annotations

from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import APP_ID, TeamsWorld, card_text


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


def test_teams_group_commands_take_mentions(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as teams:
        assert "Made the group Mentors." in card_text(teams.say("admin", "group create Mentors"))
        activity = teams.activity(
            "admin",
            type="message",
            text="<at>enrolbot</at> enrol group add Mentors <at>Ann Lee</at>",
            entities=[
                {
                    "type": "mention",
                    "text": "<at>enrolbot</at>",
                    "mentioned": {"id": f"28:{APP_ID}", "name": "enrolbot"},
                },
                {
                    "type": "mention",
                    "text": "<at>Ann Lee</at>",
                    "mentioned": {"id": "29:ann", "name": "Ann Lee"},
                },
            ],
        )
        assert teams.send(activity).status_code == 200
        [reply] = teams.connector.wait(lambda s: s.activity_id == activity["id"])
        assert "Added 1 person to Mentors (group)." in card_text(
            reply.body["attachments"][0]["content"]
        )
        shown = card_text(teams.say("admin", "group show Mentors"))
        assert "Members: 1" in shown and "ann@acme.test" in shown
