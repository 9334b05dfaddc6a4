"""The web UI end to end in a real browser: Debian's Chromium driven by Playwright, against the
real server (uvicorn on 127.0.0.1) on the airline example with a scripted model.

Screenshots are saved in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from swarmlet import Agent, Swarm
from swarmlet.examples import load
from swarmlet.models.base import ModelRequest
from swarmlet.server import ServerSettings, TokenAuth, create_app
from swarmlet.testing import Reply, reply, tool_call
from swarmlet.testing.server import ScriptedServer, conversation_responder
from tests.agent_server.airline_script import SEARCH_ANSWER, PacedModel, airline_model
from tests.agent_server.support import TOKEN, live_server, order_swarm
from tests.agent_server.test_approvals import refunds_agent

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    example = load("airline")
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})),
        context_variables=example.context_variables,
        db_url=f"sqlite:///{tmp_path / 'threads.db'}",
    )
    app = create_app(example.agent, swarm=Swarm(client=airline_model()), settings=settings)
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 820},
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.evaluate("localStorage.clear()") if not page.is_closed() else None
    page.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/#token={TOKEN}")
    expect(page.locator("#swarm-name")).to_have_text("Triage Agent")


def test_token_login_rejects_a_wrong_token(page: Page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-token", "not-the-token-0123456789")
    page.click("#login-form button")
    expect(page.locator("#login-error")).to_have_text("That token was not accepted.")
    page.fill("#login-token", TOKEN)
    page.click("#login-form button")
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("#connection")).to_have_text("connected")
    assert TOKEN not in page.url


def test_chat_streams_hands_off_and_survives_a_reload(page: Page, base_url: str) -> None:
    _log_in(page, base_url)
    graph = page.locator("#graph")
    expect(graph.locator('[data-agent="Triage Agent"]')).to_contain_class("active")
    page.fill("#input", "Hi, I lost my bag on the flight from Stockholm")
    page.keyboard.press("Enter")

    # Text streams in, labelled with the agent speaking after the handoff.
    streaming = page.locator(".msg.assistant.streaming")
    expect(streaming.first).to_be_visible()
    expect(streaming.first.locator(".who")).to_have_text("Lost Baggage Agent")
    answer = page.locator(".msg.assistant", has_text="delivered to the address on booking")
    expect(answer).to_be_visible()
    expect(page.locator(".msg.streaming")).to_have_count(0)
    assert SEARCH_ANSWER in answer.inner_text()

    # The handoff is on the graph: the edge taken, the new agent active; tool calls inline.
    edge = graph.locator('[data-edge="Triage Agent->Lost Baggage Agent"]')
    expect(edge).to_contain_class("taken")
    expect(graph.locator('[data-agent="Lost Baggage Agent"]')).to_contain_class("active")
    expect(page.locator(".handoff-note")).to_contain_text("to Lost Baggage Agent")
    tool = page.locator("details.tool", has_text="initiate_baggage_search")
    expect(tool).not_to_contain_class("running")
    tool.locator("summary").click()
    expect(tool.locator(".result")).to_contain_text("found at Lisbon (LIS)")

    # The timeline shows the run: model calls, tool calls, the handoff; once the run ended,
    # drawn from its OpenTelemetry spans (the run, each agent, durations, nesting).
    run = page.locator("#timeline .run").first
    expect(run.locator(".status")).to_contain_text("completed")
    expect(run).to_have_attribute("data-source", "trace")
    expect(run.locator(".status")).to_contain_text("trace")
    expect(run.locator(".span.workflow")).to_have_count(1)
    expect(run.locator(".span.workflow .name")).to_have_text("invoke_workflow Triage Agent")
    agents = run.locator('.span.agent[data-depth="1"] .name')
    expect(agents).to_have_text(["invoke_agent Triage Agent", "invoke_agent Lost Baggage Agent"])
    expect(run.locator('.span.model[data-depth="2"]')).to_have_count(3)
    expect(run.locator('.span.call[data-depth="2"]')).to_have_count(2)
    expect(run.locator(".span.handoff")).to_have_count(1)
    expect(run.locator(".span.call .dur").first).to_contain_text(" ms")
    _shot(page, "airline-chat")

    # Reload: the thread is still there, with its messages and the conversation's path.
    page.reload()
    expect(page.locator("#threads li")).to_have_count(1)
    expect(page.locator("#threads li .title")).to_have_text(
        "Hi, I lost my bag on the flight from Stockholm"
    )
    expect(page.locator(".msg.user")).to_have_text("Hi, I lost my bag on the flight from Stockholm")
    expect(page.locator(".msg.assistant", has_text="QX7R2M")).to_be_visible()
    expect(edge).to_contain_class("taken")
    expect(graph.locator('[data-agent="Lost Baggage Agent"]')).to_contain_class("active")
    expect(page.locator("#timeline .run .span.model")).to_have_count(3)  # replayed from the server
    _shot(page, "airline-reloaded")


def test_threads_new_open_delete(page: Page, base_url: str) -> None:
    _log_in(page, base_url)
    page.fill("#input", "first conversation")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant", has_text="How can I help")).to_be_visible()
    page.click("#new-thread")
    expect(page.locator("#threads li")).to_have_count(2)
    expect(page.locator(".msg")).to_have_count(0)
    page.fill("#input", "second conversation")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant")).to_have_count(1)
    page.locator("#threads li", has_text="first conversation").click()
    expect(page.locator(".msg.user")).to_have_text("first conversation")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#threads li", has_text="first conversation").locator("button.delete").click()
    expect(page.locator("#threads li")).to_have_count(1)
    expect(page.locator("#threads li .title")).to_have_text("second conversation")
    expect(page.locator(".msg")).to_have_count(0)


def test_model_failure_is_shown_clearly(page: Page, base_url: str) -> None:
    _log_in(page, base_url)
    page.fill("#input", "please explode")
    page.keyboard.press("Enter")
    error = page.locator(".msg.error")
    expect(error).to_contain_text("The model endpoint failed")
    expect(error).to_contain_text("refused the connection")
    expect(page.locator("#timeline .run .status")).to_contain_text("failed")
    expect(page.locator("#timeline .span.model")).to_contain_class("failed")
    expect(page.locator("#send")).to_be_enabled()
    _shot(page, "model-failure")


def _delegating_swarm() -> Agent:
    researcher = Agent(name="Researcher", instructions="Find facts.")
    writer = Agent(name="Writer", instructions="Write drafts.")
    return Agent(
        name="Lead",
        instructions="Delegate research and writing, then report.",
        functions=[researcher.as_tool(), writer.as_tool()],
    )


def _delegating_responder(request: ModelRequest) -> Reply:
    if request.agent_name == "Lead":
        if request.messages[-1]["role"] == "user":
            return reply(
                None,
                tool_call("researcher", {"task": "find facts"}),
                tool_call("writer", {"task": "write a draft"}),
            )
        return reply("Here is the report, built from the facts and the draft.")
    return reply(f"{request.agent_name} is done.", delay=1.5)


@pytest.fixture
def delegating_url(tmp_path: Path) -> Iterator[str]:
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})), db_url=f"sqlite:///{tmp_path / 'threads.db'}"
    )
    model = PacedModel(responder=_delegating_responder, chunk_size=6, pace=0.02)
    app = create_app(_delegating_swarm(), swarm=Swarm(client=model), settings=settings)
    with live_server(app) as url:
        yield url


def test_parallel_sub_runs_show_while_they_run(page: Page, delegating_url: str) -> None:
    page.goto(f"{delegating_url}/#token={TOKEN}")
    graph = page.locator("#graph")
    expect(graph.locator(".edge.agent_tool")).to_have_count(2)  # dashed: agents used as tools
    page.fill("#input", "Report please")
    page.keyboard.press("Enter")
    # Both sub-runs are visible on the graph at the same time, while they run.
    expect(graph.locator('[data-agent="Researcher"]')).to_contain_class("running")
    expect(graph.locator('[data-agent="Writer"]')).to_contain_class("running")
    _shot(page, "sub-runs-running")
    expect(page.locator(".msg.assistant", has_text="Here is the report")).to_be_visible()
    expect(graph.locator(".node.running")).to_have_count(0)
    expect(graph.locator('[data-edge="Lead->Researcher"]')).to_contain_class("taken")
    # Their text is in the chat (indented as sub-runs) and nested in the timeline.
    expect(page.locator(".msg.assistant.sub", has_text="Researcher is done.")).to_be_visible()
    # Once the run ended, from its spans: each sub-run's agent and model call under the
    # execute_tool span of the call that ran it (run 0, agent 1, tool 2, agent 3, chat 4).
    expect(page.locator("#timeline div.run")).to_have_attribute("data-source", "trace")
    nested = page.locator('#timeline .span.agent[data-depth="3"] .name')
    expect(nested).to_have_text(["invoke_agent Researcher", "invoke_agent Writer"])
    expect(page.locator('#timeline .span.model[data-depth="4"]')).to_have_count(2)
    _shot(page, "sub-runs-done")


@pytest.fixture
def approvals_url(tmp_path: Path) -> Iterator[str]:
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})), db_url=f"sqlite:///{tmp_path / 'threads.db'}"
    )

    def respond(request: ModelRequest) -> Reply:
        if request.messages[-1]["role"] == "user":
            return reply("Let me refund that.", tool_call("refund", {"amount": 40}))
        return reply("Done: 40 EUR are on their way back to you.")

    model = PacedModel(responder=respond, chunk_size=6, pace=0.02)
    app = create_app(refunds_agent(), swarm=Swarm(client=model), settings=settings)
    with live_server(app) as url:
        yield url


def test_approving_a_tool_call_resumes_live(page: Page, approvals_url: str) -> None:
    page.goto(f"{approvals_url}/#token={TOKEN}")
    page.fill("#input", "Please refund my 40 EUR")
    page.keyboard.press("Enter")
    approval = page.locator("#approvals .approval")
    expect(approval).to_contain_text("Refunds wants to call refund")
    expect(approval.locator("pre")).to_contain_text('"amount": 40')
    expect(page.locator(".approval-note").first).to_contain_text("waiting for your approval")
    _shot(page, "approval-pending")
    approval.locator("button.approve").click()
    expect(page.locator(".msg.assistant", has_text="on their way back")).to_be_visible()
    expect(page.locator("#approvals .approval")).to_have_count(0)
    expect(page.locator("details.tool", has_text="refund").locator(".result").last).to_contain_text(
        "refunded 40 EUR"
    )
    page.reload()
    expect(page.locator(".msg.assistant", has_text="on their way back")).to_be_visible()
    expect(page.locator("#approvals .approval")).to_have_count(0)
    _shot(page, "approval-done")


def test_an_unreachable_server_is_reported(page: Page, tmp_path: Path) -> None:
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})), db_url=f"sqlite:///{tmp_path / 'threads.db'}"
    )
    app = create_app(refunds_agent(), swarm=Swarm(client=PacedModel()), settings=settings)
    with live_server(app) as url:
        page.goto(f"{url}/#token={TOKEN}")
        expect(page.locator("#connection")).to_have_text("connected")
    # The server is gone: the page says so (it checks every 5 s).
    expect(page.locator("#banner")).to_contain_text(
        "Cannot reach the swarmlet server", timeout=15_000
    )
    expect(page.locator("#connection")).to_have_text("server unreachable")
    page.fill("#input", "anyone there?")
    page.keyboard.press("Enter")
    expect(page.locator("#banner")).to_contain_text("Cannot reach the swarmlet server")
    expect(page.locator("#input")).to_have_value("anyone there?")  # nothing typed is lost
    _shot(page, "server-unreachable")


def test_timeline_shows_token_usage(page: Page, server: ScriptedServer, tmp_path: Path) -> None:
    """Through a real (scripted) HTTP endpoint that reports usage for each call."""
    server.responder = conversation_responder
    triage, _ = order_swarm()
    upstream = openai.AsyncOpenAI(base_url=server.base_url, api_key="x")
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})), db_url=f"sqlite:///{tmp_path / 'threads.db'}"
    )
    with live_server(create_app(triage, swarm=Swarm(client=upstream), settings=settings)) as url:
        page.goto(f"{url}/#token={TOKEN}")
        page.fill("#input", "Where is my order A1?")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.assistant", has_text="has shipped")).to_be_visible()
        expect(page.locator("#usage")).to_have_text(
            re.compile(r"^tokens [1-9]\d* in · [1-9]\d* out$")
        )
        _shot(page, "usage")


def test_a_reload_mid_run_reattaches(page: Page, tmp_path: Path) -> None:
    """The page goes away mid-run; the run goes on, and the reloaded page follows it live."""
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})), db_url=f"sqlite:///{tmp_path / 'threads.db'}"
    )
    slow = PacedModel(responder=lambda _: reply("one two three four five six " * 8), pace=0.15)
    app = create_app(Agent(name="Talker"), swarm=Swarm(client=slow), settings=settings)
    with live_server(app) as url:
        page.goto(f"{url}/#token={TOKEN}")
        page.fill("#input", "talk to me")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.assistant.streaming")).to_be_visible()
        page.reload()  # the stream is cut; the run is not
        expect(page.locator("#timeline .run-title")).to_contain_text("re-attached run")
        expect(page.locator("#stop")).to_be_visible()
        expect(page.locator("#timeline .run .status").last).to_contain_text(
            "completed", timeout=30_000
        )
        thread = page.evaluate("location.hash")
        page.reload()
        assert page.evaluate("location.hash") == thread
        answer = page.locator(".msg.assistant")
        expect(answer).to_have_count(1)
        assert answer.inner_text().count("one two three") == 8
