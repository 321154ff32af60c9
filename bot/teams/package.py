"""The Teams app package an admin uploads: manifest.json with our app id, and the two icons."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

APP_PACKAGE = Path(__file__).parent / "appPackage"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def manifest(app_id: str, public_url: str, privacy_url: str = "", terms_url: str = "") -> str:
    """The manifest for `app_id`. The privacy and terms links are the organisation's own pages
    when it names them (ENROLBOT_PRIVACY_URL, ENROLBOT_TERMS_URL), ours otherwise."""
    if not GUID.match(app_id):
        raise ValueError(
            "MICROSOFT_APP_ID must be the app registration's Application (client) ID, a GUID "
            "like 6f1c2d3e-1111-2222-3333-444455556666."
        )
    host = urlsplit(public_url).hostname or ""
    base = public_url.rstrip("/")
    text = (APP_PACKAGE / "manifest.json").read_text()
    return (
        text.replace("{{MICROSOFT_APP_ID}}", app_id.lower())
        .replace("{{ENROLBOT_PRIVACY_URL}}", _in_json(privacy_url or f"{base}/privacy"))
        .replace("{{ENROLBOT_TERMS_URL}}", _in_json(terms_url or f"{base}/terms"))
        .replace("{{ENROLBOT_PUBLIC_URL}}", base)
        .replace("{{ENROLBOT_HOST}}", host)
    )


def _in_json(text: str) -> str:
    """`text` as it stands inside a JSON string: a quote in a URL must not end the string."""
    return json.dumps(text)[1:-1]


def archive(app_id: str, public_url: str, privacy_url: str = "", terms_url: str = "") -> bytes:
    """The zip to upload: the manifest and the two icons."""
    content = manifest(app_id, public_url, privacy_url, terms_url)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("manifest.json", content)
        for icon in ("color.png", "outline.png"):
            zipped.write(APP_PACKAGE / icon, icon)
    return buffer.getvalue()
