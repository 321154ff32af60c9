"""The signed cookies of browser sign-in, where a deep link may send a browser afterwards,
what an Entra ID token says of a person, and what the access log keeps of a sign-in."""

from __future__ import annotations

import logging

import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from bot.app import RedactLinkTokens
from bot.web.auth import session
from bot.web.auth.entra import profile_of
from bot.web.auth.session import FLOW_COOKIE, SESSION_COOKIE, Cookies, safe_next
from store.models import Standing
from tests.support.tampering import tampered

OLD = "old-key-0123456789abcdef0123456789abcdef"
NEW = "new-key-0123456789abcdef0123456789abcdef"
TENANT = "0f0e0d0c-aaaa-bbbb-cccc-000000000001"


def request_with(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request({"type": "http", "headers": [(b"cookie", header.encode())]})


def cookies_set(response: Response) -> dict[str, str]:
    found = {}
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            text = value.decode()
            found[text.split("=", 1)[0]] = text
    return found


def test_a_session_names_its_identity_and_is_httponly_lax_and_secure_behind_https():
    cookies = Cookies([NEW], secure=True)
    response = Response()
    cookies.start_session(response, 42)
    header = cookies_set(response)[SESSION_COOKIE]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" in header
    assert "Max-Age=28800" in header and "Path=/" in header
    value = header.split(";")[0].split("=", 1)[1]
    assert cookies.identity_id(request_with({SESSION_COOKIE: value})) == 42
    assert "Secure" not in cookies_set(_session(Cookies([NEW], secure=False)))[SESSION_COOKIE]


def _session(cookies: Cookies) -> Response:
    response = Response()
    cookies.start_session(response, 1)
    return response


def test_a_tampered_or_foreign_cookie_is_no_session():
    cookies = Cookies([NEW], secure=False)
    good = URLSafeTimedSerializer([NEW], salt="enrolbot.session").dumps(7)
    assert cookies.identity_id(request_with({SESSION_COOKIE: good})) == 7
    assert cookies.identity_id(request_with({SESSION_COOKIE: tampered(good)})) is None
    # Signed with a key we never had, or for another purpose (a sign-in flow's salt).
    foreign = URLSafeTimedSerializer(["another-key-" * 4], salt="enrolbot.session").dumps(7)
    assert cookies.identity_id(request_with({SESSION_COOKIE: foreign})) is None
    flow_signed = URLSafeTimedSerializer([NEW], salt="enrolbot.signin").dumps(7)
    assert cookies.identity_id(request_with({SESSION_COOKIE: flow_signed})) is None
    not_an_id = URLSafeTimedSerializer([NEW], salt="enrolbot.session").dumps("7")
    assert cookies.identity_id(request_with({SESSION_COOKIE: not_an_id})) is None


def test_an_expired_session_is_no_session(monkeypatch):
    cookies = Cookies([NEW], secure=False)
    value = URLSafeTimedSerializer([NEW], salt="enrolbot.session").dumps(7)
    monkeypatch.setattr(session, "SESSION_SECONDS", -1)
    assert cookies.identity_id(request_with({SESSION_COOKIE: value})) is None


def test_sessions_survive_a_key_rotation_and_the_flow_cookie_is_cleared_under_auth():
    before = Cookies([OLD], secure=False)
    response = Response()
    before.start_flow(response, {"provider": "entra", "state": "s"})
    value = cookies_set(response)[FLOW_COOKIE].split(";")[0].split("=", 1)[1]
    assert "Path=/auth/" in cookies_set(response)[FLOW_COOKIE]
    after = Cookies([NEW, OLD], secure=False)  # newest first, as ENROLBOT_SECRET_KEY lists
    assert after.flow(request_with({FLOW_COOKIE: value})) == {"provider": "entra", "state": "s"}
    cleared = Response()
    after.end_flow(cleared)
    assert 'enrolbot_signin=""' in cookies_set(cleared)[FLOW_COOKIE]
    assert "Max-Age=0" in cookies_set(cleared)[FLOW_COOKIE]


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/enrol/abc.def", "/enrol/abc.def"),
        ("/enrol/abc?x=1", "/enrol/abc?x=1"),
        (None, "/auth/signed-in"),
        ("", "/auth/signed-in"),
        ("https://evil.test/enrol/x", "/auth/signed-in"),
        ("//evil.test/enrol/x", "/auth/signed-in"),
        ("/\\evil.test", "/auth/signed-in"),
        ("/enrol/x\r\nSet-Cookie: a=b", "/auth/signed-in"),
        ("javascript:alert(1)", "/auth/signed-in"),
        ("enrol/x", "/auth/signed-in"),
        ("/" + "a" * 3000, "/auth/signed-in"),
    ],
)
def test_only_a_path_of_ours_is_somewhere_to_go_next(asked, goes_to):
    assert safe_next(asked) == goes_to


@pytest.mark.parametrize(
    ("claims", "standing", "email"),
    [
        ({"tid": TENANT, "preferred_username": "ann@acme.test"}, Standing.MEMBER, "ann@acme.test"),
        (
            {"tid": TENANT, "email": "Ann@Acme.test", "preferred_username": "a1@acme.test"},
            Standing.MEMBER,
            "Ann@Acme.test",
        ),
        ({"tid": TENANT, "acct": 1, "email": "g@partner.test"}, Standing.GUEST, "g@partner.test"),
        ({"tid": TENANT, "acct": 0, "email": "m@acme.test"}, Standing.MEMBER, "m@acme.test"),
        (
            {"tid": TENANT, "preferred_username": "g_partner.test#EXT#@acme.onmicrosoft.com"},
            Standing.GUEST,
            None,
        ),
        (
            {"tid": "another-tenant", "preferred_username": "x@other.test"},
            Standing.GUEST,
            "x@other.test",
        ),
    ],
    ids=["member", "email-claim", "acct-guest", "acct-member", "ext-upn", "other-tid"],
)
def test_an_entra_id_token_says_who_is_a_guest(claims, standing, email):
    profile = profile_of(claims, TENANT)
    assert (profile.standing, profile.email) == (standing, email)


def test_the_access_log_keeps_no_code_state_or_link_of_a_sign_in():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5000",
            "GET",
            "/auth/callback/entra?code=SECRET-CODE&state=SECRET-STATE",
            "1.1",
            303,
        ),
        None,
    )
    RedactLinkTokens().filter(record)
    assert "SECRET" not in record.getMessage() and "/auth/callback/entra?…" in record.getMessage()
    login = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "%s", ("/auth/login?next=/enrol/TOKEN",), None
    )
    RedactLinkTokens().filter(login)
    assert "TOKEN" not in login.getMessage()
