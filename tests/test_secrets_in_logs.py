"""No secret ever reaches the logs: a whole Slack and Teams scenario runs with every logger
captured at DEBUG, and the capture is searched for each secret the scenario used."""

from __future__ import annotations

import logging

from tests.support.slack_world import ADMIN, ANN, BOT_TOKEN, SIGNING_SECRET, SlackWorld
from tests.support.teams_standin import ACCESS_TOKEN
from tests.support.teams_world import TeamsWorld


def test_no_secret_or_token_appears_in_any_log(db_url, databases, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = {
        SIGNING_SECRET,
        BOT_TOKEN,
        "test-key-of-thirty-two-bytes-0123",
        "app-password",
        ACCESS_TOKEN,
    }
    with SlackWorld(db_url) as slack:
        token = slack.posted_button()
        secrets.add(token)
        slack.click(ANN, token)
        slack.click("U0GUEST", token)
        slack.click(ANN, token[:-4] + "AAAA")
        created = slack.command(ADMIN, 'link create safety-101 --label "Email"')
        secrets.add(created["text"].rsplit("/", 1)[-1])
        slack.http.get("/enrol/" + token)
        slack.command(ADMIN, "notify safety-101 <#C0OPS|ops>")
        slack.slack.fail_next("chat.postMessage", 500)
        slack.click("U0DONE", token)
    with TeamsWorld(databases.fresh("sqlite"), tmp_path) as teams:
        card_token, card_id = teams.post_card()
        secrets.add(card_token)
        jwt = teams.keys.sign(teams.service_url)
        secrets.add(jwt)
        teams.click("ann", card_token, card_id)
        teams.send(
            teams.activity("ann", type="message", text="enrol help"), token=jwt[:-5] + "xxxxx"
        )
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert len(caplog.records) > 20  # the scenario did log
    leaked = sorted(s for s in secrets if s and s in logged)
    assert leaked == []
