"""Sign-in refusals, throttling per username and per address, the session cookie, sign-out."""

from __future__ import annotations

from typing import Any

WRONG = "Wrong username or password. Check both and try again."


def session_cookie(response: object) -> str | None:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return next((h for h in headers if h.startswith("ll_session=")), None)


async def test_wrong_password_and_unknown_user_get_the_same_clear_message(backoffice: Any) -> None:
    for username, password in (("bill", "not the password"), ("nobody", backoffice.password)):
        answer = await backoffice.sign_in(username, password)
        assert answer.status_code == 401
        assert WRONG in answer.text
        assert session_cookie(answer) is None
    page = await backoffice.http.get("/invoices")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_right_password_opens_a_session_with_a_strict_httponly_cookie(backoffice: Any) -> None:
    answer = await backoffice.sign_in("bill")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = session_cookie(answer)
    assert cookie is not None
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "secure" not in attributes  # plain HTTP locally; see the TLS test below
    info = await backoffice.http.get("/info")
    assert info.status_code == 200 and "Bill Billing" in info.text


async def test_cookie_is_secure_behind_tls(make_backoffice: Any) -> None:
    async with make_backoffice(backoffice_secure_cookies=True) as bo:
        cookie = session_cookie(await bo.sign_in("bill"))
        assert cookie is not None and "secure" in [a.strip().lower() for a in cookie.split(";")]


async def test_five_failures_lock_the_username_even_against_the_right_password(backoffice: Any) -> None:
    for _ in range(4):
        assert WRONG in (await backoffice.sign_in("bill", "guess")).text
    fifth = await backoffice.sign_in("bill", "guess")
    assert fifth.status_code == 429 and "locked for 15 more minute(s)" in fifth.text
    right = await backoffice.sign_in("bill", backoffice.password, headers={"X-Real-IP": "198.51.100.7"})
    assert right.status_code == 429 and "this username" in right.text
    assert session_cookie(right) is None
    # Another person is not locked out by it.
    assert (await backoffice.sign_in("acc")).status_code == 303


async def test_failures_from_one_address_lock_that_address_only(backoffice: Any) -> None:
    attacker = {"X-Real-IP": "203.0.113.9"}
    for i in range(10):  # ten usernames, one guess each: no single username is locked
        answer = await backoffice.sign_in(f"user{i}", "guess", headers=attacker)
    assert answer.status_code == 429 and "network address" in answer.text
    blocked = await backoffice.sign_in("rory", backoffice.password, headers=attacker)
    assert blocked.status_code == 429 and session_cookie(blocked) is None
    elsewhere = await backoffice.sign_in("rory", backoffice.password, headers={"X-Real-IP": "192.0.2.1"})
    assert elsewhere.status_code == 303 and session_cookie(elsewhere) is not None


async def test_sign_in_without_csrf_token_is_refused(backoffice: Any) -> None:
    await backoffice.http.get("/login")  # has the pre-session cookie, but posts no token
    answer = await backoffice.http.post("/login", data={"username": "bill", "password": backoffice.password})
    assert answer.status_code == 403
    assert "did not come from this site, so nothing was done" in answer.text
    assert session_cookie(answer) is None


async def test_sign_out_ends_the_session_and_needs_the_csrf_token(backoffice: Any) -> None:
    await backoffice.sign_in("bill")
    refused = await backoffice.http.post("/logout", data={"csrf_token": "0" * 64})
    assert refused.status_code == 403
    assert (await backoffice.http.get("/info")).status_code == 200  # still signed in
    cookie = backoffice.http.cookies.get("ll_session")
    await backoffice.sign_out()
    backoffice.http.cookies.set("ll_session", cookie or "")  # replaying the old cookie does not work
    assert (await backoffice.http.get("/info")).status_code == 303


async def test_next_is_never_an_open_redirect(backoffice: Any) -> None:
    token = await backoffice.csrf_of("/login")
    answer = await backoffice.http.post(
        "/login",
        data={
            "username": "bill",
            "password": backoffice.password,
            "csrf_token": token,
            "next": "//evil.test/x",
        },
    )
    assert answer.headers["location"] == "/"


async def test_with_an_identity_providers_keys_a_password_sign_in_says_where_to_go(
    make_backoffice: Any,
) -> None:
    async with make_backoffice(jwt_algorithm="RS256", jwt_public_key="not-used-here") as bo:
        answer = await bo.sign_in("bill")
        assert answer.status_code == 503 and "identity provider" in answer.text
        assert session_cookie(answer) is None
