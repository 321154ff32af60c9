"""Deep links opened in a browser that signs in with Slack, over HTTP: the person is keyed as a
button click keys them, a member of our Enterprise Grid is one of ours, and guests, other
workspaces and prospects are refused. One server per database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.models import Identity
from tests.support.databases import backends
from tests.support.entra_signin_standin import person
from tests.support.signin_world import (
    PROSPECT,
    enrolments,
    paragraphs,
    sign_in_and_open,
    world_per_database,
)
from tests.support.slack_signin_standin import slack_person
from tests.support.slack_standin import ENTERPRISE, OTHER_TEAM, SISTER_TEAM, TEAM, grid_member

world = pytest.fixture(world_per_database, scope="module", params=backends(), name="world")


def test_sign_in_with_slack_keys_the_person_as_a_button_click_does(world):
    world.slack_signin.signs_in = slack_person("U0NEW", "new@acme.test")
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    # new@acme.test has no training account: the page says so, and the identity is the one a
    # click of U0NEW in our workspace would use.
    assert "There's no training account for new@acme.test." in paragraphs(page)[0]
    identity = world.db.scalar(select(Identity).where(Identity.subject == "U0NEW"))
    assert (identity.provider, identity.tenant_key) == ("slack", TEAM)
    asked = world.slack.calls_of("users.info")
    assert [c.args.get("user") for c in asked][-1] == "U0NEW"  # the directory, as on a click
    request = world.slack_signin.authorize_requests[-1]
    assert request["team"] == TEAM and set(request["scope"].split()) == {
        "openid",
        "email",
        "profile",
    }


def test_a_member_of_another_workspace_of_our_enterprise_grid_is_one_of_ours(world):
    world.slack.add_user(grid_member("U0SIS", "sis@acme.test", "Sis", "Ter"))
    world.slack.enterprise = ENTERPRISE  # the next app's auth.test says we are in a Grid
    try:
        grid = world.serve()
    finally:
        world.slack.enterprise = None
    world.slack_signin.signs_in = slack_person(
        "U0SIS", "sis@acme.test", team=SISTER_TEAM, enterprise=ENTERPRISE
    )
    browser = world.browser(grid)
    page = browser.get(f"/auth/login?next={world.link('onboarding')}&provider=slack")
    # Keyed by our workspace as their click would be, and matched (there is no such user).
    assert paragraphs(page)[0].startswith("There's no training account for sis@acme.test.")
    identity = world.db.scalar(select(Identity).where(Identity.subject == "U0SIS"))
    assert (identity.provider, identity.tenant_key) == ("slack", TEAM)


def test_a_slack_guest_is_refused(world):
    world.slack_signin.signs_in = slack_person("U0GUEST", "guest@partner.test")
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    assert page.status_code == 403
    assert paragraphs(page)[0].startswith("Guest accounts can't use internal enrolment links.")


def test_someone_of_another_slack_workspace_is_refused(world):
    world.slack_signin.signs_in = slack_person("U0STRANGER", "x@other.test", team=OTHER_TEAM)
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    assert page.status_code == 403
    assert "This link is for members of the organisation that shared it" in page.text
    assert world.db.scalar(select(Identity).where(Identity.subject == "U0STRANGER")) is None


def test_a_prospect_is_not_enrolled_by_an_internal_link(world):
    world.entra.signs_in = person("pat", PROSPECT)
    _, page = sign_in_and_open(world, world.link("onboarding"), "entra")
    assert page.status_code == 403
    assert enrolments(world, PROSPECT) == 0
