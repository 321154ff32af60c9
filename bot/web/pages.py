"""The browser pages: one Jinja2 environment with autoescaping, and the privacy and terms pages
that the Teams app package links (an organisation's own pages instead, when it names them)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

# Autoescaping on for every template: titles, labels and names come from people.
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)

# Pages that say nothing about a person: browsers and proxies may keep them a while.
_STATIC_HEADERS = {"Cache-Control": "public, max-age=3600"}


def render(
    template: str, status_code: int = 200, headers: dict | None = None, **values: object
) -> Response:
    body = TEMPLATES.get_template(template).render(**values)
    return HTMLResponse(body, status_code=status_code, headers=headers)


async def privacy(request: Request) -> Response:
    return _page_or_redirect(request.app.state.runtime.settings.privacy_url, "privacy.html")


async def terms(request: Request) -> Response:
    return _page_or_redirect(request.app.state.runtime.settings.terms_url, "terms.html")


def _page_or_redirect(own_url: str, template: str) -> Response:
    if own_url:
        # The organisation's own page: anyone holding an older package's link lands there too.
        return RedirectResponse(own_url, status_code=302)
    return render(template, headers=_STATIC_HEADERS)
