"""Invoice export, grouped printing and accounting jobs through the screens, and Your name → Info,
against the real export app (an empty read model: the jobs still run to the end and give a file)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from typing import Any

import openpyxl

TODAY = dt.date.today().isoformat()


async def run_job(backoffice: Any, screen: str, **fields: str) -> tuple[str, dict[str, Any]]:
    token = await backoffice.csrf_of(f"/exports/{screen}")
    started = await backoffice.http.post(
        f"/exports/{screen}", data={"csrf_token": token, "from": TODAY, "to": TODAY, **fields}
    )
    assert started.status_code == 303, started.text
    job_page = started.headers["location"]
    assert re.fullmatch(r"/exports/jobs/[0-9a-f-]+", job_page)
    for _ in range(200):
        state = (await backoffice.http.get(f"{job_page}/progress")).json()
        if state["finished"]:
            return job_page, state
        await asyncio.sleep(0.1)
    raise AssertionError(f"{screen} did not finish: {state}")


async def test_excel_export_runs_as_a_job_and_downloads_through_the_back_office(backoffice: Any) -> None:
    await backoffice.sign_in("bill")
    job_page, state = await run_job(backoffice, "invoice-export")
    assert state["status"] == "completed" and state["percent"] == 100
    page = await backoffice.http.get(job_page)
    assert "Download the file" in page.text and f'href="{job_page}/file"' in page.text
    file = await backoffice.http.get(f"{job_page}/file")
    assert file.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(file.content)).active is not None


async def test_accounting_export_says_it_is_emailed_and_refuses_a_reversed_range(backoffice: Any) -> None:
    await backoffice.sign_in("acc")
    form = await backoffice.http.get("/exports/accounting")
    assert 'value="fec"' in form.text and 'value="datev"' in form.text
    token = await backoffice.csrf_of("/exports/accounting")
    reversed_range = await backoffice.http.post(
        "/exports/accounting", data={"csrf_token": token, "from": TODAY, "to": "2000-01-01", "format": "fec"}
    )
    assert reversed_range.status_code == 422 and "swap the dates" in reversed_range.text
    job_page, state = await run_job(backoffice, "accounting", format="fec")
    page = await backoffice.http.get(job_page)
    assert state["status"] == "completed", page.text
    assert "sent to you by e-mail (acc@operator.test)" in page.text


async def test_exports_are_not_offered_to_readonly(backoffice: Any) -> None:
    await backoffice.sign_in("rory")
    for screen in ("invoice-export", "grouped-printing", "accounting"):
        assert (await backoffice.http.get(f"/exports/{screen}")).status_code == 403
    assert (await backoffice.http.get("/exports/nothing-like-it")).status_code == 404


async def test_info_shows_the_sftp_login_and_a_new_password_once(backoffice: Any) -> None:
    await backoffice.sign_in("bill")
    info = await backoffice.http.get("/info")
    assert info.status_code == 200 and "SFTP access" in info.text and "<code>bill</code>" in info.text
    token = await backoffice.csrf_of("/info")
    issued = await backoffice.http.post("/info/sftp-password", data={"csrf_token": token})
    password = re.search(r"data-password>([^<]+)<", issued.text).group(1)  # type: ignore[union-attr]
    assert len(password) >= 12 and "shown this once" in issued.text
    assert password not in (await backoffice.http.get("/info")).text
    await backoffice.sign_out()
    await backoffice.sign_in("rory")
    readonly = await backoffice.http.get("/info")
    assert "SFTP access" in readonly.text and "sftp-password" not in readonly.text
