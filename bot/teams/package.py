"""The Teams app package an admin uploads: manifest.json with our app id, and the two icons."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

APP_PACKAGE = Path(__file__).parent / "appPackage"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def manifest(app_id: str, public_url: str) -> str:
    if not GUID.match(app_id):
        raise ValueError(
            "MICROSOFT_APP_ID must be the app registration's Application (client) ID, a GUID "
            "like 6f1c2d3e-1111-2222-3333-444455556666."
        )
    host = urlsplit(public_url).hostname or ""
    text = (APP_PACKAGE / "manifest.json").read_text()
    return (
        text.replace("{{MICROSOFT_APP_ID}}", app_id.lower())
        .replace("{{ENROLBOT_PUBLIC_URL}}", public_url.rstrip("/"))
        .replace("{{ENROLBOT_HOST}}", host)
    )


def write(out: Path, app_id: str, public_url: str) -> None:
    content = manifest(app_id, public_url)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", content)
        for icon in ("color.png", "outline.png"):
            archive.write(APP_PACKAGE / icon, icon)
