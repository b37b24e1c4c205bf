"""Browser login: session cookie + CSRF token, logout, expiry, bad credentials, rate limits."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from tests.support import T0, Party, Seed, assert_error, project_body, table_counts
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.services import Services
from tradesys.settings import Settings

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"
PROJECTS = "/api/v1/projects"


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie header as {name: {attribute (lower case): value}}; flags map to ''."""
    cookies: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = name_value.partition("=")
        parsed = {"value": value}
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            parsed[key.lower()] = attr_value
        cookies[name] = parsed
    return cookies


async def log_in(client: httpx.AsyncClient, party: Party) -> httpx.Response:
    response = await client.post(LOGIN, json={"username": party.username,
                                              "password": party.password})
    assert response.status_code == 200, response.text
    return response


async def test_login_sets_httponly_strict_session_and_readable_csrf_cookie(
    client: httpx.AsyncClient, seed: Seed, settings: Settings
) -> None:
    response = await log_in(client, seed.agency)
    body = response.json()
    assert body["user"]["username"] == "agency"
    assert body["user"]["role"] == "agency"
    assert "password" not in response.text
    cookies = set_cookies(response)
    session, csrf = cookies["tradesys_session"], cookies["tradesys_csrf"]
    assert "httponly" in session
    assert session["samesite"].lower() == "strict"
    assert session["path"] == "/"
    assert session["max-age"] == str(settings.session_ttl_seconds) == str(8 * 3600)
    assert session["value"].startswith("sess_")
    # The CSRF cookie is for the page's script to read and echo in X-CSRF-Token.
    assert "httponly" not in csrf
    assert csrf["samesite"].lower() == "strict"
    assert csrf["value"] == body["csrf_token"]
    assert csrf["value"] != session["value"]
    # Plain-HTTP local default: no Secure flag unless configured.
    assert "secure" not in session
    assert body["expires_at"].startswith((T0 + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S"))
    # A SimpleCookie can read the header back: the syntax is standard.
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(response.headers.get_list("set-cookie")[0])
    assert len(parsed) == 1


async def test_secure_cookies_when_configured(
    db_url: str, tmp_path: Path, clock: AdjustableClock, seed: Seed
) -> None:
    settings = Settings(data_dir=tmp_path / "secure", database_url=db_url, secure_cookies=True)
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            response = await log_in(c, seed.bidder1)
    cookies = set_cookies(response)
    assert "secure" in cookies["tradesys_session"]
    assert "secure" in cookies["tradesys_csrf"]


async def test_cookies_are_secure_whenever_the_public_url_is_https(
    db_url: str, tmp_path: Path, clock: AdjustableClock, seed: Seed
) -> None:
    for public_url, secure in (("https://bid.example.cn", True), ("HTTPS://bid.example.cn/", True),
                               ("http://127.0.0.1:8000", False)):
        settings = Settings(data_dir=tmp_path / "pub", database_url=db_url,
                            public_url=public_url)
        app = create_app(settings, clock=clock, run_scheduler=False)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                response = await log_in(c, seed.bidder1)
        cookies = set_cookies(response)
        assert ("secure" in cookies["tradesys_session"]) is secure, public_url
        assert ("secure" in cookies["tradesys_csrf"]) is secure, public_url


async def test_me_with_the_session_cookie(client: httpx.AsyncClient, seed: Seed) -> None:
    assert_error(await client.get(ME), 401, "login_required")
    await log_in(client, seed.procurer)
    response = await client.get(ME)
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "procurer"
    assert response.json()["id"] == seed.procurer.user_id


async def test_cookie_post_needs_the_csrf_header(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    login = await log_in(client, seed.agency)
    csrf = login.json()["csrf_token"]
    body = project_body(seed.procurer)
    before = await table_counts(services)
    missing = await client.post(PROJECTS, json=body)
    assert_error(missing, 403, "csrf_failed")
    wrong = await client.post(PROJECTS, json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert_error(wrong, 403, "csrf_failed")
    empty = await client.post(PROJECTS, json=body, headers={"X-CSRF-Token": ""})
    assert_error(empty, 403, "csrf_failed")
    # The session cookie's own value is not the CSRF token.
    session_value = client.cookies["tradesys_session"]
    confused = await client.post(PROJECTS, json=body, headers={"X-CSRF-Token": session_value})
    assert_error(confused, 403, "csrf_failed")
    assert await table_counts(services) == before
    ok = await client.post(PROJECTS, json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    after = await table_counts(services)
    assert after["projects"] == before["projects"] + 1


async def test_csrf_token_of_another_session_does_not_work(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    other = (await log_in(client, seed.agency2)).json()["csrf_token"]
    client.cookies.clear()
    await log_in(client, seed.agency)
    before = await table_counts(services)
    response = await client.post(PROJECTS, json=project_body(seed.procurer),
                                 headers={"X-CSRF-Token": other})
    assert_error(response, 403, "csrf_failed")
    assert await table_counts(services) == before


async def test_safe_methods_need_no_csrf(client: httpx.AsyncClient, seed: Seed) -> None:
    await log_in(client, seed.agency)
    assert (await client.get(ME)).status_code == 200
    assert (await client.get(PROJECTS)).status_code == 200
    assert (await client.head(ME)).status_code == 200


async def test_bearer_tokens_need_no_csrf(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    assert not client.cookies
    before = await table_counts(services)
    response = await client.post(PROJECTS, json=project_body(seed.procurer),
                                 headers=seed.agency.auth)
    assert response.status_code == 201, response.text
    assert (await table_counts(services))["projects"] == before["projects"] + 1


async def test_logout_revokes_the_session(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    login = await log_in(client, seed.bidder1)
    csrf = login.json()["csrf_token"]
    session_cookie = client.cookies["tradesys_session"]
    # Logging out is a write: it needs the CSRF token too (no forced logout from elsewhere).
    before = await table_counts(services)
    assert_error(await client.post(LOGOUT), 403, "csrf_failed")
    assert await table_counts(services) == before
    assert (await client.get(ME)).status_code == 200

    response = await client.post(LOGOUT, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    cleared = set_cookies(response)
    assert cleared["tradesys_session"]["max-age"] == "0"
    assert cleared["tradesys_csrf"]["max-age"] == "0"
    assert_error(await client.get(ME), 401, "login_required")
    # The old cookie, kept by someone who copied it, no longer works either.
    client.cookies.set("tradesys_session", session_cookie)
    assert_error(await client.get(ME), 401, "session_expired")
    # Other sessions and tokens of the same user are unaffected.
    client.cookies.clear()
    assert (await client.get(ME, headers=seed.bidder1.auth)).status_code == 200


async def test_session_expires_after_the_ttl(
    client: httpx.AsyncClient, seed: Seed, clock: AdjustableClock, settings: Settings
) -> None:
    assert settings.session_ttl_seconds == 8 * 3600
    await log_in(client, seed.expert)
    clock.advance(timedelta(seconds=settings.session_ttl_seconds - 1))
    assert (await client.get(ME)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_error(await client.get(ME), 401, "session_expired")
    clock.advance(timedelta(days=1))
    assert_error(await client.get(ME), 401, "session_expired")


async def test_forged_session_cookie_is_refused(client: httpx.AsyncClient) -> None:
    client.cookies.set("tradesys_session", "sess_forged")
    assert_error(await client.get(ME), 401, "session_invalid")


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    wrong = await client.post(LOGIN, json={"username": "agency", "password": "not-the-password"})
    unknown = await client.post(LOGIN, json={"username": "nobody-here",
                                             "password": "agency-password-1"})
    wrong_error = assert_error(wrong, 401, "bad_credentials")
    unknown_error = assert_error(unknown, 401, "bad_credentials")
    assert wrong_error == unknown_error
    assert "set-cookie" not in wrong.headers
    assert "set-cookie" not in unknown.headers
    after = await table_counts(services)
    # Each failure is remembered for rate limiting; nothing else changes.
    assert after.pop("login_attempts") == before.pop("login_attempts") + 2
    assert after == before


async def test_login_body_is_validated(
    client: httpx.AsyncClient, services: Services
) -> None:
    before = await table_counts(services)
    for body in ({"username": "agency"}, {"username": "", "password": "x"},
                 {"username": "agency", "password": 12345678901},
                 {"username": "agency", "password": "agency-password-1", "remember": True}):
        assert_error(await client.post(LOGIN, json=body), 422, "validation_failed")
    assert await table_counts(services) == before


def elsewhere(app: Starlette, address: str = "198.51.100.9") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_failures_from_elsewhere_never_lock_out_the_right_password(
    app: Starlette, client: httpx.AsyncClient, seed: Seed, clock: AdjustableClock
) -> None:
    """Deadline day: someone types wrong passwords for the bidder from their own address for
    as long as the limits let them; the bidder, from its address, still logs in at once."""
    guesses = 0
    for _ in range(40):
        response = await client.post(LOGIN, json={"username": "bidder1",
                                                  "password": "guess-1234"})
        if response.status_code == 401:
            guesses += 1
        else:
            assert_error(response, 429, "too_many_login_attempts")
        clock.advance(timedelta(seconds=20))
    assert guesses >= 3
    async with elsewhere(app) as bidder:
        right = {"username": "bidder1", "password": seed.bidder1.password}
        assert (await bidder.post(LOGIN, json=right)).status_code == 200
        assert (await bidder.post("/api/v1/auth/tokens", json=right)).status_code == 201


async def test_failures_for_an_account_from_an_address_grow_its_delay(
    client: httpx.AsyncClient, seed: Seed, services: Services, clock: AdjustableClock
) -> None:
    wrong = {"username": "agency", "password": "guess-1234"}
    right = {"username": "agency", "password": seed.agency.password}
    for _ in range(3):  # the first three cost nothing
        assert_error(await client.post(LOGIN, json=wrong), 401, "bad_credentials")
    # Then 30 s after the latest failure, doubling with each failure, at most 15 minutes.
    for expected in (30, 60, 120, 240, 480, 900, 900):
        before = await table_counts(services)
        locked = await client.post(LOGIN, json=right)
        assert_error(locked, 429, "too_many_login_attempts")
        assert locked.headers["retry-after"] == str(expected)
        assert locked.json()["error"]["details"] == {"retry_after": expected}
        assert "set-cookie" not in locked.headers
        # The token endpoint shares the limit; a refusal is not a failure and changes nothing.
        assert_error(await client.post("/api/v1/auth/tokens", json=right), 429,
                     "too_many_login_attempts")
        assert await table_counts(services) == before
        clock.advance(timedelta(seconds=expected - 1))
        almost = await client.post(LOGIN, json=wrong)
        assert_error(almost, 429, "too_many_login_attempts")
        assert almost.headers["retry-after"] == "1"
        clock.advance(timedelta(seconds=1))
        assert_error(await client.post(LOGIN, json=wrong), 401, "bad_credentials")
    # Another account from the same address is not held up by these failures.
    assert (await client.post(LOGIN, json={"username": "agency2",
                                           "password": seed.agency2.password})).status_code == 200
    # Once the wait is over the right password works, and the pair starts afresh.
    clock.advance(timedelta(minutes=15))
    assert (await client.post(LOGIN, json=right)).status_code == 200
    for _ in range(3):
        assert_error(await client.post(LOGIN, json=wrong), 401, "bad_credentials")
    assert_error(await client.post(LOGIN, json=wrong), 429, "too_many_login_attempts")


async def test_failures_age_out_of_the_pair_window(
    client: httpx.AsyncClient, clock: AdjustableClock
) -> None:
    wrong = {"username": "procurer", "password": "guess-1234"}
    for _ in range(3):
        assert_error(await client.post(LOGIN, json=wrong), 401, "bad_credentials")
    clock.advance(timedelta(hours=1))
    for _ in range(3):
        assert_error(await client.post(LOGIN, json=wrong), 401, "bad_credentials")


async def test_an_address_has_a_budget_of_30_failures_per_15_minutes(
    app: Starlette, client: httpx.AsyncClient, seed: Seed, services: Services,
    clock: AdjustableClock,
) -> None:
    # One address guessing at many accounts, one try each: no pair ever waits.
    for number in range(30):
        response = await client.post(LOGIN, json={"username": f"ghost{number:02d}",
                                                  "password": "guess-1234"})
        assert_error(response, 401, "bad_credentials")
    right = {"username": "bidder2", "password": seed.bidder2.password}
    before = await table_counts(services)
    refused = await client.post(LOGIN, json=right)
    assert_error(refused, 429, "too_many_login_attempts")
    assert refused.headers["retry-after"] == "900"
    assert await table_counts(services) == before
    # Another address is not affected.
    async with elsewhere(app) as other:
        assert (await other.post(LOGIN, json=right)).status_code == 200
    clock.advance(timedelta(minutes=15))
    assert (await client.post(LOGIN, json=right)).status_code == 200


async def test_logout_with_a_bearer_token_leaves_the_cookie_session_alone(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    # The caller is whoever the bearer token names; a session cookie riding along (another
    # user's, here) is not the caller's to end: the token is what logout ends.
    await log_in(client, seed.bidder1)
    before = await table_counts(services)
    response = await client.post(LOGOUT, headers=seed.bidder2.auth)
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    after = await table_counts(services)
    assert after.pop("events") == before.pop("events") + 1  # user.token_revoked
    assert after == before
    assert_error(await client.get(ME, headers=seed.bidder2.auth), 401, "token_expired")
    me = await client.get(ME)
    assert me.status_code == 200
    assert me.json()["username"] == "bidder1"
