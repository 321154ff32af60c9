"""The API's endpoints, each a thin translation of a call into handlers/api/ and back."""

from __future__ import annotations

from bot.api.endpoints import Answer, Call, Endpoints
from handlers.api import batches, catalog, enrolments, groups, people, rules, schemas

API = Endpoints()
ITEM = "/catalog/items/{slug}"


@API.add(
    "GET",
    "/catalog/items",
    operation_id="listCatalogItems",
    summary="List catalog items, oldest first",
    scope="catalog:read",
    query=schemas.PageQuery,
    answers={200: schemas.CatalogItemPage},
)
async def list_items(call: Call) -> Answer:
    return Answer(200, await catalog.list_items(call.listing, call.query))


@API.add(
    "GET",
    ITEM,
    operation_id="getCatalogItem",
    summary="Read a catalog item by its slug",
    scope="catalog:read",
    params={"slug": "slug"},
    answers={200: schemas.CatalogItem},
)
async def get_item(call: Call) -> Answer:
    item = await catalog.find_item(call.listing, call.params["slug"])
    return Answer(200, catalog.item_out(item))


@API.add(
    "PUT",
    ITEM,
    operation_id="putCatalogItem",
    summary="Create or update a catalog item by its slug",
    description="A new item needs title and kind, and a lowercase slug (as `catalog import` "
    "writes it; another gets 422 naming the lowercase one); it gets its default enrolment "
    "link. On an existing item a field left out keeps its value, url null clears it, and "
    "external_ids are merged key by key (a key set to null is removed). An item's kind cannot "
    "change (409).",
    scope="catalog:write",
    params={"slug": "slug"},
    body=schemas.CatalogItemIn,
    answers={200: schemas.CatalogItem, 201: schemas.CatalogItem},
)
async def put_item(call: Call) -> Answer:
    created, item = await catalog.upsert_item(call.listing, call.params["slug"], call.body)
    return Answer(201 if created else 200, item)


@API.add(
    "GET",
    "/people",
    operation_id="listPeople",
    summary="List people, oldest first",
    scope="people:read",
    query=schemas.PeopleQuery,
    answers={200: schemas.PersonPage},
)
async def list_people(call: Call) -> Answer:
    return Answer(200, await people.list_people(call.listing, call.query))


@API.add(
    "GET",
    "/people/{id}",
    operation_id="getPerson",
    summary="Read a person",
    scope="people:read",
    params={"id": "int"},
    answers={200: schemas.Person},
)
async def get_person(call: Call) -> Answer:
    return Answer(200, await people.get_person(call.listing, call.params["id"]))


@API.add(
    "POST",
    "/people",
    operation_id="upsertPerson",
    summary="Create or update a person by email",
    description="Fields left out are left as they are. People an identity provider keeps "
    "(SCIM) are refused with 409: change them there.",
    scope="people:write",
    body=schemas.PersonIn,
    answers={200: schemas.Person, 201: schemas.Person},
)
async def post_person(call: Call) -> Answer:
    created, person = await people.upsert_person(call.listing, call.body, call.actor)
    return Answer(201 if created else 200, person)


@API.add(
    "GET",
    "/enrolments",
    operation_id="listEnrolments",
    summary="List enrolments, in the order they last changed",
    scope="enrolments:read",
    query=schemas.EnrolmentQuery,
    answers={200: schemas.EnrolmentPage},
)
async def list_enrolments(call: Call) -> Answer:
    return Answer(200, await enrolments.list_enrolments(call.listing, call.query))


@API.add(
    "GET",
    "/enrolments/{id}",
    operation_id="getEnrolment",
    summary="Read an enrolment",
    scope="enrolments:read",
    params={"id": "int"},
    answers={200: schemas.Enrolment},
)
async def get_enrolment(call: Call) -> Answer:
    return Answer(200, await enrolments.get_enrolment(call.listing, call.params["id"]))


@API.add(
    "POST",
    "/enrolments",
    operation_id="createEnrolment",
    summary="Enrol a person in an item (source api)",
    description="201 when enrolled now; 200 when already enrolled or completed (nothing "
    "changes). A withdrawn enrolment is made current again. Whom `enrol import` refuses is "
    "refused with 422: a deactivated person, a guest, a prospect (they enrol through their "
    "registration token).",
    scope="enrolments:write",
    body=schemas.EnrolmentIn,
    answers={200: schemas.EnrolmentResult, 201: schemas.EnrolmentResult},
)
async def post_enrolment(call: Call) -> Answer:
    org = call.organisation
    created, result = await enrolments.create_enrolment(call.listing, org, call.body, call.actor)
    return Answer(201 if created else 200, result)


@API.add(
    "POST",
    "/enrolments/{id}/withdraw",
    operation_id="withdrawEnrolment",
    summary="Withdraw an enrolment, keeping its history",
    description="A completed enrolment cannot be withdrawn (409).",
    scope="enrolments:write",
    params={"id": "int"},
    body=schemas.WithdrawIn,
    answers={200: schemas.WithdrawResult},
)
async def post_withdraw(call: Call) -> Answer:
    result = await enrolments.withdraw_enrolment(
        call.listing, call.params["id"], call.body, call.actor
    )
    return Answer(200, result)


@API.add(
    "POST",
    "/completions",
    operation_id="createCompletion",
    summary="Report a completion: the person's current enrolment is marked completed",
    description="Someone not enrolled is enrolled (source api) and completed. 201 when "
    "completed now; 200 when it was already completed (nothing changes). completed_at in the "
    "future is refused (422), as `completions import` refuses it.",
    scope="completions:write",
    body=schemas.CompletionIn,
    answers={200: schemas.CompletionResult, 201: schemas.CompletionResult},
)
async def post_completion(call: Call) -> Answer:
    org = call.organisation
    done, result = await enrolments.record_completion(call.listing, org, call.body, call.actor)
    return Answer(201 if done else 200, result)


@API.add(
    "POST",
    "/completions/batch",
    operation_id="createCompletions",
    summary=f"Report up to {schemas.BATCH_MAX} completions at once, in one transaction",
    description="Each is recorded as POST /completions records one. A completion naming an "
    "unknown person or item, or a time in the future, is refused on its own (outcome refused, "
    "with the reason); the others are recorded.",
    scope="completions:write",
    body=schemas.CompletionBatchIn,
    answers={200: schemas.CompletionBatchResult},
)
async def post_completions(call: Call) -> Answer:
    org = call.organisation
    return Answer(200, await batches.complete_batch(call.listing, org, call.body, call.actor))


@API.add(
    "GET",
    "/groups",
    operation_id="listGroups",
    summary="List groups, oldest first",
    scope="groups:read",
    query=schemas.GroupQuery,
    answers={200: schemas.GroupPage},
)
async def list_groups(call: Call) -> Answer:
    return Answer(200, await groups.list_groups(call.listing, call.query))


@API.add(
    "GET",
    "/groups/{id}",
    operation_id="getGroup",
    summary="Read a group",
    scope="groups:read",
    params={"id": "int"},
    answers={200: schemas.Group},
)
async def get_group(call: Call) -> Answer:
    return Answer(200, await groups.get_group(call.listing, call.params["id"]))


@API.add(
    "GET",
    "/groups/{id}/members",
    operation_id="listGroupMembers",
    summary="List a group's current members",
    scope="groups:read",
    params={"id": "int"},
    query=schemas.PageQuery,
    answers={200: schemas.PersonPage},
)
async def list_members(call: Call) -> Answer:
    page = await groups.group_members(call.listing, call.params["id"], call.query)
    return Answer(200, page)


@API.add(
    "GET",
    "/rules",
    operation_id="listRules",
    summary="List automatic enrolment rules (not deleted), oldest first",
    scope="rules:read",
    query=schemas.PageQuery,
    answers={200: schemas.RulePage},
)
async def list_rules(call: Call) -> Answer:
    return Answer(200, await rules.list_rules(call.listing, call.query))


@API.add(
    "GET",
    "/rules/{id}",
    operation_id="getRule",
    summary="Read an automatic enrolment rule",
    scope="rules:read",
    params={"id": "int"},
    answers={200: schemas.Rule},
)
async def get_rule(call: Call) -> Answer:
    return Answer(200, await rules.get_rule(call.listing, call.params["id"]))
