"""API keys' names: `revoke` takes a name, so a live key's name is given once, and a name that
several live keys share (made before that rule) is refused with their ids, never revoked all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.api import keys
from store.models import ApiKey
from tests.support import factories


async def _live(session) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(ApiKey.id, ApiKey.name).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
    )
    return [tuple(r) for r in rows]


async def test_a_live_keys_name_is_refused_and_free_again_once_it_is_revoked(session):
    org = (await factories.organisation(session)).id  # a rollback below expires the row
    first = (await keys.create_key(session, org, "review", ["catalog:read"])).row.id
    await session.commit()
    with pytest.raises(keys.KeyRefused) as refused:
        await keys.create_key(session, org, "review", ["catalog:read"])
    assert str(refused.value) == (
        f"The live API key {first} is already named 'review': choose another name, or "
        f"revoke that key first with `enrolbot apikey revoke {first}`."
    )
    with pytest.raises(keys.KeyRefused, match="can't be a number"):
        await keys.create_key(session, org, "42", ["catalog:read"])
    await session.rollback()
    assert await _live(session) == [(first, "review")]
    assert (await keys.revoke_key(session, org, "review")).id == first
    again = await keys.create_key(session, org, "review", ["catalog:read"])
    await session.commit()
    assert await _live(session) == [(again.row.id, "review")]


async def test_a_name_two_live_keys_share_is_refused_with_their_ids_and_an_id_revokes_one(
    session,
):
    org = (await factories.organisation(session)).id  # a rollback below expires the row
    one = (await keys.create_key(session, org, "review", ["catalog:read"])).row.id
    await session.commit()
    # Two live keys of one name, as databases made before names were kept apart may hold.
    session.add(
        ApiKey(
            organisation_id=org,
            name="review",
            prefix="eb_live_x",
            key_hash="x" * 64,
            scopes=["catalog:read"],
        )
    )
    await session.commit()
    two = (await _live(session))[1][0]
    with pytest.raises(keys.KeyRefused) as refused:
        await keys.revoke_key(session, org, "review")
    assert str(refused.value) == (
        f"2 live API keys are named 'review' (ids {one}, {two}): revoke the one you mean "
        f"by its id, like `enrolbot apikey revoke {one}`; `enrolbot apikey list` shows "
        "which is which."
    )
    await session.rollback()
    assert len(await _live(session)) == 2
    assert (await keys.revoke_key(session, org, str(two))).id == two
    await session.commit()
    assert await _live(session) == [(one, "review")]
    assert await keys.revoke_key(session, org, "nobody") is None
