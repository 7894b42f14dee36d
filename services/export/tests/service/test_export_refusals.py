"""Every refusal of the export API, each naming the field at fault; and who may ask at all."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "excel", "from": "2026-02-01", "to": "2026-01-31"}, "from"),
        ({"kind": "accounting", "from": "2026-01-01", "to": "2026-01-31", "format": "sage"}, "format"),
        ({"kind": "accounting", "from": "2026-01-01", "to": "2026-01-31"}, "format"),
        ({"kind": "excel", "from": "2026-01-01", "to": "2026-01-31", "format": "fec"}, "format"),
        ({"kind": "grouped_pdf", "from": "2026-01-01", "to": "2026-01-31", "format": "xlsx"}, "format"),
        ({"kind": "grouped_pdf", "from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
        ({"kind": "zip", "from": "2026-01-01", "to": "2026-01-31"}, "kind"),
        # A DATEV batch cannot cross the start of a fiscal year.
        ({"kind": "accounting", "from": "2025-12-01", "to": "2026-01-31", "format": "datev"}, "to"),
        ({"kind": "excel", "to": "2026-01-31"}, "from"),
        ({"kind": "excel", "from": "2026-01-32", "to": "2026-01-31"}, "from"),
        ({"kind": "excel", "from": "2026-01-01", "to": "2026-01-31", "notify": "maybe"}, "notify"),
    ],
)
async def test_a_bad_export_request_is_refused_naming_the_field(export, body, field) -> None:
    answer = await export.http.post("/api/v1/exports", json=body, headers=export.token("accounting"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", field]
    assert await export.outbox() == []


async def test_a_full_year_is_accepted(export) -> None:
    headers = export.token("accounting")
    answer = await export.http.post(
        "/api/v1/exports", json={"kind": "excel", "from": "2024-01-01", "to": "2024-12-31"}, headers=headers
    )
    assert answer.status_code == 202  # 366 days, a leap year
    assert (await export.finished(answer.json()["id"], headers))["status"] == "completed"


async def test_an_accounting_export_needs_an_address_to_send_its_report_to(export) -> None:
    now = dt.datetime.now(dt.UTC)
    token = jwt.encode(
        {
            "sub": "robot",
            "iss": export.settings.jwt_issuer,
            "roles": ["accounting"],
            "email": "",
            "exp": int((now + dt.timedelta(hours=1)).timestamp()),
        },
        export.settings.jwt_secret,
        algorithm="HS256",
    )
    body = {"kind": "accounting", "from": "2026-01-01", "to": "2026-01-31", "format": "fec"}
    answer = await export.http.post(
        "/api/v1/exports", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "notify"]


async def test_exports_need_an_export_role(export) -> None:
    body = {"kind": "excel", "from": "2026-01-01", "to": "2026-01-31"}
    assert (await export.http.post("/api/v1/exports", json=body)).status_code == 401
    for role in ("readonly", "client:c1"):
        answer = await export.http.post("/api/v1/exports", json=body, headers=export.token(role))
        assert answer.status_code == 403
    expired = export.token("accounting").copy()
    expired["Authorization"] = "Bearer not-a-jwt"
    assert (await export.http.post("/api/v1/exports", json=body, headers=expired)).status_code == 401


async def test_an_unknown_export_is_not_found(export) -> None:
    headers = export.token("accounting")
    unknown = "7b0f5f7e-1111-4a4a-9e9e-000000000000"
    assert (await export.http.get(f"/api/v1/exports/{unknown}", headers=headers)).status_code == 404
    assert (await export.http.get(f"/api/v1/exports/{unknown}/file", headers=headers)).status_code == 404
    assert (await export.http.get("/api/v1/exports/../../etc/passwd", headers=headers)).status_code == 404
    assert (await export.http.get("/api/v1/exports/not-an-id", headers=headers)).status_code == 422
