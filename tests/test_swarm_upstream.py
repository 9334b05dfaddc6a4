"""OpenAI Swarm's own tests and examples, unmodified, against swarmlet (tests/swarm_shim).

Swarm 0.1.1's sdist is downloaded once (tests/upstream_swarm.py). Its files run in a
subprocess with a package named ``swarm`` that is swarmlet first on the path; the examples talk
to a real scripted OpenAI-compatible server on 127.0.0.1 through ``Swarm()``'s default
provider, and their REPL reads piped stdin.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from swarmlet.testing.server import ScriptedReply, ScriptedServer
from tests.upstream_swarm import SHIM, copy_into, environment, sdist

TIMEOUT = 120


@pytest.fixture(scope="module", autouse=True)
def _swarm_sdist() -> Path:
    return sdist()  # download once, before the first test of this module


def _call(name: str, **arguments: Any) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": name, "arguments": arguments}])


def _run(
    command: list[str], cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _tool_results(server: ScriptedServer) -> dict[str, str]:
    """Tool name -> content of every tool result the model was sent."""
    results: dict[str, str] = {}
    names: dict[str, str] = {}
    for body in server.requests:
        for message in body["messages"]:
            for call in message.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
            if message["role"] == "tool":
                results[names[message["tool_call_id"]]] = message["content"]
    return results


def test_swarms_own_core_and_util_tests_pass(tmp_path: Path) -> None:
    copy_into(tmp_path / "tests", "tests")
    done = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env=environment(),
    )
    assert "6 passed" in done.stdout, done.stdout
    # The shim was what ran: Swarm itself is not installed here.
    probe = _run(
        [sys.executable, "-c", "import swarm; print(swarm.Swarm.__module__)"],
        tmp_path,
        environment(),
    )
    assert probe.stdout.strip() == "swarmlet.core"


AIRLINE_SCRIPT = [
    _call("transfer_to_lost_baggage"),
    _call("initiate_baggage_search"),
    _call("escalate_to_agent", reason="bag still missing"),
    ScriptedReply(content="I have escalated your case to an agent."),
]


def test_airline_example_in_its_repl_hands_off_and_calls_tools_with_arguments(
    tmp_path: Path,
) -> None:
    airline = copy_into(tmp_path / "airline", "examples", "airline")
    with ScriptedServer(AIRLINE_SCRIPT) as server:
        env = environment(SHIM / "airline_data", base_url=server.base_url)
        done = _run([sys.executable, "main.py"], airline, env, stdin="My bag did not arrive\n")
    out = done.stdout
    assert "Lost baggage traversal" in out and "escalate_to_agent" in out
    assert "I have escalated your case to an agent." in out
    results = _tool_results(server)
    assert results["escalate_to_agent"] == "Escalating to agent: bag still missing"
    assert results["initiate_baggage_search"] == "Baggage was found!"
    # After the handoff the lost-baggage agent's instructions were the system prompt.
    assert "Lost baggage policy" in server.requests[1]["messages"][0]["content"]
    assert "customer_12345" in server.requests[0]["messages"][0]["content"]  # context vars


def test_airline_agents_in_the_streaming_repl(tmp_path: Path) -> None:
    airline = copy_into(tmp_path / "airline", "examples", "airline")
    driver = (
        "from configs.agents import *\n"
        "from swarm.repl import run_demo_loop\n"
        "run_demo_loop(triage_agent, stream=True)\n"
    )
    with ScriptedServer(AIRLINE_SCRIPT, stream_chunks=6) as server:
        env = environment(SHIM / "airline_data", airline, base_url=server.base_url)
        done = _run([sys.executable, "-c", driver], airline, env, stdin="My bag is lost\n")
    assert all(body.get("stream") is True for body in server.requests)
    assert "I have escalated your case to an agent." in done.stdout
    assert "Lost baggage traversal" in done.stdout
    assert _tool_results(server)["escalate_to_agent"] == "Escalating to agent: bag still missing"


SHOPPER_SCRIPT = [
    _call("transfer_to_refunds_agent"),
    _call("refund_item", user_id=1, item_id=101),
    _call("notify_customer", user_id=1, method="email"),
    ScriptedReply(content="Your refund is on its way."),
    _call("transfer_back_to_triage"),
    _call("transfer_to_sales_agent"),
    _call("order_item", user_id=2, product_id=7),
    ScriptedReply(content="Your hat is ordered."),
]


def test_personal_shopper_refunds_emails_and_orders_with_its_sqlite_database(
    tmp_path: Path,
) -> None:
    shop = copy_into(tmp_path / "personal_shopper", "examples", "personal_shopper")
    lines = "Refund item 101 for user 1 and email me\nNow order product 7 for user 2\n"
    with ScriptedServer(SHOPPER_SCRIPT) as server:
        env = environment(base_url=server.base_url)
        done = _run([sys.executable, "main.py"], shop, env, stdin=lines)
    out = done.stdout
    assert "transfer_to_sales_agent\ntransfer_to_refunds_agent" in out  # its own print loop
    # Each tool read the global sqlite3 connection made in the main thread at import.
    assert "Refunding $99.99 to user ID 1 for item ID 101." in out
    assert "Emailed customer alice@test.com a notification." in out
    assert "Ordering product Hat for user ID 2. The price is 19.99." in out
    assert "ProgrammingError" not in out + done.stderr
    assert "Your hat is ordered." in out
    with sqlite3.connect(shop / "application.db") as db:
        rows = db.execute("SELECT user_id, amount FROM PurchaseHistory ORDER BY id").fetchall()
    assert rows == [(1, 99.99), (2, 39.99), (3, 49.99), (2, 19.99)]  # the order was stored


def test_support_bot_runs_without_its_vector_database_except_the_search(tmp_path: Path) -> None:
    bot = copy_into(tmp_path / "support_bot", "examples", "support_bot")
    script = [
        _call("transfer_to_help_center"),
        ScriptedReply(
            tool_calls=[
                {"name": "submit_ticket", "arguments": {"description": "DALL-E is down"}},
                {"name": "send_email", "arguments": {"email_address": "a@b.c", "message": "hi"}},
            ]
        ),
        _call("query_docs", query="DALL-E outage"),
        ScriptedReply(content="Ticket filed and email sent."),
    ]
    with ScriptedServer(script) as server:
        env = environment(SHIM / "no_vector_db", base_url=server.base_url)
        done = _run([sys.executable, "main.py"], bot, env, stdin="DALL-E is down, email me\n")
    assert "Ticket filed and email sent." in done.stdout
    results = _tool_results(server)
    assert results["submit_ticket"] == '{"response": "Ticket created for DALL-E is down"}'
    assert results["send_email"] == '{"response": "Email sent to: a@b.c with message: hi"}'
    # query_docs needs embeddings and a Qdrant database: neither exists here, the model is told.
    assert "Searching knowledge base with query: DALL-E outage" in done.stdout
    assert results["query_docs"].startswith("Error: ")
