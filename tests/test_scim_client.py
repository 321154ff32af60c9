"""enrolbot's /scim/v2 driven by a real SCIM client library, scim2-client: in process through
its ASGI engine, and against `enrolbot serve` in a subprocess through its network engine
(httpx2). The client discovers the service (ResourceTypes, Schemas, ServiceProviderConfig),
then checks every request it sends and every answer against what the service published."""

from __future__ import annotations

import asyncio

import pytest
from httpx2 import Client
from scim2_client.engines.asgi import ASGISCIMClient
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Error, Group, GroupMember, PatchOp, PatchOperation, SearchRequest
from sqlalchemy import select

from store.models import Group as DirectoryGroup
from store.models import Membership, User
from tests.support.processes import Server
from tests.support.scim_world import TOKEN, scim_app


async def _discovered(app) -> ASGISCIMClient:
    client = ASGISCIMClient(
        app, base_url="http://t/scim/v2", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    await client.discover()
    return client


def _user(client, n: int, department: str, manager: str | None = None):
    User_ = client.get_resource_model("User")
    enterprise, ours = User_.get_extension_models().values()
    user = User_(
        user_name=f"person{n}@contoso.com",
        external_id=f"entra-object-{n}",
        emails=[{"value": f"person{n}@contoso.com", "type": "work", "primary": True}],
        name={"given_name": f"Given{n}", "family_name": f"Family{n}"},
        active=True,
    )
    user[enterprise] = enterprise(
        department=department, manager={"value": manager} if manager else None
    )
    user[ours] = ours(hire_date="2023-09-04")
    return user


async def test_a_scim_client_provisions_people_and_groups(db_url, session):
    client = await _discovered(scim_app(db_url))
    User_ = client.get_resource_model("User")
    boss = await client.create(_user(client, 1, "Sales"))
    person = await client.create(_user(client, 2, "Sales", manager=boss.id))
    found = await client.query(
        User_, query_parameters=SearchRequest(filter='userName eq "person2@contoso.com"')
    )
    assert [u.id for u in found.resources] == [person.id]
    enterprise = next(iter(User_.get_extension_models().values()))
    assert person[enterprise].manager.value == boss.id
    # PUT: the department moves, and the person moves between department groups with it.
    person[enterprise].department = "Research"
    replaced = await client.replace(person)
    assert replaced[enterprise].department == "Research"
    group = await client.create(Group(display_name="Pilots", members=[GroupMember(value=boss.id)]))
    await client.modify(
        group,
        PatchOp[Group](
            operations=[
                PatchOperation[Group](op="add", path="members", value=[{"value": person.id}])
            ]
        ),
    )
    again = await client.query(Group, group.id)
    assert sorted(m.value for m in again.members) == sorted([boss.id, person.id])
    await client.delete(User_, person.id)
    gone = await client.query(User_, person.id, raise_scim_errors=False)
    assert isinstance(gone, Error) and gone.status == 404
    user = await session.get(User, int(person.id))
    assert user.department == "Research"
    rows = await session.execute(
        select(DirectoryGroup.name, Membership.ended_at.is_(None))
        .join(Membership, Membership.group_id == DirectoryGroup.id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
    )
    assert rows.all() == [("Sales", False), ("Research", True), ("Pilots", False)]


async def test_concurrent_creations_each_get_their_own_answer(db_url):
    """Requests that arrive together are written together; a duplicate among them is a 409
    for that request alone."""
    client = await _discovered(scim_app(db_url))
    users = [_user(client, n, f"Team {n % 3}") for n in range(20)] + [_user(client, 5, "Team 2")]
    answers = await asyncio.gather(*(client.create(u, raise_scim_errors=False) for u in users))
    errors = [a for a in answers if isinstance(a, Error)]
    assert len(errors) == 1 and errors[0].status == 409 and errors[0].scim_type == "uniqueness"
    assert len({a.id for a in answers if not isinstance(a, Error)}) == 20


@pytest.fixture
def served(tmp_path, db_url):
    server = Server(
        tmp_path,
        DATABASE_URL=db_url,
        ENROLBOT_SECRET_KEY="k" * 32,
        ENROLBOT_SCIM_TOKEN=f"old-token,{TOKEN}",
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_the_served_app_answers_a_scim_client_over_the_network(served):
    http = Client(base_url=f"{served.url}/scim/v2", headers={"Authorization": f"Bearer {TOKEN}"})
    with http:
        client = SyncSCIMClient(http)
        client.discover()
        User_ = client.get_resource_model("User")
        made = client.create(
            User_(user_name="ada@contoso.com", emails=[{"value": "ada@contoso.com"}])
        )
        listed = client.query(User_)
        assert [u.user_name for u in listed.resources] == ["ada@contoso.com"]
        assert listed.total_results == 1
        client.delete(User_, made.id)
    refused = Client(base_url=f"{served.url}/scim/v2", headers={"Authorization": "Bearer nope"})
    with refused:
        answer = refused.get("/Users")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/scim+json")
