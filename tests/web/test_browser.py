"""The web view in headless Chromium against a real plant on loopback: the line moves, a trend
grows, a wrong password is refused, a viewer cannot apply, an operator applies a
recommendation, an engineer breaks a machine and sees it down."""

from __future__ import annotations

import json

import pytest

import plant_tags as tags
from tests.support.opcua_harness import USERS, call_in, client, until
from tests.support.opcua_harness import text as _str

pytestmark = [pytest.mark.web, pytest.mark.asyncio]

LINE = "GearLine"


async def _login(page, user: str, password: str) -> None:
    await page.fill("#user", user)
    await page.fill("#password", password)
    await page.click("#login-button")


async def test_a_visitor_sees_the_line_move_and_a_trend_grow_and_a_wrong_password_is_refused(stack, page):
    await page.goto(stack.url)
    first = page.locator('rect[data-machine="MP3"]')
    await page.wait_for_function("() => document.querySelector('rect[data-machine=\"MP3\"]').dataset.state !== 'unknown'")
    seen = await first.get_attribute("data-state")
    await page.wait_for_function(
        "s => document.querySelector('rect[data-machine=\"MP3\"]').dataset.state !== s", arg=seen)
    assert "GearLine/KPIs/throughput_per_h" in await page.locator("#trend-tag").input_value()  # the first KPI offered
    await page.wait_for_function("() => Number(document.querySelector('#trend').dataset.points) > 0")
    n = int(await page.locator("#trend").get_attribute("data-points") or 0)
    await page.wait_for_function("n => Number(document.querySelector('#trend').dataset.points) > n", arg=n)
    assert "finished goods A" in await page.locator("#finished").inner_text()
    run = page.locator("#runs tr.run").first
    await run.wait_for()
    assert "written" in await run.inner_text() and "41.50 ± 12.25" in await run.inner_text()
    assert await page.locator("#recs button.apply").count() == 0  # a visitor has no controls

    await _login(page, "olga", "not-her-password")
    await page.wait_for_function("() => document.querySelector('#message').textContent.includes('wrong user name')")
    assert await page.locator("#who").is_hidden()
    assert stack.web.web.sessions.refused_logins == 1 and len(stack.web.web.sessions) == 0


async def _recommend(stack) -> int:
    changes = {tags.key(tags.conwip(LINE, "A")): 14}
    async with client(stack.srv, "eve") as c:
        out = await call_in(c, f"{LINE}/{tags.Folder.RECOMMENDATIONS}", "Recommend", _str(json.dumps(changes)),
                            _str("Zmax +4 % (p=0.003)"))
    return int(str(out).split()[1].rstrip(":"))


async def _switch_user(page, user: str) -> None:
    if await page.locator("#who").is_visible():
        await page.click("#logout")
        await page.locator("#login").wait_for()
    await _login(page, user, USERS[user][1])
    await page.wait_for_function("u => document.querySelector('#who-name').textContent.startsWith(u)", arg=user)


async def test_roles_over_opcua_a_viewer_cannot_apply_an_operator_applies_an_engineer_breaks_a_machine(stack, page):
    rid = await _recommend(stack)
    await page.goto(stack.url)
    await _switch_user(page, "vic")
    apply = page.locator(f'#recs li[data-rec="{rid}"] button.apply')
    await apply.click()
    await page.wait_for_function("() => document.querySelector('#message').textContent.includes('BadUserAccessDenied')")
    assert stack.plc.model.conwip_cap[0] != 14

    await _switch_user(page, "olga")
    await page.locator(f'#recs li[data-rec="{rid}"] button.apply').click()
    await page.wait_for_function("() => document.querySelector('#message').textContent.startsWith('apply:')")
    await until(lambda: stack.plc.model.conwip_cap[0] == 14, what="the recommendation applied in the PLC")
    await page.locator(f'#recs li[data-rec="{rid}"]').wait_for(state="detached")
    await page.click("#break")  # an operator may not inject faults
    await page.wait_for_function("() => document.querySelector('#message').textContent.includes('BadUserAccessDenied')")

    await _switch_user(page, "eve")
    await page.select_option("#fault-machine", "MP2")
    await page.fill("#fault-hours", "500")
    await page.click("#break")
    await page.wait_for_function("() => document.querySelector('#message').textContent.startsWith('break_machine:')")
    await page.wait_for_function("() => document.querySelector('rect[data-machine=\"MP2\"]').dataset.state === 'down'")
    await page.locator('#alarms li.alarm').first.wait_for()
    await page.locator('#faults li[data-fault]').first.wait_for()


async def test_a_password_in_a_url_and_a_request_without_the_csrf_token_are_refused(stack):
    import httpx

    async with httpx.AsyncClient(base_url=stack.url) as http:
        home = await http.get("/")
        csrf = home.cookies["plant_csrf"]
        r = await http.post("/api/login?user=olga&password=olga-pw", json={}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 400 and "URL" in r.json()["error"]
        r = await http.post("/api/login", json={"user": "olga", "password": "olga-pw"})
        assert r.status_code == 403
        r = await http.post("/api/login", content="user=olga&password=olga-pw", headers={
            "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 415
        r = await http.post("/api/login", json={"user": "olga", "password": "olga-pw"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["role"] == "operator"
        r = await http.post("/api/action", json={"action": "pause", "args": {}})
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        session_csrf = (await http.get("/api/me")).json()["csrf"]
        r = await http.post("/api/action", json={"action": "pause", "args": {}}, headers={"X-CSRF-Token": session_csrf})
        assert r.status_code == 403 and r.json()["status"] == "BadUserAccessDenied"  # pause is the engineer's
        r = await http.post("/api/action", json={"action": "apply", "args": {"id": "x"}},
                            headers={"X-CSRF-Token": session_csrf})
        assert r.status_code == 400 and "Int32" in r.json()["error"]
        r = await http.get("/api/history", params={"tag": "GearLine/MP9/MP9/State"})
        assert r.status_code == 404 and "GearLine/MP9/MP9/State" in r.json()["error"]
