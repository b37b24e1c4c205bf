import httpx

from tests.support import Flow, Seed


async def test_register_and_announce(client: httpx.AsyncClient, flow: Flow, seed: Seed) -> None:
    project = await flow.announced()
    assert project["notice"]["kind"] == "tender"
    response = await client.get(f"/api/v1/projects/{project['id']}", headers=seed.agency.auth)
    assert response.status_code == 200
    assert {s["state"] for s in response.json()["sections"]} == {"tendering"}
