"""What an OpenID Connect provider's stand-in needs whoever it stands in for: a test RSA key
published as a JWKS and signing ID tokens, and authorization codes that are good once."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class SigningKey:
    def __init__(self, kid: str = "test-oidc-key") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}

    def sign(self, claims: dict[str, Any], *, key: Any = None) -> str:
        now = int(time.time())
        body = {"iat": now, "nbf": now - 5, "exp": now + 3600} | claims
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


def pkce_challenge(verifier: str) -> str:
    """RFC 7636's S256: the code challenge a verifier answers."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Codes:
    """Authorization codes, each redeemable once: a second redemption finds nothing, and is
    counted."""

    def __init__(self) -> None:
        self._codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.issued = 0
        self.reused = 0

    def issue(self, grant: dict[str, Any]) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = grant
            self.issued += 1
        return code

    def redeem(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            grant = self._codes.pop(code, None)
            if grant is None:
                self.reused += 1
            return grant


def back_to(redirect_uri: str, **query: str) -> str:
    joiner = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{joiner}{urlencode(query)}"
