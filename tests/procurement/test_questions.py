"""答疑: bidders who obtained the documents ask; answers are shown without the asker."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.procurement.models import Question
from tradesys.services import Services


async def _obtain(client: httpx.AsyncClient, project: dict[str, Any], seed: Seed,
                  who: str) -> None:
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.parties[who].auth)).json()["items"]
    response = await client.get(
        f"/api/v1/projects/{project['id']}/documents/{documents[0]['id']}/content",
        headers=seed.parties[who].auth)
    assert response.status_code == 200


async def test_question_and_anonymous_answer(client: httpx.AsyncClient, flow: Flow,
                                             seed: Seed) -> None:
    project = await flow.announced()
    await _obtain(client, project, seed, "bidder1")
    url = f"/api/v1/projects/{project['id']}/questions"
    asked = await client.post(url, headers=seed.bidder1.auth, json={"text": "可否采用替代品？"})
    assert asked.status_code == 201, asked.text
    # Before it is answered, other bidders do not see it.
    assert (await client.get(url, headers=seed.bidder2.auth)).json()["items"] == []
    answered = await client.post(f"{url}/{asked.json()['id']}/answer",
                                 headers=seed.agency.auth, json={"answer": "可以。"})
    assert answered.status_code == 200, answered.text
    seen = (await client.get(url, headers=seed.bidder2.auth)).json()["items"]
    assert [(q["text"], q["answer"], q["mine"]) for q in seen] == [
        ("可否采用替代品？", "可以。", False)]
    assert set(seen[0]) == {"id", "text", "asked_at", "answer", "answered_at", "mine"}
    own = (await client.get(url, headers=seed.bidder1.auth)).json()["items"]
    assert own[0]["mine"] is True


async def test_bad_questions_change_nothing(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                            services: Services, clock: AdjustableClock) -> None:
    project = await flow.announced()
    url = f"/api/v1/projects/{project['id']}/questions"
    before = await table_counts(services)
    assert_error(await client.post(url, headers=seed.bidder1.auth, json={"text": "问"}), 403,
                 "documents_not_obtained")
    assert_error(await client.post(url, headers=seed.agency.auth, json={"text": "问"}), 403,
                 "role_forbidden")
    assert_error(await client.post(url, headers=seed.bidder1.auth, json={"text": ""}), 422,
                 "validation_failed")
    assert await table_counts(services) == before
    await _obtain(client, project, seed, "bidder1")
    clock.advance(timedelta(days=10, seconds=1))
    before = await table_counts(services)
    assert_error(await client.post(url, headers=seed.bidder1.auth, json={"text": "迟到的问题"}),
                 409, "clarification_deadline_passed")
    assert await table_counts(services) == before


async def test_answers_only_by_the_host_and_once(client: httpx.AsyncClient, flow: Flow,
                                                seed: Seed, services: Services) -> None:
    project = await flow.announced()
    await _obtain(client, project, seed, "bidder1")
    url = f"/api/v1/projects/{project['id']}/questions"
    question = (await client.post(url, headers=seed.bidder1.auth, json={"text": "问"})).json()
    answer_url = f"{url}/{question['id']}/answer"
    before = await table_counts(services)
    assert_error(await client.post(answer_url, headers=seed.bidder2.auth, json={"answer": "x"}),
                 403, "not_project_manager")
    assert_error(await client.post(answer_url, headers=seed.agency2.auth, json={"answer": "x"}),
                 404, "project_not_found")
    assert_error(await client.post(f"{url}/999/answer", headers=seed.agency.auth,
                                   json={"answer": "x"}), 404, "question_not_found")
    assert await table_counts(services) == before
    assert (await client.post(answer_url, headers=seed.agency.auth,
                              json={"answer": "答"})).status_code == 200
    before = await table_counts(services)
    assert_error(await client.post(answer_url, headers=seed.agency.auth, json={"answer": "再答"}),
                 409, "already_answered")
    assert await table_counts(services) == before


async def test_question_ids_do_not_count_hidden_questions(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    """Unanswered questions are hidden from other bidders; sequential ids would count them."""
    project = await flow.announced()
    other = await flow.announced()
    for who in ("bidder1", "bidder2"):
        await _obtain(client, project, seed, who)
    url = f"/api/v1/projects/{project['id']}/questions"
    for text in ("问一", "问二", "问三"):  # bidder1's, hidden from bidder2
        assert (await client.post(url, headers=seed.bidder1.auth, json={"text": text})
                ).status_code == 201
    mine = (await client.post(url, headers=seed.bidder2.auth, json={"text": "我的问题"})).json()
    assert isinstance(mine["id"], str) and re.fullmatch(r"[A-Za-z0-9_-]{22}", mine["id"])
    assert not mine["id"].isdigit()
    seen = (await client.get(url, headers=seed.bidder2.auth)).json()["items"]
    assert [q["id"] for q in seen] == [mine["id"]]
    async with services.db.reading() as session:
        internal = (await session.execute(select(Question.id).where(
            Question.public_id == mine["id"]))).scalar_one()
    before = await table_counts(services)
    # Neither the internal number nor the id under another project names the question.
    for wrong in (f"{url}/{internal}/answer",
                  f"/api/v1/projects/{other['id']}/questions/{mine['id']}/answer",
                  f"{url}/{mine['id'][:-1]}!/answer"):
        assert_error(await client.post(wrong, headers=seed.agency.auth, json={"answer": "x"}),
                     404, "question_not_found")
    assert await table_counts(services) == before
    answered = await client.post(f"{url}/{mine['id']}/answer", headers=seed.agency.auth,
                                 json={"answer": "答"})
    assert answered.status_code == 200 and answered.json()["id"] == mine["id"]
