"""Issue 11 item 5: no default secret; RS256/ES256 with a PEM key or a JWKS file; `aud` when configured.

The tokens of the asymmetric cases are minted here with keys generated for the test, as an identity
provider would, and checked by a real service app over HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ledgerline_shared.auth import InvalidToken, decode_token, mint_token, startup_problem
from ledgerline_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GOOD_SECRET = "item5-secret-0123456789abcdef0123456789"


def _start(service: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINE_")}
    base.update(
        {
            "LEDGERLINE_DATA_DIR": str(tmp_path),
            "LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            f"LEDGERLINE_{service.upper()}_PORT": "1",  # never bound: the check comes first
            "LEDGERLINE_SFTP_PORT": "0",
        }
    )
    base.update(env)
    return subprocess.run(
        [PYTHON, "-m", f"ledgerline_{service}"], env=base, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("service", ["invoicing", "rendering", "notification", "export", "backoffice"])
def test_item5_service_refuses_to_start_without_secret(service: str, tmp_path: Path) -> None:
    missing = _start(service, tmp_path)
    assert missing.returncode == 2, missing.stderr[-2000:]
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to start" in lines[0] and "LEDGERLINE_JWT_SECRET" in lines[0]


def test_item5_service_refuses_a_secret_shorter_than_32_bytes(tmp_path: Path) -> None:
    short = _start("rendering", tmp_path, LEDGERLINE_JWT_SECRET="x" * 31)
    assert short.returncode == 2
    assert "shorter than 32 bytes" in short.stderr.strip().splitlines()[0]


def test_item5_startup_problem_accepts_only_sound_settings(tmp_path: Path) -> None:
    assert startup_problem(Settings(jwt_secret=GOOD_SECRET)) is None
    assert startup_problem(Settings()) is not None
    assert startup_problem(Settings(jwt_secret="short")) is not None
    # Dev mode is explicit, never the default, and only then is a missing secret tolerated.
    assert Settings().dev_mode is False
    dev = Settings(dev_mode=True)
    assert startup_problem(dev) is None
    assert decode_token(dev, mint_token(dev, sub="dev", roles=["admin"])).sub == "dev"
    assert startup_problem(Settings(jwt_algorithm="HS512", jwt_secret=GOOD_SECRET)) is not None
    assert startup_problem(Settings(jwt_algorithm="RS256")) is not None  # no key at all
    assert startup_problem(Settings(jwt_algorithm="RS256", jwt_public_key_file=tmp_path / "none.pem"))


def test_item5_without_secret_no_token_is_accepted() -> None:
    # A service wrongly started anyway still accepts nothing: there is no key to verify with.
    forged = jwt.encode(
        {"sub": "mallory", "roles": ["admin"], "iss": "ledgerline", "exp": 4102444800},
        "change-me-local-only",
    )
    with pytest.raises(InvalidToken):
        decode_token(Settings(), forged)


# -- RS256 / ES256 --------------------------------------------------------------------------------


def _keypair(algorithm: str) -> tuple[Any, str]:
    private: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


def _idp_token(private: Any, algorithm: str, *, kid: str | None = None, **claims: Any) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    body = {"sub": "idp-alice", "roles": ["ops"], "iss": "corporate-idp", "exp": now + 600, **claims}
    return jwt.encode(body, private, algorithm=algorithm, headers={"kid": kid} if kid else None)


def _jwk(private: Any, algorithm: str, kid: str) -> dict[str, Any]:
    algo = jwt.get_algorithm_by_name(algorithm)
    jwk: dict[str, Any] = json.loads(algo.to_jwk(private.public_key()))  # type: ignore[attr-defined]
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


# The probe route reads a document: an `ops` token passes authentication and is refused by role (403),
# a token that fails authentication gets 401, all before any database use.
AUTHENTICATED = 403


async def _status(settings: Settings, token: str) -> int:
    from ledgerline_rendering.config import RenderingSettings
    from ledgerline_rendering.entrypoints.app import create_app

    app = create_app(RenderingSettings(**settings.model_dump(exclude_unset=True), render_workers=1))
    transport = httpx.ASGITransport(app=app)  # auth is decided before any database use
    async with httpx.AsyncClient(transport=transport, base_url="http://rendering") as http:
        answer = await http.get("/api/v1/documents/NOPE", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_item5_public_key_file_verifies_identity_provider_tokens(
    algorithm: str, tmp_path: Path
) -> None:
    private, public_pem = _keypair(algorithm)
    other, _ = _keypair(algorithm)
    pem = tmp_path / "idp.pem"
    pem.write_text(public_pem)
    settings = Settings(
        data_dir=tmp_path, jwt_algorithm=algorithm, jwt_public_key_file=pem, jwt_issuer="corporate-idp"
    )
    assert startup_problem(settings) is None
    assert decode_token(settings, _idp_token(private, algorithm)).sub == "idp-alice"
    assert await _status(settings, _idp_token(private, algorithm)) == AUTHENTICATED
    assert await _status(settings, _idp_token(other, algorithm)) == 401  # another key
    # An HS256 token signed with the public key text (the classic confusion attack) is refused.
    with pytest.raises(InvalidToken):
        decode_token(settings, jwt.encode({"sub": "x", "iss": "corporate-idp", "exp": 4102444800}, "k" * 40))


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_item5_jwks_file_picks_the_key_by_kid(algorithm: str, tmp_path: Path) -> None:
    current, _ = _keypair(algorithm)
    previous, _ = _keypair(algorithm)
    unknown, _ = _keypair(algorithm)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [_jwk(current, algorithm, "k2"), _jwk(previous, algorithm, "k1")]}))
    settings = Settings(
        data_dir=tmp_path, jwt_algorithm=algorithm, jwt_jwks_file=jwks, jwt_issuer="corporate-idp"
    )
    assert startup_problem(settings) is None
    assert await _status(settings, _idp_token(current, algorithm, kid="k2")) == AUTHENTICATED
    assert await _status(settings, _idp_token(previous, algorithm, kid="k1")) == AUTHENTICATED
    assert await _status(settings, _idp_token(unknown, algorithm, kid="k3")) == 401
    assert await _status(settings, _idp_token(previous, algorithm, kid="k2")) == 401  # kid of another key
    # Rotation: a new file (k1 withdrawn) is read without a restart.
    jwks.write_text(json.dumps({"keys": [_jwk(current, algorithm, "k2")]}))
    os.utime(jwks, ns=(1, 10**18))
    assert await _status(settings, _idp_token(previous, algorithm, kid="k1")) == 401


async def test_item5_audience_is_checked_when_configured(tmp_path: Path) -> None:
    private, public_pem = _keypair("RS256")
    settings = Settings(
        data_dir=tmp_path,
        jwt_algorithm="RS256",
        jwt_public_key=public_pem,
        jwt_issuer="corporate-idp",
        jwt_audience="ledgerline-api",
    )
    assert await _status(settings, _idp_token(private, "RS256", aud="ledgerline-api")) == AUTHENTICATED
    assert await _status(settings, _idp_token(private, "RS256", aud="another-api")) == 401
    assert await _status(settings, _idp_token(private, "RS256")) == 401  # no aud at all
    # Local HS256 tokens carry the configured audience.
    local = Settings(jwt_secret=GOOD_SECRET, jwt_audience="ledgerline-api")
    assert decode_token(local, mint_token(local, sub="bob", roles=["billing"])).sub == "bob"


def test_item5_token_command_needs_the_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINE_")}
    answer = subprocess.run(
        [PYTHON, "-m", "ledgerline_shared.cli", "token", "--sub", "a", "--roles", "admin"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert answer.returncode != 0 and "LEDGERLINE_JWT_SECRET" in answer.stderr
