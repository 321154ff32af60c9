from __future__ import annotations

import json
import struct
import zipfile

import jsonschema
import yaml

from tests.conftest import ROOT
from tests.support.processes import enrolbot
from tests.support.teams_standin import APP_ID


def test_slack_manifest_is_valid_and_points_everything_at_one_url(schemas):
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    schema = json.loads((schemas / "slack-app-manifest.schema.1.0.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)
    urls = {
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    }
    assert urls == {"https://enrolbot.example.com/slack/events"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/enrol"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "users:read.email",
        "im:write",
        "channels:read",
        "groups:read",
        "usergroups:read",
    }
    # Slack sends the events the bot listens for only when they are subscribed.
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "user_change",
        "team_join",
        "subteam_created",
        "subteam_updated",
        "subteam_members_changed",
        "member_joined_channel",
        "member_left_channel",
        "app_home_opened",
    ]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_every_event_the_bot_listens_for_is_subscribed():
    """An event Bolt listens for but the manifest leaves out never arrives."""
    import re

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    listened = set()
    for module in (ROOT / "bot" / "slack" / "listeners").glob("*.py"):
        listened |= set(re.findall(r'app\.event\("([a-z_]+)"\)', module.read_text()))
    assert listened == set(manifest["settings"]["event_subscriptions"]["bot_events"])


def test_slack_manifest_lets_people_sign_in_with_slack_for_deep_links(schemas):
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    oauth = manifest["oauth_config"]
    assert "https://enrolbot.example.com/auth/callback/slack" in oauth["redirect_urls"]
    assert oauth["scopes"]["user"] == ["openid", "email", "profile"]


def test_the_app_package_holds_a_valid_manifest_and_the_two_icons(tmp_path, schemas):
    result = enrolbot(
        "teams",
        "package",
        "--out",
        str(tmp_path / "app.zip"),
        cwd=tmp_path,
        MICROSOFT_APP_ID=APP_ID,
        ENROLBOT_PUBLIC_URL="https://enrol.acme.test",
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        sizes = {
            n: struct.unpack(">II", archive.read(n)[16:24]) for n in ("color.png", "outline.png")
        }
    schema = json.loads((schemas / "teams-app-manifest.v1.30.schema.json").read_text())
    jsonschema.Draft4Validator(schema).validate(manifest)
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["enrol.acme.test"]
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}
    refused = enrolbot("teams", "package", cwd=tmp_path)
    assert refused.returncode == 1 and "MICROSOFT_APP_ID is not set" in refused.stderr


def test_the_app_package_is_refused_where_teams_or_the_file_system_would_refuse_it(tmp_path):
    settings = {"MICROSOFT_APP_ID": APP_ID, "ENROLBOT_PUBLIC_URL": "https://enrol.acme.test"}
    plain = enrolbot("teams", "package", cwd=tmp_path, MICROSOFT_APP_ID=APP_ID)
    assert plain.returncode == 1 and not (tmp_path / "enrolbot-teams.zip").exists()
    assert plain.stderr == (
        "Error: ENROLBOT_PUBLIC_URL is http://127.0.0.1:8000, and Teams accepts only https "
        "addresses: set it to the public https address Teams will reach, such as "
        "https://enrol.example.com.\n"
    )
    gone = enrolbot("teams", "package", "--out", "/nonexistent/t.zip", cwd=tmp_path, **settings)
    assert (gone.returncode, gone.stderr) == (
        1,
        "Error: Cannot write /nonexistent/t.zip: no such directory.\n",
    )
    kept = tmp_path / "keep.zip"
    kept.write_bytes(b"an earlier package")
    again = enrolbot("teams", "package", "--out", str(kept), cwd=tmp_path, **settings)
    assert again.returncode == 1 and kept.read_bytes() == b"an earlier package"
    assert "it already exists; choose another name, or delete it first." in again.stderr
    named = enrolbot(
        "teams", "package", "--out", str(tmp_path / "t.json"), cwd=tmp_path, **settings
    )
    assert named.returncode == 1 and "its name must end in .zip" in named.stderr
