"""The REST API /api/v1 over HTTP: authentication, rate limits, problems, OpenAPI."""
