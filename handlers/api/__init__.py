"""The REST API's logic, platform- and web-neutral: keys and scopes, the request and response
models, the queries behind each resource, cursors and idempotency. bot/api/ is the HTTP side."""
