"""What the service supports (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and
/Schemas, built by scim2-models from the resource models themselves."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Group,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)
from scim2_models.resources.service_provider_config import Pagination

from bot.scim.models import EnrolbotUser, EnterpriseUser, ScimUser

MAX_RESULTS = 1000
DEFAULT_COUNT = 100


def service_provider_config(base: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri="https://github.com/enrolbot/enrolbot#connect-entra-id-or-okta-provisioning",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        pagination=Pagination(
            index=True, cursor=False, default_page_size=DEFAULT_COUNT, max_page_size=MAX_RESULTS
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="The secret token set in ENROLBOT_SCIM_TOKEN",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def resource_types(base: str) -> list[dict[str, Any]]:
    found = []
    for model in (ScimUser, Group):
        kind = ResourceType.from_resource(model)
        kind.meta = Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/{kind.id}")
        found.append(kind.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return found


def schemas(base: str) -> list[dict[str, Any]]:
    found = []
    for model in (ScimUser, Group, EnterpriseUser, EnrolbotUser):
        schema: Schema = model.to_schema()
        schema.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{schema.id}")
        found.append(schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return found


LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def listed(resources: list[dict[str, Any]], total: int | None = None, start: int = 1) -> dict:
    """A ListResponse (RFC 7644 §3.4.2) of resources already dumped."""
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources) if total is None else total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
