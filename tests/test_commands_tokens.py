"""token create | list | deactivate | activate | delete | import: the exact reply and what the
database holds afterwards."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from sqlalchemy import select

from handlers import tokens
from handlers.commands import run
from handlers.enrol import enrol
from handlers.replies import ConfirmTokenDelete, Notice, Tone
from handlers.tokens import TokenState, check_code
from store.models import (
    AuditEvent,
    DeletedRegistrationToken,
    EnrolmentSource,
    ItemSource,
    RegistrationToken,
)
from tests.support import factories
from tests.support.command_world import BOSS, PUBLIC_URL, SIGNER, error

CODE = re.compile(r"Its code is ([2-9A-Z]{5}-[2-9A-Z]{5}): copy it now")


async def _tokens(acme) -> dict[int, tuple]:
    await acme.session.commit()
    async with acme.sessions() as s:
        rows = await s.execute(
            select(
                RegistrationToken.id,
                RegistrationToken.item_id,
                RegistrationToken.nickname,
                RegistrationToken.is_active,
                RegistrationToken.code_hash.is_not(None),
                RegistrationToken.deleted_at.is_not(None),
                RegistrationToken.created_by_user_id,
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}


async def _audit(acme) -> list[tuple]:
    async with acme.sessions() as s:
        rows = await s.execute(
            select(AuditEvent.action, AuditEvent.item_id, AuditEvent.detail)
            .where(AuditEvent.action.like("token.%"))
            .order_by(AuditEvent.id)
        )
        return [tuple(r) for r in rows]


async def _create(acme, text: str = 'token create safety-101 --nickname "Spring fair"'):
    reply = await run(await acme.ctx(BOSS), text)
    assert isinstance(reply, Notice) and reply.tone is Tone.SUCCESS, reply
    code = CODE.search(reply.text).group(1)
    token_id = int(re.search(r"Token t(\d+) ", reply.text).group(1))
    return reply, code, token_id


# create ------------------------------------------------------------------------------------------


async def test_token_create_shows_the_code_once_and_stores_only_its_keyed_hash(acme):
    reply, code, token_id = await _create(acme)
    assert reply.text == (
        f"Token t{token_id} (Safety 101, Spring fair) is ready. Its code is {code}: copy it "
        "now, it is shown only this once."
    )
    assert reply.lines == (
        f"Registration link (fills the code in): {PUBLIC_URL}/register?token={code}",
        f"Share the link, or the code with {PUBLIC_URL}/register: people outside the "
        "organisation register there and are enrolled in Safety 101.",
        f"`/enrol token list safety-101` shows its uses; `/enrol token deactivate t{token_id}` "
        "pauses it.",
    )
    assert not set(code) & set("01OIL")
    rows = await _tokens(acme)
    boss = acme.users[BOSS].id
    assert rows == {token_id: (acme.safety.id, "Spring fair", True, True, False, boss)}
    async with acme.sessions() as s:
        stored = await s.scalar(select(RegistrationToken.code_hash))
    raw = code.replace("-", "")
    assert raw not in stored and code not in stored and len(stored) == 64
    assert await _audit(acme) == [
        ("token.created", acme.safety.id, {"token_id": token_id, "nickname": "Spring fair"})
    ]
    # The code finds its token typed any way a person might type it.
    for typed in (
        code,
        code.lower(),
        f" {raw[:3]} {raw[3:]} ",
        f"{PUBLIC_URL}/register?token={code}",
    ):
        check = await check_code(acme.session, SIGNER, typed, acme.org.id)
        assert (check.state, check.token.id) == (TokenState.OK, token_id)


async def test_many_tokens_per_item_each_with_its_own_code(acme):
    _, first, a = await _create(acme, "token create safety-101 --nickname A")
    _, second, b = await _create(acme, "token create safety-101")
    assert first != second and a != b
    rows = await _tokens(acme)
    assert rows[b][1] is None  # no nickname


async def test_a_library_item_gets_no_token_and_the_refusal_says_why(acme):
    await factories.item(
        acme.session,
        acme.org,
        "vendor-fire",
        "topic",
        title="Fire (library)",
        source=ItemSource.LIBRARY,
    )
    await acme.session.commit()
    reply = await run(await acme.ctx(BOSS), "token create vendor-fire --nickname Fair")
    assert error(reply) == (
        "Fire (library) comes from the content library, and registration tokens are only for "
        "your organisation's own topics, articles and pathways. Make a token for one of those "
        "instead."
    )
    assert await _tokens(acme) == {}
    assert await _audit(acme) == []


async def test_a_nickname_already_on_the_item_is_refused(acme):
    _, _, token_id = await _create(acme, "token create safety-101 --nickname Fair")
    reply = await run(await acme.ctx(BOSS), "token create safety-101 --nickname ' fair '")
    assert error(reply) == f"Token t{token_id} already has the nickname “fair”; choose another."
    assert len(await _tokens(acme)) == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("token create", "Tell me which item: `/enrol token create ITEM [--nickname TEXT]`."),
        ("token create saftey-101", "There is no item `saftey-101`. Did you mean `safety-101`?"),
        (
            "token",
            "`token` needs what to do: create, list, deactivate, activate, delete or "
            "import. `/enrol help` shows how.",
        ),
    ],
)
async def test_token_create_mistakes_say_what_to_type(acme, text, message):
    assert error(await run(await acme.ctx(BOSS), text)) == message
    assert await _tokens(acme) == {}


async def test_only_admins_manage_tokens(acme):
    for text in ("token create safety-101", "token list safety-101", "token import"):
        reply = await run(await acme.ctx("ann@example.com"), text)
        assert error(reply).startswith("Only enrolment admins can ")
    assert await _tokens(acme) == {}


# list --------------------------------------------------------------------------------------------


async def test_token_list_shows_id_nickname_status_uses_and_created_but_no_code(acme):
    _, code, fair = await _create(acme, "token create safety-101 --nickname Fair")
    _, _, mail = await _create(acme, "token create safety-101")
    _, _, gone = await _create(acme, "token create safety-101 --nickname Old")
    ctx = await acme.ctx(BOSS)
    await run(ctx, f"token deactivate t{mail}")
    await run(ctx, f"token delete t{gone} --yes")
    await enrol(
        acme.session,
        organisation=acme.org,
        user=acme.users["ann@example.com"],
        item=acme.safety,
        source=EnrolmentSource.REGISTRATION,
        by="test",
        registration_token_id=fair,
    )
    await acme.session.commit()
    async with acme.sessions() as s:
        made = {
            t.id: f"{t.created_at.astimezone(UTC):%Y-%m-%d}"
            for t in (await s.execute(select(RegistrationToken))).scalars()
        }
    reply = await run(await acme.ctx("sam@example.com"), "token list safety-101")
    assert (reply.text, reply.heading) == (
        "Safety 101 (topic) has 2 registration tokens (codes are shown only when a token is made):",
        "Tokens of safety-101",
    )
    assert reply.lines == (
        f"t{fair} · Fair · active · 1 use · created {made[fair]}",
        f"t{mail} · no nickname · deactivated · 0 uses · created {made[mail]}",
    )
    assert code not in " ".join(reply.lines)


async def test_token_list_of_an_item_without_tokens_says_how_to_make_one(acme):
    reply = await run(await acme.ctx(BOSS), "token list gdpr-basics")
    assert reply.text == (
        "GDPR basics has no registration tokens. `/enrol token create gdpr-basics` makes one."
    )


# deactivate / activate / delete -----------------------------------------------------------------


async def test_deactivate_and_activate_by_id_or_by_code(acme):
    _, code, token_id = await _create(acme)
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, f"token deactivate T{token_id}")
    assert reply.text == (
        f"Token t{token_id} (Safety 101, Spring fair) is deactivated: people who use its code "
        f"are told it is currently disabled. `/enrol token activate t{token_id}` turns it back on."
    )
    check = await check_code(acme.session, SIGNER, code, acme.org.id)
    assert check.state is TokenState.DISABLED
    reply = await run(ctx, f"token deactivate {code.lower()}")
    assert (
        reply.text
        == f"Token t{token_id} (Safety 101, Spring fair) is already deactivated; nothing changed."
    )
    reply = await run(ctx, f"token activate {code}")
    assert reply.text == (
        f"Token t{token_id} (Safety 101, Spring fair) is active again: its code and link "
        "register people once more."
    )
    assert (await _tokens(acme))[token_id][2] is True
    assert [a[0] for a in await _audit(acme)] == [
        "token.created",
        "token.deactivated",
        "token.activated",
    ]


async def test_delete_asks_first_then_destroys_the_hash_and_writes_a_tombstone(acme):
    _, code, token_id = await _create(acme)
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, f"token delete t{token_id}")
    assert reply == ConfirmTokenDelete(
        f"t{token_id}",
        f"Delete Token t{token_id} (Safety 101, Spring fair)?",
        "Its code and link stop working for good (it has been used 0 times), and it cannot be "
        "recovered; the people it enrolled stay enrolled. To pause it instead: "
        f"`/enrol token deactivate t{token_id}`.",
    )
    assert (await _tokens(acme))[token_id][3] is True  # still has its hash
    reply = await run(ctx, f"token delete t{token_id} --yes")
    assert reply.text == (
        f"Token t{token_id} (Safety 101, Spring fair) is deleted: its code and link will never "
        "work again."
    )
    assert (await _tokens(acme))[token_id][2:5] == (False, False, True)
    async with acme.sessions() as s:
        assert set((await s.execute(select(DeletedRegistrationToken.token_id))).scalars()) == {
            token_id
        }
    check = await check_code(acme.session, SIGNER, code, acme.org.id)
    assert check.state is TokenState.UNKNOWN
    for text in (f"token activate t{token_id}", f"token delete t{token_id} --yes"):
        assert error(await run(ctx, text)) == (
            f"Token t{token_id} was deleted; deleted tokens cannot be recovered."
        )
    assert error(await run(ctx, f"token activate {code}")) == (
        "No token has that code (a deleted token's code matches nothing). "
        "`/enrol token list ITEM` shows an item's tokens."
    )


async def test_a_deleted_token_stays_dead_when_an_old_copy_of_its_row_is_written_back(acme):
    _, code, token_id = await _create(acme)
    async with acme.sessions() as s:
        saved = await s.scalar(
            select(RegistrationToken.code_hash).where(RegistrationToken.id == token_id)
        )
    await run(await acme.ctx(BOSS), f"token delete t{token_id} --yes")
    await acme.session.commit()
    async with acme.sessions() as s, s.begin():
        row = await s.get(RegistrationToken, token_id)
        row.code_hash, row.deleted_at, row.is_active = saved, None, True  # a restored backup
    check = await check_code(acme.session, SIGNER, code, acme.org.id)
    assert check.state is TokenState.UNKNOWN


@pytest.mark.parametrize(
    "word, message",
    [
        (
            "12",
            "`12` isn't a token. Name it by its id as `/enrol token list ITEM` shows it (t12), "
            "or by its code.",
        ),
        ("t999", "There is no token t999. `token list ITEM` shows an item's tokens."),
        (
            "ABCDE-FGHJK",
            "No token has that code (a deleted token's code matches nothing). "
            "`/enrol token list ITEM` shows an item's tokens.",
        ),
    ],
)
async def test_unknown_tokens_are_named_in_the_refusal(acme, word, message):
    assert error(await run(await acme.ctx(BOSS), f"token deactivate {word}")) == message


async def test_codes_rotate_with_the_signing_key(acme):
    """A code made under the old key still works once a new key is listed first, and is
    re-hashed under the new key on use, so the old key can go later."""
    from handlers.signing import LinkSigner

    _, code, token_id = await _create(acme)
    rotated = LinkSigner(["a-new-key", *SIGNER.keys])
    check = await check_code(acme.session, rotated, code, acme.org.id)
    assert check.state is TokenState.OK
    await acme.session.commit()
    new_only = LinkSigner(["a-new-key"])
    check = await check_code(acme.session, new_only, code, acme.org.id)
    assert (check.state, check.token.id) == (TokenState.OK, token_id)


# import in chat ----------------------------------------------------------------------------------


async def test_token_import_in_chat_says_truthfully_where_imports_run(acme):
    reply = await run(await acme.ctx(BOSS), "token import")
    assert reply.text.startswith(
        "Tokens are imported on the command line of the enrolbot server, where the new codes "
        "can be saved to a file: `enrolbot tokens import FILE --out codes.csv`"
    )
    assert reply.lines == ("For one token: `/enrol token create ITEM --nickname TEXT`.",)


def test_codes_are_ten_characters_without_look_alikes_grouped_in_fives():
    for _ in range(200):
        code = tokens.new_code()
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", code)
    assert tokens.normalise("abcde fghjk") == "ABCDEFGHJK"
    assert tokens.normalise("ABCDE-FGHJ0") is None  # 0 is never in a code
    assert tokens.normalise("ABCDE-FGHJ") is None
