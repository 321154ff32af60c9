"""SCIM provisioning over HTTP against the real ASGI app: Entra ID's documented requests and
its non-standard PATCH shapes, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.enrol import enrol
from store.models import (
    CatalogItem,
    DirectoryChange,
    Enrolment,
    EnrolmentSource,
    Group,
    Membership,
    Organisation,
    User,
    UserStatus,
)
from tests.support.scim_world import (
    ENROLBOT,
    ENTERPRISE,
    OLD_TOKEN,
    client,
    entra_group,
    entra_user,
    patch,
    scim_app,
)


@pytest.fixture
def app(db_url):
    return scim_app(db_url)


async def _user(http, n, **extra):
    response = await http.post("/Users", json=entra_user(n, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_entra_creates_a_user_and_finds_it_by_username_and_external_id(app, session):
    async with client(app) as http:
        made = await _user(
            http,
            1,
            title="Engineer",
            preferredLanguage="en-GB",
            **{
                ENTERPRISE: {
                    "department": "Sales",
                    "organization": "Contoso",
                    "employeeNumber": "E1",
                },
                ENROLBOT: {"hireDate": "2024-03-01T00:00:00Z"},
            },
        )
        assert made["id"]
        assert made["userName"] == "Test_User_1@contoso.com"
        assert made[ENTERPRISE]["department"] == "Sales"
        assert made[ENROLBOT] == {"hireDate": "2024-03-01"}
        got = await http.get(f"/Users/{made['id']}")
        by_name = await http.get(
            "/Users", params={"filter": 'userName eq "test_user_1@CONTOSO.com"'}
        )
        by_ext = await http.get(
            "/Users", params={"filter": f'externalId eq "{made["externalId"]}"'}
        )
        none = await http.get("/Users", params={"filter": 'userName eq "nobody@contoso.com"'})
    assert got.status_code == 200 and got.headers["content-type"].startswith(
        "application/scim+json"
    )
    assert by_name.json()["totalResults"] == 1
    assert by_name.json()["Resources"][0]["id"] == made["id"]
    assert by_ext.json()["Resources"][0]["id"] == made["id"]
    assert none.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    user = (await session.execute(select(User).where(User.id == int(made["id"])))).scalar_one()
    assert (user.department, user.company, user.function, user.language) == (
        "Sales",
        "Contoso",
        "Engineer",
        "en-GB",
    )
    assert str(user.hire_date) == "2024-03-01" and user.employee_number == "E1"
    # The department is a group of that kind too, kept by the directory core.
    sales = (await session.execute(select(Group).where(Group.name == "Sales"))).scalar_one()
    assert sales.kind.value == "department"


async def test_pagination_is_one_based_with_totals(app):
    async with client(app) as http:
        for n in range(5):
            await _user(http, n)
        first = (await http.get("/Users", params={"startIndex": 1, "count": 2})).json()
        last = (await http.get("/Users", params={"startIndex": 5, "count": 2})).json()
        count_only = (await http.get("/Users", params={"count": 0})).json()
    assert (first["totalResults"], first["itemsPerPage"], first["startIndex"]) == (5, 2, 1)
    assert (last["itemsPerPage"], last["startIndex"]) == (1, 5)
    assert count_only["totalResults"] == 5 and count_only["Resources"] == []


async def test_entra_patch_shapes_on_a_user(app, session):
    async with client(app) as http:
        boss = await _user(http, 1)
        made = await _user(http, 2)
        url = f"/Users/{made['id']}"
        steps = [
            # Entra: capitalised ops and "False"/"True" as strings
            patch({"op": "Replace", "path": "active", "value": "False"}),
            # a path-less replace with a value object of paths
            patch(
                {
                    "op": "Replace",
                    "value": {
                        "active": "True",
                        "name.givenName": "Ada",
                        f"{ENTERPRISE}:department": "Research",
                    },
                }
            ),
            # an email through a filtered path, the manager as a bare id
            patch(
                {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ada@contoso.com"},
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},
                {"op": "Add", "path": f"{ENROLBOT}:hireDate", "value": "2025-01-06T00:00:00Z"},
            ),
        ]
        answers = [await http.patch(url, json=step) for step in steps]
        final = (await http.get(url)).json()
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["active"] is False
    assert final["active"] is True
    assert final["name"]["givenName"] == "Ada"
    assert final["emails"][0]["value"] == "ada@contoso.com"
    assert final[ENTERPRISE]["department"] == "Research"
    assert final[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert final[ENROLBOT]["hireDate"] == "2025-01-06"
    assert final["userName"] == "Test_User_2@contoso.com"  # the email moved, the userName stayed
    user = await session.get(User, int(made["id"]))
    assert (user.email, user.manager_id, user.status) == (
        "ada@contoso.com",
        int(boss["id"]),
        UserStatus.ACTIVE,
    )
    changes = (
        await session.execute(
            select(DirectoryChange.kind, DirectoryChange.source).where(
                DirectoryChange.user_id == user.id
            )
        )
    ).all()
    assert {k.value for k, _ in changes} >= {
        "person_added",
        "deactivated",
        "reactivated",
        "attribute",
    }
    assert {s for _, s in changes} == {"scim"}


async def _enrol(session, user_id: int) -> None:
    """An enrolment through the one way in, as a click would make it."""
    user = await session.get(User, user_id)
    organisation = await session.get(Organisation, user.organisation_id)
    item = CatalogItem(organisation_id=organisation.id, slug="safety", kind="topic", title="Safety")
    session.add(item)
    await session.flush()
    await enrol(
        session,
        organisation=organisation,
        user=user,
        item=item,
        source=EnrolmentSource.MANUAL,
        by="test",
    )
    await session.commit()


async def test_delete_deactivates_and_keeps_enrolments(app, session):
    async with client(app) as http:
        made = await _user(http, 1)
        await _enrol(session, int(made["id"]))
        inactive = await http.patch(
            f"/Users/{made['id']}", json=patch({"op": "Replace", "path": "active", "value": False})
        )
        assert inactive.json()["active"] is False
        group = await http.post("/Groups", json=entra_group("Pilots", "g-1", [made["id"]]))
        assert group.status_code == 201, group.text
        gone = await http.delete(f"/Users/{made['id']}")
        after = await http.get(f"/Users/{made['id']}")
        members = (await http.get(f"/Groups/{group.json()['id']}")).json()
    assert gone.status_code == 204
    assert after.status_code == 404
    assert after.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert after.json()["status"] == "404"
    assert members.get("members", []) == []
    session.expire_all()
    user = await session.get(User, int(made["id"]))
    assert user.status == UserStatus.DEACTIVATED  # the person stays, with their history
    enrolments = await session.execute(select(Enrolment).where(Enrolment.user_id == user.id))
    assert len(enrolments.all()) == 1
    ended = (
        await session.execute(select(Membership).where(Membership.user_id == user.id))
    ).scalar_one()
    assert ended.ended_at is not None


async def test_groups_with_entra_member_patches(app, session):
    async with client(app) as http:
        people = [await _user(http, n) for n in range(4)]
        ids = [p["id"] for p in people]
        made = await http.post("/Groups", json=entra_group("Pilots", "g-1", ids[:1]))
        url = f"/Groups/{made.json()['id']}"
        add = await http.patch(
            url,
            json=patch({"op": "Add", "path": "members", "value": [{"value": i} for i in ids[1:]]}),
        )
        remove = await http.patch(
            url, json=patch({"op": "Remove", "path": f'members[value eq "{ids[0]}"]'})
        )
        remove_by_value = await http.patch(
            url, json=patch({"op": "Remove", "path": "members", "value": [{"value": ids[1]}]})
        )
        rename = await http.patch(
            url, json=patch({"op": "Replace", "path": "displayName", "value": "Aviators"})
        )
        okta_rename = await http.patch(
            url,
            json=patch(
                {"op": "replace", "value": {"id": made.json()["id"], "displayName": "Aviators"}}
            ),
        )
        found = await http.get(
            "/Groups",
            params={"filter": 'displayName eq "aviators"', "excludedAttributes": "members"},
        )
        full = (await http.get(url)).json()
    assert made.status_code == 201 and made.headers["location"].endswith(url)
    assert [r.status_code for r in (add, remove, remove_by_value, rename, okta_rename)] == [204] * 5
    assert found.json()["totalResults"] == 1 and "members" not in found.json()["Resources"][0]
    assert full["displayName"] == "Aviators"
    assert sorted(m["value"] for m in full["members"]) == sorted(ids[2:])


async def test_errors_and_status_codes(app):
    async with client(app) as http:
        await _user(http, 1)
        again = await http.post("/Users", json=entra_user(1))
        bad_filter = await http.get("/Users", params={"filter": 'userName xx "a"'})
        bad_attr = await http.get("/Users", params={"filter": 'nickName eq "a"'})
        missing = await http.get("/Users/999999")
        no_email = await http.post("/Users", json=entra_user(2, userName="nobody", emails=[]))
        bad_member = await http.post("/Groups", json=entra_group("X", "x", ["424242"]))
        bad_hire = await http.post("/Users", json=entra_user(3, **{ENROLBOT: {"hireDate": "soon"}}))
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    assert again.json()["status"] == "409"
    assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"
    assert bad_attr.status_code == 400 and bad_attr.json()["scimType"] == "invalidFilter"
    assert missing.status_code == 404
    assert no_email.status_code == 400 and no_email.json()["scimType"] == "invalidValue"
    assert bad_member.status_code == 400 and bad_member.json()["scimType"] == "invalidValue"
    assert bad_hire.status_code == 400 and bad_hire.json()["scimType"] == "invalidValue"


async def test_bearer_tokens(db_url):
    app = scim_app(db_url)
    async with client(app, token=None) as anonymous, client(app, token="wrong") as wrong:
        refused = [await anonymous.get("/Users"), await wrong.get("/Users")]
    async with client(app, token=OLD_TOKEN) as rotated:
        accepted = await rotated.get("/Users")
    for answer in refused:
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == 'Bearer realm="scim"'
        assert answer.json()["status"] == "401"
        assert "scim-secret" not in answer.text
    assert accepted.status_code == 200
    off = scim_app(db_url, tokens="")
    async with client(off) as http:
        assert (await http.get("/Users")).status_code == 404


async def test_discovery(app):
    async with client(app) as http:
        config = (await http.get("/ServiceProviderConfig")).json()
        types = (await http.get("/ResourceTypes")).json()
        schemas = (await http.get("/Schemas")).json()
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    ours = next(s for s in schemas["Resources"] if s["id"] == ENROLBOT)
    assert [a["name"] for a in ours["attributes"]] == ["hireDate"]


async def test_group_replace_put_and_delete(app, session):
    async with client(app) as http:
        ids = [(await _user(http, n))["id"] for n in range(3)]
        made = (await http.post("/Groups", json=entra_group("Crew", "g-9", ids[:2]))).json()
        url = f"/Groups/{made['id']}"
        pathless = await http.patch(
            url,
            json=patch(
                {
                    "op": "Replace",
                    "value": {"displayName": "Cabin crew", "members": [{"value": ids[2]}]},
                }
            ),
        )
        after_replace = (await http.get(url)).json()
        put = await http.put(
            url,
            json={
                "schemas": [entra_group("", "")["schemas"][0]],
                "displayName": "Cabin crew",
                "externalId": "g-9",
                "members": [{"value": i} for i in ids],
            },
        )
        emptied = await http.patch(url, json=patch({"op": "Remove", "path": "members"}))
        after_empty = (await http.get(url)).json()
        as_json = await http.get(url, headers={"Content-Type": "application/json"})
        wrong_type = await http.post("/Groups", content="x", headers={"Content-Type": "text/plain"})
        deleted = await http.delete(url)
        after_delete = await http.get(url)
    assert pathless.status_code == 204
    assert after_replace["displayName"] == "Cabin crew"
    assert [m["value"] for m in after_replace["members"]] == [ids[2]]
    assert put.status_code == 200 and len(put.json()["members"]) == 3
    assert emptied.status_code == 204 and after_empty.get("members", []) == []
    assert as_json.status_code == 200
    assert wrong_type.status_code == 415
    assert deleted.status_code == 204 and after_delete.status_code == 404
    group = (await session.execute(select(Group).where(Group.source_id == "g-9"))).scalar_one()
    assert group.deleted_at is not None  # kept, with its memberships' history
    history = (
        (await session.execute(select(Membership).where(Membership.group_id == group.id)))
        .scalars()
        .all()
    )
    assert len(history) == 5 and all(m.ended_at is not None for m in history)
