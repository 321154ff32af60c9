"""`enrolbot webhook ...` as an admin runs it (click's runner, in process) against the test's
database and a real loopback receiver that verifies signatures with `standardwebhooks`."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from store.models import OutboxMessage, WebhookEndpoint
from tests.support.servers import ServedApp
from tests.support.syncdb import SyncDB
from tests.support.webhook_receiver import FAIL, LOOPBACK, Receiver


def cli(db_url: str, *args: str, loopback: bool = True):
    """`enrolbot ARGS`; with `loopback`, as a development setup that lets webhooks reach
    the loopback receivers (ENROLBOT_WEBHOOK_ALLOW_PRIVATE)."""
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "webhook-cli-test-key-0123456789abcdef"}
    env.update(LOOPBACK if loopback else {"ENROLBOT_WEBHOOK_ALLOW_PRIVATE": None})
    return CliRunner().invoke(main, list(args), env=env)


def test_add_shows_the_secret_once_and_test_gets_the_receivers_answer(db_url):
    receiver = Receiver()
    with ServedApp(receiver.app()) as served:
        url = f"{served.url}/hook"
        added = cli(db_url, "webhook", "add", url, "--events", "enrolment.created")
        assert added.exit_code == 0, added.output
        receiver.secret = re.search(r"whsec_\S+", added.output).group(0)
        assert "Added webhook 1" in added.output
        listed = cli(db_url, "webhook", "list")
        assert f"1  {url}  enrolment.created  active  never tried" in listed.output
        assert "whsec_" not in listed.output  # shown only when added
        tested = cli(db_url, "webhook", "test", url)
        assert tested.exit_code == 0, tested.output
        assert f"{url} answered HTTP 204" in tested.output
        # The test is the endpoint's last attempt, as `webhook list` shows it.
        last = cli(db_url, "webhook", "list").output
        assert re.fullmatch(
            rf"1  {url}  enrolment.created  active  last \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d HTTP 204\n",
            last,
        ), last
        resumed = cli(db_url, "webhook", "resume", "1")
        assert resumed.output == f"{url} is not paused: its events go out as they happen.\n"
        [event] = receiver.received()
        assert event["type"] == "webhook.test" and receiver.unverified == 0
        receiver.mode = FAIL
        refused = cli(db_url, "webhook", "test", "1")
        assert refused.exit_code == 1
        assert "answered HTTP 500" in refused.output and "must answer 2xx" in refused.output
    assert "HTTP 500 (HTTP 500" in cli(db_url, "webhook", "list").output
    gone = cli(db_url, "webhook", "test", "1")
    assert gone.exit_code == 1 and "did not take the test event: could not reach it" in gone.output
    assert "no answer (could not reach it" in cli(db_url, "webhook", "list").output
    assert cli(db_url, "webhook", "log", "1").output == "No deliveries yet.\n"
    assert SyncDB(db_url).scalar(select(OutboxMessage.id)) is None  # tests are not kept


def test_wrong_input_gets_a_sentence_and_changes_nothing(db_url):
    for args, says in (
        (("add", "hooks.example/x"), "is not a web address"),
        (("add", "https://hooks.example/x", "--events", "enrolment.made"), "Unknown event"),
        (("remove", "7"), "No webhook endpoint 7: `enrolbot webhook list` shows them."),
        (("log", "https://nowhere.example"), "No webhook endpoint"),
    ):
        result = cli(db_url, "webhook", *args)
        assert result.exit_code == 1 and says in result.output, result.output
    assert SyncDB(db_url).scalar(select(WebhookEndpoint.id)) is None
    assert cli(db_url, "webhook", "add", "https://hooks.example/x").exit_code == 0
    again = cli(db_url, "webhook", "add", "https://hooks.example/x")
    assert again.exit_code == 1 and "already an endpoint" in again.output
    removed = cli(db_url, "webhook", "remove", "https://hooks.example/x")
    assert (
        removed.output == "Removed webhook https://hooks.example/x; 0 undelivered events dropped.\n"
    )


def test_addresses_inside_a_network_are_refused_unless_the_setting_allows_them(db_url):
    for url, says in (
        ("https://localhost/hook", "points at 127.0.0.1 (as localhost resolves), a loopback"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254, a link-local address"),
        ("https://10.1.2.3/hook", "points at 10.1.2.3, a private address inside a network"),
        ("https://[fd00::5]/hook", "points at fd00::5, a private address"),
        ("https://0.0.0.0/hook", "an unspecified address"),
        ("http://93.184.215.14/hook", "is not https: give the receiver's https:// address"),
    ):
        result = cli(db_url, "webhook", "add", url, loopback=False)
        assert result.exit_code == 1, result.output
        assert says in result.output and "ENROLBOT_WEBHOOK_ALLOW_PRIVATE=true" in result.output
    assert SyncDB(db_url).scalar(select(WebhookEndpoint.id)) is None
    receiver = Receiver()
    with ServedApp(receiver.app()) as served:
        added = cli(db_url, "webhook", "add", f"{served.url}/hook")  # a development setup
        assert added.exit_code == 0, added.output
        # The setting turned off again: the test event is not sent, and says why.
        refused = cli(db_url, "webhook", "test", "1", loopback=False)
    assert refused.exit_code == 1 and receiver.hits == 0
    assert "did not take the test event: not sent: http://127.0.0.1:" in refused.output
