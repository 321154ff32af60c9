"""What goes wrong in a provisioning request, as SCIM names it (RFC 7644 §3.12): the HTTP
status, the `scimType`, and a sentence for the identity provider's provisioning log."""

from __future__ import annotations


class ScimError(Exception):
    status = 400
    scim_type: str | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ScimError):
    status = 404


class Conflict(ScimError):
    status = 409
    scim_type = "uniqueness"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"
