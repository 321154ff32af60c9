"""Stand-ins for Microsoft's side of Teams, served over real HTTP on loopback:

- the Bot Framework's OpenID metadata and signing keys, with a test RSA key that signs
  activities as the Bot Framework does;
- the Bot Framework connector, recording replies, updates and proactive posts, and answering
  member lookups from a directory the test controls;
- Entra ID's token endpoint, over HTTPS with a throwaway certificate, so msal runs for real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.teams_roster_standin import RosterRoutes

TENANT = "0f0e0d0c-aaaa-bbbb-cccc-000000000001"
OTHER_TENANT = "0f0e0d0c-aaaa-bbbb-cccc-000000000002"
APP_ID = "6f1c2d3e-1111-2222-3333-444455556666"
ACCESS_TOKEN = "connector-access-token"
ISSUER = "https://api.botframework.com"
# msal pools its connections; closing them lets the HTTPS stand-in stop at once.
CLOSE = {"Connection": "close"}


class BotFrameworkKeys:
    """The Bot Framework's published keys, and a way to sign as it does."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.url = ""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "endorsements": ["msteams"]}]}
        self.fetches = 0
        self.app = Starlette(
            routes=[
                Route("/v1/.well-known/openidconfiguration", self._metadata),
                Route("/v1/.well-known/keys", self._keys),
            ]
        )

    async def _metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: Request) -> Response:
        self.fetches += 1
        return JSONResponse(self.jwks)

    def sign(
        self,
        service_url: str,
        *,
        key: Any = None,
        kid: str | None = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": APP_ID,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 3600,
            "serviceurl": service_url,
        } | claims
        body = {k: v for k, v in body.items() if v is not None}
        if algorithm == "none":
            return jwt.encode(body, None, algorithm="none")
        return jwt.encode(
            body, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid}
        )


@dataclass
class Sent:
    method: str
    conversation: str
    activity_id: str | None
    body: dict
    at: float
    failed: bool = False
    new_id: str | None = None  # the id the connector gave a new message


@dataclass
class Connector(RosterRoutes):
    """The Bot Framework connector for one serviceUrl."""

    members: dict[str, dict] = field(default_factory=dict)  # by 29: id and by objectId
    sent: list[Sent] = field(default_factory=list)
    failures: list[tuple[int, dict, str | None]] = field(default_factory=list)
    bad_tokens: int = 0
    # OneDrive's upload URLs a file consent's accept names: what was put there, by file name
    uploads: dict[str, tuple[bytes, str | None]] = field(default_factory=dict)
    # Files people sent the bot, by name: a file.download.info's pre-authenticated downloadUrl
    downloads: dict[str, bytes] = field(default_factory=dict)
    url: str = ""
    # Teams' rosters, by team id: what pagedmembers lists, in order (member dicts as above).
    rosters: dict[str, list[dict]] = field(default_factory=dict)
    # pagedmembers failures: page number (0 first) -> [status, times left (-1: always)]
    page_failures: dict[int, list[int]] = field(default_factory=dict)
    page_requests: list[dict] = field(default_factory=list)  # each pagedmembers call's query
    team_names: dict[str, str] = field(default_factory=dict)  # what GET /v3/teams/{id} says

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self.app = Starlette(
            routes=[
                Route("/v3/conversations", self._create, methods=["POST"]),
                Route("/v3/conversations/{conversation}/activities", self._send, methods=["POST"]),
                Route(
                    "/v3/conversations/{conversation}/activities/{activity_id}",
                    self._reply,
                    methods=["POST", "PUT"],
                ),
                Route("/v3/conversations/{conversation}/members/{user}", self._member),
                Route("/v3/conversations/{conversation}/pagedmembers", self._paged_members),
                Route("/v3/teams/{team}", self._team_details),
                Route("/upload/{name}", self._upload, methods=["PUT"]),
                Route("/download/{name}", self._download),
            ]
        )

    def lookups(self, user_id: str) -> int:
        """How many times the bot asked who `user_id` is."""
        return sum(1 for s in self.sent if s.method == "GET" and s.body["member"] == user_id)

    def add_member(self, member: dict) -> None:
        self.members[member["id"]] = member
        if member.get("objectId"):
            self.members[member["objectId"]] = member

    def fail_next(
        self, status: int, headers: dict | None = None, conversation: str | None = None
    ) -> None:
        """Answer the next new message (to `conversation`, if given) with this status."""
        self.failures.append((status, headers or {}, conversation))

    def _authorised(self, request: Request) -> bool:
        ok = request.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}"
        if not ok:
            self.bad_tokens += 1
        return ok

    async def _record(self, request: Request, activity_id: str | None) -> Response | Sent:
        if not self._authorised(request):
            return JSONResponse({"error": {"code": "Unauthorized"}}, status_code=401)
        body = json.loads(await request.body())
        conversation = request.path_params["conversation"]
        with self._lock:
            failure = None
            if activity_id is None and request.method == "POST":
                for n, (*_, where) in enumerate(self.failures):
                    if where in (None, conversation):
                        failure = self.failures.pop(n)[:2]
                        break
            sent = Sent(
                request.method,
                request.path_params["conversation"],
                activity_id,
                body,
                time.monotonic(),
                failed=failure is not None,
            )
            self.sent.append(sent)
            self._lock.notify_all()
        if failure:
            status, headers = failure
            return JSONResponse(
                {"error": {"code": "Throttled"}}, status_code=status, headers=headers
            )
        return sent

    async def _send(self, request: Request) -> Response:
        sent = await self._record(request, None)
        if isinstance(sent, Response):
            return sent
        sent.new_id = f"act-{uuid.uuid4().hex[:10]}"
        return JSONResponse({"id": sent.new_id})

    async def _reply(self, request: Request) -> Response:
        sent = await self._record(request, request.path_params["activity_id"])
        if isinstance(sent, Response):
            return sent
        return JSONResponse({"id": f"act-{uuid.uuid4().hex[:10]}"})

    async def _create(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({}, status_code=401)
        body = json.loads(await request.body())
        return JSONResponse({"id": f"a:dm-{body['members'][0]['id']}"})

    def upload_info(self, name: str) -> dict:
        """What Teams puts in a file consent's accept: where the bot may PUT the file (a
        OneDrive upload session, which takes the bytes with a Content-Range) and where it
        will then be."""
        return {
            "contentUrl": f"https://acme-my.sharepoint.test/personal/boss/Documents/{name}",
            "name": name,
            "uploadUrl": f"{self.url}/upload/{name}",
            "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C8C",
            "fileType": name.rsplit(".", 1)[-1],
            "etag": "1",
        }

    async def _upload(self, request: Request) -> Response:
        # A pre-authenticated URL: no bearer token, as OneDrive's upload sessions have none.
        body = await request.body()
        with self._lock:
            self.uploads[request.path_params["name"]] = (body, request.headers.get("content-range"))
            self._lock.notify_all()
        return JSONResponse({"id": "item-1", "name": request.path_params["name"]}, status_code=201)

    async def _download(self, request: Request) -> Response:
        found = self.downloads.get(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404)
        return Response(found, media_type="application/octet-stream")

    async def _member(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({}, status_code=401)
        member = self.members.get(request.path_params["user"])
        if member is None:
            return JSONResponse({"error": {"code": "NotFound"}}, status_code=404)
        with self._lock:
            self.sent.append(
                Sent(
                    "GET",
                    request.path_params["conversation"],
                    None,
                    {"member": request.path_params["user"]},
                    time.monotonic(),
                )
            )
        return JSONResponse(member)

    def wait(self, predicate, count: int = 1, timeout: float = 10) -> list[Sent]:
        def matching() -> list[Sent]:
            return [s for s in self.sent if predicate(s)]

        with self._lock:
            if not self._lock.wait_for(lambda: len(matching()) >= count, timeout):
                raise AssertionError(f"the connector did not get {count} matching call(s)")
            return matching()


class EntraId:
    """Entra ID's token endpoint for our tenant, over HTTPS."""

    def __init__(self, workdir: Path) -> None:
        self.token_requests = 0
        self.stalls: list[float] = []  # seconds the next token requests wait before answering
        self.url = ""
        self.ca_file, self.cert_file, self.key_file = _certificates(workdir)
        self.app = Starlette(
            routes=[
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self._configuration),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            ]
        )

    async def _configuration(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        base = f"{self.url}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            },
            headers=CLOSE,
        )

    async def _token(self, request: Request) -> Response:
        if self.stalls:
            await asyncio.sleep(self.stalls.pop(0))
        form = dict(x.split("=", 1) for x in (await request.body()).decode().split("&"))
        if request.path_params["tenant"] != TENANT or form.get("client_secret") != "app-password":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        self.token_requests += 1
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": 3600, "access_token": ACCESS_TOKEN},
            headers=CLOSE,
        )


def _certificates(workdir: Path) -> tuple[str, str, str]:
    """A throwaway CA and a certificate it signed for localhost and 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "enrolbot test CA")])
    ca = _ca_certificate(ca_key, ca_name, now)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _localhost_certificate(key, ca_key, ca_name, now)
    ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "cert.pem", workdir / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(ca_file), str(cert_file), str(key_file)


def _ca_certificate(
    ca_key: rsa.RSAPrivateKey, ca_name: x509.Name, now: dt.datetime
) -> x509.Certificate:
    """The CA's own certificate, valid for a day, that may sign others."""
    return (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _localhost_certificate(
    key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca_name: x509.Name, now: dt.datetime
) -> x509.Certificate:
    """A server certificate for localhost and 127.0.0.1 with `key`, signed by the CA."""
    import ipaddress

    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
