"""SCIM 2.0 provisioning at /scim/v2 (RFC 7643/7644): the HTTP side. The logic is
handlers.scim, over the directory core."""
