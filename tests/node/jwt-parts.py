"""Checks a service-account JWT's claims and splits it for a signature check with openssl.

    python3 jwt-parts.py DIR ISSUER CA_FILE SUBJECT AUDIENCE

Reads DIR/token; asserts its audience, issuer, subject and expiry, and that the issuer's OpenID
discovery document (fetched without credentials, as AWS STS fetches it) names a JWKS listing the
token's key id. Writes DIR/signed (header.payload), DIR/signature (raw bytes) and
DIR/jwks-modulus (that key's modulus in upper-case hex, as `openssl rsa -modulus` prints it), so
that openssl can verify the RS256 signature with the API server's public key.
"""

import base64
import json
import ssl
import sys
import time
import urllib.request


def b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def fetch(url: str, context: ssl.SSLContext) -> dict:
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return json.load(response)


def main() -> None:
    work, issuer, ca, subject, audience = sys.argv[1:6]
    with open(f"{work}/token") as file:
        header, payload, signature = file.read().strip().split(".")
    head, claims = json.loads(b64(header)), json.loads(b64(payload))
    assert head["alg"] == "RS256", head
    assert claims["aud"] == [audience], claims
    assert claims["iss"] == issuer, claims
    assert claims["sub"] == subject, claims
    assert claims["exp"] > time.time(), claims

    context = ssl.create_default_context(cafile=ca)
    discovery = fetch(issuer + "/.well-known/openid-configuration", context)
    assert discovery["issuer"] == issuer, discovery
    key = next(k for k in fetch(discovery["jwks_uri"], context)["keys"] if k["kid"] == head["kid"])

    with open(f"{work}/signed", "w") as file:
        file.write(f"{header}.{payload}")
    with open(f"{work}/signature", "wb") as file:
        file.write(b64(signature))
    with open(f"{work}/jwks-modulus", "w") as file:
        file.write(b64(key["n"]).hex().upper())


if __name__ == "__main__":
    main()
