"""Tracing: the spans of runs, checked with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator

import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import swarmlet.tracing
from swarmlet import Agent, Response, Swarm, tool
from swarmlet.events import RunCompleted, ToolCallStarted
from swarmlet.exceptions import InputGuardrailTripped, ModelError
from swarmlet.guardrails import GuardrailInput, GuardrailResult, ToolCallInput
from swarmlet.loop import RunSpec, run_events
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.models.openai_compat import OpenAIChatModel
from swarmlet.running import current_call
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.testing.server import ScriptedReply, ScriptedServer
from swarmlet.tracing.targets import describe_model
from tests.tracing_support import USER, agents, every_value, named, one, parent_of, tree


class Traces:
    """Finished spans of the test, and the provider they came from."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()


@pytest.fixture
def traces() -> Iterator[Traces]:
    """Tracing on (no content capture) into an in-memory exporter, off again afterwards."""
    found = Traces()
    swarmlet.tracing.enable(found.provider, capture_content=False)
    yield found
    swarmlet.tracing.disable()


def conversation() -> ScriptedModel:
    """Hand off, then two parallel lookups, then the answer: three model calls."""
    return ScriptedModel(
        [
            tool_call("transfer_to_sales", id="call_handoff"),
            [
                tool_call("lookup_order", {"order_id": "A1"}, id="call_a1"),
                tool_call("lookup_order", {"order_id": "B2"}, id="call_b2"),
            ],
            "Both orders have shipped.",
        ]
    )


def test_handoff_and_parallel_tools_make_the_documented_tree(traces: Traces) -> None:
    triage, _ = agents()
    response = Swarm(client=conversation()).run(triage, USER)
    assert response.messages[-1]["content"] == "Both orders have shipped."
    assert tree(traces.spans) == [
        ("invoke_workflow Triage", None),
        ("invoke_agent Triage", "invoke_workflow Triage"),
        ("chat gpt-4o", "invoke_agent Triage"),
        ("execute_tool transfer_to_sales", "invoke_agent Triage"),
        ("invoke_agent Sales", "invoke_workflow Triage"),
        ("chat gpt-4o", "invoke_agent Sales"),
        ("execute_tool lookup_order", "invoke_agent Sales"),
        ("execute_tool lookup_order", "invoke_agent Sales"),
        ("chat gpt-4o", "invoke_agent Sales"),
    ]
    assert {span.kind for span in traces.spans} == {SpanKind.INTERNAL}  # in-process model
    assert len({span.context.trace_id for span in traces.spans}) == 1


def test_spans_carry_the_genai_attributes(traces: Traces) -> None:
    triage, _ = agents()
    triage.model_settings = {"temperature": 0.2, "max_tokens": 50}
    Swarm(client=conversation()).run(triage, USER, model_override="my-model")
    root = one(traces.spans, "invoke_workflow Triage")
    assert root.attributes == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "Triage",
        "swarmlet.run.turns": 3,
    }
    agent = one(traces.spans, "invoke_agent Triage")
    assert agent.attributes == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "Triage",
        "gen_ai.provider.name": "swarmlet.scripted",
        "gen_ai.request.model": "my-model",
    }
    chat = named(traces.spans, "chat my-model")[0]
    assert chat.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "swarmlet.scripted",
        "gen_ai.request.model": "my-model",
        "gen_ai.request.stream": False,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.response.finish_reasons": ("tool_calls",),
    }
    answer = named(traces.spans, "chat my-model")[-1]
    assert answer.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    lookups = named(traces.spans, "execute_tool lookup_order")
    assert sorted(str(s.attributes["gen_ai.tool.call.id"]) for s in lookups) == [
        "call_a1",
        "call_b2",
    ]
    assert dict(lookups[0].attributes or {}).keys() == {
        "gen_ai.operation.name",
        "gen_ai.tool.name",
        "gen_ai.tool.call.id",
        "gen_ai.tool.type",
    }
    assert all(s.status.status_code is StatusCode.UNSET for s in traces.spans)


def test_a_handoff_is_an_event_on_the_old_agent_and_a_link_from_the_new(traces: Traces) -> None:
    triage, _ = agents()
    Swarm(client=conversation()).run(triage, USER)
    old, new = one(traces.spans, "invoke_agent Triage"), one(traces.spans, "invoke_agent Sales")
    [event] = old.events
    assert event.name == "swarmlet.handoff"
    assert dict(event.attributes or {}) == {
        "swarmlet.handoff.from_agent": "Triage",
        "swarmlet.handoff.to_agent": "Sales",
    }
    [link] = new.links
    assert link.context.span_id == old.context.span_id
    assert dict(link.attributes or {}) == {"swarmlet.link.type": "handoff"}
    assert old.end_time is not None and new.start_time is not None
    assert old.end_time <= new.start_time  # one agent's stretch ends where the next begins


def test_streamed_runs_make_the_same_spans(traces: Traces) -> None:
    triage, _ = agents()

    async def main() -> None:
        async for _ in Swarm(client=conversation()).stream(triage, USER):
            pass

    asyncio.run(main())
    assert [name for name, _ in tree(traces.spans)].count("chat gpt-4o") == 3
    chats = named(traces.spans, "chat gpt-4o")
    assert all(span.attributes["gen_ai.request.stream"] is True for span in chats)


def test_no_contents_are_recorded_unless_asked(traces: Traces) -> None:
    triage, _ = agents()
    Swarm(client=conversation()).run(triage, USER)
    recorded = json.dumps([str(v) for v in every_value(traces.spans)])
    for private in ("A1", "B2", "shipped", "Both orders", "Where are orders"):
        assert private not in recorded


def test_contents_are_recorded_when_opted_in(traces: Traces) -> None:
    swarmlet.tracing.enable(traces.provider, capture_content=True)
    triage, _ = agents()
    Swarm(client=conversation()).run(triage, USER)
    lookups = named(traces.spans, "execute_tool lookup_order")
    lookup = next(s for s in lookups if s.attributes["gen_ai.tool.call.id"] == "call_a1")
    assert json.loads(str(lookup.attributes["gen_ai.tool.call.arguments"])) == {"order_id": "A1"}
    assert json.loads(str(lookup.attributes["gen_ai.tool.call.result"]))["status"] == "shipped"
    answer = named(traces.spans, "chat gpt-4o")[-1]
    [message] = json.loads(str(answer.attributes["gen_ai.output.messages"]))
    assert message == {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Both orders have shipped."}],
        "finish_reason": "stop",
    }
    system = json.loads(str(answer.attributes["gen_ai.system_instructions"]))
    assert system == [{"type": "text", "content": "Answer about orders."}]
    asked = json.loads(str(answer.attributes["gen_ai.input.messages"]))
    assert [m["role"] for m in asked] == ["user", "assistant", "tool", "assistant", "tool", "tool"]
    assert asked[0]["parts"] == [{"type": "text", "content": USER[0]["content"]}]
    assert asked[3]["parts"][0] == {
        "type": "tool_call",
        "id": "call_a1",
        "name": "lookup_order",
        "arguments": {"order_id": "A1"},
    }
    assert asked[4]["parts"][0]["type"] == "tool_call_response"
    assert asked[4]["parts"][0]["id"] == "call_a1"


def test_capture_content_follows_the_standard_variable(
    traces: Traces, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    swarmlet.tracing.enable(traces.provider)
    triage, _ = agents()
    Swarm(client=conversation()).run(triage, USER)
    assert (
        "gen_ai.tool.call.arguments"
        in one(traces.spans, "execute_tool transfer_to_sales").attributes
    )


def test_a_failing_model_call_marks_chat_agent_and_run_failed(traces: Traces) -> None:
    triage, _ = agents()
    model = ScriptedModel([tool_call("transfer_to_sales"), ModelError("upstream said no")])
    with pytest.raises(ModelError, match="upstream said no"):
        Swarm(client=model).run(triage, USER)
    chat = named(traces.spans, "chat gpt-4o")[-1]
    failed = [
        chat,
        one(traces.spans, "invoke_agent Sales"),
        one(traces.spans, "invoke_workflow Triage"),
    ]
    for span in failed:
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "ModelError"
        assert "upstream said no" in str(span.status.description)
    ok = [one(traces.spans, "invoke_agent Triage"), named(traces.spans, "chat gpt-4o")[0]]
    assert all(span.status.status_code is StatusCode.UNSET for span in ok)


def test_a_raising_tool_marks_its_span_and_the_run_goes_on(traces: Traces) -> None:
    def explode(order_id: str) -> str:
        """Always fails."""
        raise ValueError(f"no order {order_id}")

    agent = Agent(name="Sales", functions=[explode])
    model = ScriptedModel([tool_call("explode", {"order_id": "Z9"}), "Sorry."])
    response = Swarm(client=model).run(agent, USER)
    assert response.messages[-1]["content"] == "Sorry."
    span = one(traces.spans, "execute_tool explode")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValueError"
    assert one(traces.spans, "invoke_workflow Sales").status.status_code is StatusCode.UNSET


def test_closing_the_stream_early_is_recorded_as_an_interruption(traces: Traces) -> None:
    triage, _ = agents()

    async def main() -> None:
        events = Swarm(client=conversation()).stream(triage, USER)
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, ToolCallStarted) and event.name == "lookup_order":
                    break  # one lookup's span is open, the other's not started

    asyncio.run(main())
    root = one(traces.spans, "invoke_workflow Triage")
    assert [event.name for event in root.events] == ["swarmlet.run.interrupted"]
    assert root.events[0].attributes == {
        "swarmlet.run.interrupted.reason": "the consumer closed the event stream"
    }
    assert all(span.end_time is not None for span in traces.spans)
    assert len(named(traces.spans, "execute_tool lookup_order")) == 1  # ended, not leaked


def test_code_inside_a_tool_nests_under_its_execute_tool_span(traces: Traces) -> None:
    tracer = traces.provider.get_tracer("user-code")

    def check_stock(item: str) -> str:
        """A sync tool (it runs in a worker thread) that makes its own span."""
        with tracer.start_as_current_span("warehouse query"):
            return "in stock"

    agent = Agent(name="Shop", functions=[check_stock])
    Swarm(client=ScriptedModel([tool_call("check_stock", {"item": "x"}), "Yes."])).run(agent, USER)
    inner = one(traces.spans, "warehouse query")
    assert parent_of(traces.spans, inner) is one(traces.spans, "execute_tool check_stock")


def test_a_run_inside_a_tool_nests_under_that_tool(traces: Traces) -> None:
    helper = Agent(name="Helper")
    inner_model = ScriptedModel(["42"])

    async def ask_helper(question: str) -> str:
        """Ask the helper agent (a nested run, started by hand)."""
        response = await Swarm(client=inner_model).run_async(helper, [USER[0]])
        return str(response.messages[-1]["content"])

    agent = Agent(name="Boss", functions=[ask_helper])
    outer = ScriptedModel([tool_call("ask_helper", {"question": "?"}), "It is 42."])
    Swarm(client=outer).run(agent, USER)
    nested = one(traces.spans, "invoke_workflow Helper")
    assert parent_of(traces.spans, nested) is one(traces.spans, "execute_tool ask_helper")
    assert len({span.context.trace_id for span in traces.spans}) == 1


def test_the_consumer_does_not_see_swarmlet_spans_as_current(traces: Traces) -> None:
    triage, _ = agents()
    seen: list[bool] = []

    async def main() -> None:
        async for _ in Swarm(client=conversation()).stream(triage, USER):
            seen.append(trace.get_current_span().get_span_context().is_valid)

    asyncio.run(main())
    assert seen and not any(seen)


def test_a_run_nests_under_the_callers_current_span(traces: Traces) -> None:
    triage, _ = agents()
    tracer = traces.provider.get_tracer("app")
    with tracer.start_as_current_span("handle request"):
        Swarm(client=conversation()).run(triage, USER)
    root = one(traces.spans, "invoke_workflow Triage")
    assert parent_of(traces.spans, root) is one(traces.spans, "handle request")


def test_http_providers_make_client_spans_with_the_server_address(
    traces: Traces, server: ScriptedServer
) -> None:
    server.add("Hello from HTTP.", "Hello again.")
    agent = Agent(name="Web", model="scripted")
    fast = FastHTTPModel(base_url=server.base_url, api_key="sk-unused")
    sdk = OpenAIChatModel(openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-unused"))
    for provider in (fast, sdk):
        assert Swarm(client=provider).run(agent, USER).messages[-1]["content"].startswith("Hello")
    chats = named(traces.spans, "chat scripted")
    assert len(chats) == 2
    for chat in chats:
        assert chat.kind is SpanKind.CLIENT
        assert chat.attributes["gen_ai.provider.name"] == "openai"
        assert chat.attributes["server.address"] == "127.0.0.1"
        assert chat.attributes["server.port"] == server.port


def test_an_api_key_never_reaches_a_span(traces: Traces, server: ScriptedServer) -> None:
    secret = "sk-test-DO-NOT-LEAK-0123456789abcdef"
    swarmlet.tracing.enable(traces.provider, capture_content=True)  # the most that is recorded
    echo = {"error": {"message": f"Incorrect API key provided: {secret}", "type": "x"}}
    server.add(ScriptedReply(fault="raw", status=401, content=json.dumps(echo)))
    agent = Agent(name="Web", model="scripted")
    model = FastHTTPModel(base_url=server.base_url, api_key=secret, max_retries=0)
    with pytest.raises(ModelError, match="Incorrect API key"):
        Swarm(client=model).run(agent, USER)
    assert traces.spans and one(traces.spans, "chat scripted").attributes["error.type"]
    assert all(secret not in str(value) for value in every_value(traces.spans))
    assert any("[REDACTED]" in str(value) for value in every_value(traces.spans))


def test_the_server_address_never_carries_url_credentials() -> None:
    model = FastHTTPModel(base_url="https://user:sk-secret-0123456789@api.example.com/v1?key=x")
    target = describe_model(model)
    assert (target.provider, target.address, target.port) == ("openai", "api.example.com", 443)
    assert describe_model(FastHTTPModel(base_url="http://[::1]:99999/v1")).address is None


def test_tracing_never_breaks_a_run(traces: Traces, monkeypatch: pytest.MonkeyPatch) -> None:
    from swarmlet.tracing.spans import RunSpans

    def broken(self: RunSpans, event: object) -> None:
        raise RuntimeError("bug in tracing")

    monkeypatch.setattr(RunSpans, "on_event", broken)
    triage, _ = agents()
    response = Swarm(client=conversation()).run(triage, USER)
    assert response.messages[-1]["content"] == "Both orders have shipped."


def test_disable_stops_tracing_new_runs(traces: Traces) -> None:
    swarmlet.tracing.disable()
    triage, _ = agents()
    Swarm(client=conversation()).run(triage, USER)
    assert traces.spans == ()


def test_off_means_the_run_is_not_wrapped() -> None:
    swarmlet.tracing.disable()
    triage, _ = agents()
    events = run_events(RunSpec(agent=triage, messages=USER), lambda agent: conversation())
    spec = RunSpec(agent=triage, messages=USER)
    assert swarmlet.tracing.observe(events, spec, lambda agent: conversation()) is events
    asyncio.run(events.aclose())


def test_a_run_event_stream_still_ends_with_run_completed(traces: Traces) -> None:
    triage, _ = agents()

    async def main() -> list[object]:
        return [event async for event in Swarm(client=conversation()).stream(triage, USER)]

    events = asyncio.run(main())
    assert isinstance(events[-1], RunCompleted)


def test_the_timeline_collector_turns_a_runs_spans_into_records(traces: Traces) -> None:
    from swarmlet.tracing.timeline import TimelineCollector

    live: list[dict[str, object]] = []
    collector = TimelineCollector(on_record=live.append)
    traces.provider.add_span_processor(collector)
    tracer = traces.provider.get_tracer("server")
    triage, _ = agents()
    with tracer.start_as_current_span("server run") as request:
        Swarm(client=conversation()).run(triage, USER)
    records = collector.records(request.get_span_context().trace_id)
    assert [(r["kind"], r["name"]) for r in records] == [
        ("other", "server run"),
        ("run", "invoke_workflow Triage"),
        ("agent", "invoke_agent Triage"),
        ("model", "chat gpt-4o"),
        ("tool", "execute_tool transfer_to_sales"),
        ("agent", "invoke_agent Sales"),
        ("model", "chat gpt-4o"),
        ("tool", "execute_tool lookup_order"),
        ("tool", "execute_tool lookup_order"),
        ("model", "chat gpt-4o"),
    ]
    by_id = {r["span_id"]: r for r in records}
    sales = next(r for r in records if r["name"] == "invoke_agent Sales")
    assert by_id[sales["parent_id"]]["name"] == "invoke_workflow Triage"
    assert sales["attributes"] == {
        "gen_ai.agent.name": "Sales",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.provider.name": "swarmlet.scripted",
    }
    triage_record = next(r for r in records if r["name"] == "invoke_agent Triage")
    assert [e["name"] for e in triage_record["events"]] == ["swarmlet.handoff"]
    assert all(r["duration"] >= 0 and r["error"] is False for r in records)
    assert len(live) == len(records)
    json.dumps(records)  # JSON-ready as they are


def test_code_in_parallel_tools_nests_under_each_calls_own_span(traces: Traces) -> None:
    tracer = traces.provider.get_tracer("user-code")

    async def fetch(order_id: str) -> str:
        """A coroutine tool that makes its own span."""
        with tracer.start_as_current_span(f"fetch {order_id}"):
            await asyncio.sleep(0.01)  # both calls are in flight at once
        return "ok"

    def audit(order_id: str) -> str:
        """A sync tool (a worker thread) that makes its own span."""
        with tracer.start_as_current_span(f"audit {order_id}"):
            return "ok"

    agent = Agent(name="Shop", functions=[fetch, audit])
    calls = [
        tool_call("fetch", {"order_id": "A1"}, id="call_fa"),
        tool_call("fetch", {"order_id": "B2"}, id="call_fb"),
        tool_call("audit", {"order_id": "C3"}, id="call_ac"),
    ]
    Swarm(client=ScriptedModel([calls, "Done."])).run(agent, USER)
    expected = {"fetch A1": "call_fa", "fetch B2": "call_fb", "audit C3": "call_ac"}
    for name, call_id in expected.items():
        parent = parent_of(traces.spans, one(traces.spans, name))
        assert parent is not None and parent.attributes["gen_ai.tool.call.id"] == call_id


def expert_tool(expert: Agent, model: ScriptedModel) -> Callable[[str], Awaitable[str]]:
    """A hand-made agent-tool: runs ``expert`` and streams its events into the caller's run."""

    async def ask_expert(question: str) -> str:
        """Ask the expert."""
        running = current_call()
        assert running is not None
        spec = RunSpec(agent=expert, messages=[{"role": "user", "content": question}])
        answer = ""
        async for event in run_events(spec, lambda agent: model):
            running.emit(event)
            if isinstance(event, RunCompleted):
                answer = str(event.response.messages[-1]["content"])
        return answer

    return ask_expert


def test_agent_tool_sub_runs_nest_under_their_tool_span(traces: Traces) -> None:
    tracer = traces.provider.get_tracer("user-code")

    def lookup(order_id: str) -> str:
        """The expert's own tool, with a span of its own."""
        with tracer.start_as_current_span(f"db {order_id}"):
            return "shipped"

    expert = Agent(name="Expert", functions=[lookup])
    expert_model = ScriptedModel(
        [
            tool_call("lookup", {"order_id": "A1"}, id="sub_a"),
            tool_call("lookup", {"order_id": "B2"}, id="sub_b"),
            "A1 shipped.",
            "B2 shipped.",
        ]
    )
    boss = Agent(name="Boss", functions=[expert_tool(expert, expert_model)])
    calls = [
        tool_call("ask_expert", {"question": "A1?"}, id="call_x"),
        tool_call("ask_expert", {"question": "B2?"}, id="call_y"),
    ]
    response = Swarm(client=ScriptedModel([calls, "Both shipped."])).run(boss, USER)
    assert response.messages[-1]["content"] == "Both shipped."
    spans = traces.spans
    for call_id in ("call_x", "call_y"):
        tool = next(s for s in spans if s.attributes.get("gen_ai.tool.call.id") == call_id)
        [sub_agent] = [s for s in spans if parent_of(spans, s) is tool]
        assert sub_agent.name == "invoke_agent Expert"
        below = sorted(
            (s for s in spans if parent_of(spans, s) is sub_agent), key=lambda s: s.start_time or 0
        )
        assert [s.name for s in below] == ["chat gpt-4o", "execute_tool lookup", "chat gpt-4o"]
        db = [s for s in spans if s.name.startswith("db ") and parent_of(spans, s) is below[1]]
        assert len(db) == 1  # the expert's tool code nests under the expert's tool span
    assert len(named(spans, "invoke_workflow Boss")) == 1
    assert len({span.context.trace_id for span in spans}) == 1
    assert all(span.end_time is not None for span in spans)


def test_a_failing_sub_run_ends_its_spans_failed(traces: Traces) -> None:
    expert = Agent(name="Expert")
    expert_model = ScriptedModel([ModelError("expert unavailable")])
    boss = Agent(name="Boss", functions=[expert_tool(expert, expert_model)])
    model = ScriptedModel([tool_call("ask_expert", {"question": "?"}), "Could not ask."])
    response = Swarm(client=model).run(boss, USER)
    assert response.messages[-1]["content"] == "Could not ask."
    tool = one(traces.spans, "execute_tool ask_expert")
    sub_agent = one(traces.spans, "invoke_agent Expert")
    assert parent_of(traces.spans, sub_agent) is tool
    assert tool.status.status_code is StatusCode.ERROR
    assert sub_agent.status.status_code is StatusCode.ERROR
    assert "expert unavailable" in str(sub_agent.status.description)
    assert sub_agent.attributes["error.type"] == tool.attributes["error.type"] == "ModelError"
    assert one(traces.spans, "invoke_workflow Boss").status.status_code is StatusCode.UNSET


def test_an_instrumented_http_client_nests_under_the_chat_span(
    traces: Traces, server: ScriptedServer
) -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=traces.provider)
    try:
        server.add("Hello over instrumented HTTP.")
        model = FastHTTPModel(base_url=server.base_url, api_key="sk-unused")
        Swarm(client=model).run(Agent(name="Web", model="scripted"), USER)
    finally:
        instrumentor.uninstrument()
    chat = one(traces.spans, "chat scripted")
    [http] = [s for s in traces.spans if parent_of(traces.spans, s) is chat]
    assert http.kind is SpanKind.CLIENT and http.name.startswith("POST")
    # The W3C traceparent the server received names this trace and the HTTP span.
    traceparent = server.request_headers[0]["traceparent"]
    assert traceparent.split("-")[1:3] == [
        f"{chat.context.trace_id:032x}",
        f"{http.context.span_id:016x}",
    ]


def test_an_input_guardrail_trip_is_recorded_and_fails_the_run(traces: Traces) -> None:
    def no_digits(data: GuardrailInput) -> GuardrailResult:
        return GuardrailResult(tripped=any(c.isdigit() for c in data.text), info="digits")

    agent = Agent(name="Front", input_guardrails=[no_digits])
    with pytest.raises(InputGuardrailTripped):
        Swarm(client=ScriptedModel(["never asked"])).run(agent, USER)
    assert named(traces.spans, "chat gpt-4o") == []  # no model call was made
    span = one(traces.spans, "invoke_agent Front")
    [event] = span.events
    assert event.name == "swarmlet.guardrail"
    assert dict(event.attributes or {}) == {
        "swarmlet.guardrail.kind": "input",
        "swarmlet.guardrail.name": "no_digits",
        "swarmlet.guardrail.tripped": True,
        "swarmlet.guardrail.replaced": False,
    }
    for failed in (span, one(traces.spans, "invoke_workflow Front")):
        assert failed.status.status_code is StatusCode.ERROR
        assert failed.attributes["error.type"] == "InputGuardrailTripped"


def test_a_tool_guardrail_verdict_is_an_event_on_the_tool_span(traces: Traces) -> None:
    def limit(call: ToolCallInput) -> GuardrailResult:
        if call.arguments.get("amount", 0) > 100:
            return GuardrailResult.replace("Refused: needs a manager.")
        return GuardrailResult(tripped=False)

    @tool(before=limit)
    def refund(amount: int) -> str:
        """Refund an amount."""
        return "refunded"

    agent = Agent(name="Billing", functions=[refund])
    model = ScriptedModel([tool_call("refund", {"amount": 500}), "A manager must approve."])
    Swarm(client=model).run(agent, USER)
    [event] = one(traces.spans, "execute_tool refund").events
    assert event.attributes is not None
    assert event.attributes["swarmlet.guardrail.kind"] == "tool_before"
    assert event.attributes["swarmlet.guardrail.replaced"] is True
    assert event.attributes["swarmlet.guardrail.tripped"] is False


def test_agent_as_tool_sub_runs_nest_under_their_tool_spans(traces: Traces) -> None:
    tracer = traces.provider.get_tracer("user-code")

    def query(table: str) -> str:
        """Query a table (makes a span of its own)."""
        with tracer.start_as_current_span(f"sql {table}"):
            return "42 rows"

    prices = Agent(
        name="Prices",
        functions=[query],
        model=ScriptedModel([tool_call("query", {"table": "prices"}), "Prices rose."]),
    )
    volumes = Agent(
        name="Volumes",
        functions=[query],
        model=ScriptedModel([tool_call("query", {"table": "volumes"}), "Volumes flat."]),
    )
    coordinator = Agent(name="Coordinator", functions=[prices.as_tool(), volumes.as_tool()])
    triage = Agent(name="Triage")

    def transfer_to_coordinator() -> Agent:
        """Hand over to the coordinator."""
        return coordinator

    triage.functions = [transfer_to_coordinator]
    model = ScriptedModel(
        [
            tool_call("transfer_to_coordinator"),
            [
                tool_call("prices", {"task": "prices?"}, id="call_prices"),
                tool_call("volumes", {"task": "volumes?"}, id="call_volumes"),
            ],
            "Prices rose on flat volumes.",
        ]
    )
    response = Swarm(client=model).run(triage, USER)
    assert response.messages[-1]["content"] == "Prices rose on flat volumes."
    spans = traces.spans
    coordinator_span = one(spans, "invoke_agent Coordinator")
    for tool_name, agent_name in (("prices", "Prices"), ("volumes", "Volumes")):
        tool = one(spans, f"execute_tool {tool_name}")
        assert parent_of(spans, tool) is coordinator_span
        sub_agent = one(spans, f"invoke_agent {agent_name}")
        assert parent_of(spans, sub_agent) is tool
        children = sorted(
            (s for s in spans if parent_of(spans, s) is sub_agent), key=lambda s: s.start_time or 0
        )
        # The specialists' model is an instance with no model name: the span is just "chat".
        assert [s.name for s in children] == ["chat", "execute_tool query", "chat"]
        sql = one(spans, f"sql {tool_name}")
        assert parent_of(spans, sql) is children[1]  # the sub-run's tool code, under its call
    assert len(named(spans, "invoke_workflow Triage")) == 1
    assert named(spans, "invoke_workflow Prices") == []  # a sub-run is not a second trace
    assert len({span.context.trace_id for span in spans}) == 1


def test_a_failing_agent_tool_ends_its_sub_run_spans_failed(traces: Traces) -> None:
    expert = Agent(name="Expert", model=ScriptedModel([ModelError("expert unavailable")]))
    boss = Agent(name="Boss", functions=[expert.as_tool()])
    model = ScriptedModel([tool_call("expert", {"task": "?"}), "Could not ask."])
    response = Swarm(client=model).run(boss, USER)
    assert response.messages[-1]["content"] == "Could not ask."
    sub_agent = one(traces.spans, "invoke_agent Expert")
    assert parent_of(traces.spans, sub_agent) is one(traces.spans, "execute_tool expert")
    assert sub_agent.status.status_code is StatusCode.ERROR
    assert sub_agent.attributes["error.type"] == "ModelError"
    chat = one(traces.spans, "chat")  # the sub-run's call (its model instance has no name)
    assert parent_of(traces.spans, chat) is sub_agent
    assert chat.status.status_code is StatusCode.ERROR


def test_a_run_paused_for_approval_and_its_resumption_are_recorded(traces: Traces) -> None:
    @tool(needs_approval=True)
    def transfer(amount: int) -> str:
        """Move money."""
        return "moved"

    bank = Agent(name="Bank", functions=[transfer])
    model = ScriptedModel(
        [
            [
                tool_call("transfer", {"amount": 5}, id="call_small"),
                tool_call("transfer", {"amount": 500}, id="call_big"),
            ],
            "One moved, one declined.",
        ]
    )
    client = Swarm(client=model)
    paused = client.run(bank, USER)
    assert [i.call_id for i in paused.interruptions] == ["call_small", "call_big"]
    root = one(traces.spans, "invoke_workflow Bank")
    [event] = root.events
    assert event.name == "swarmlet.run.interrupted"
    assert dict(event.attributes or {}) == {
        "swarmlet.run.interrupted.reason": "awaiting approval",
        "swarmlet.run.interrupted.call_ids": ("call_small", "call_big"),
    }
    requested = [e for e in one(traces.spans, "invoke_agent Bank").events]
    assert [(e.name, (e.attributes or {})["gen_ai.tool.call.id"]) for e in requested] == [
        ("swarmlet.approval.requested", "call_small"),
        ("swarmlet.approval.requested", "call_big"),
    ]
    assert named(traces.spans, "execute_tool transfer") == []  # nothing ran yet

    traces.exporter.clear()
    paused.state.approve("call_small")
    paused.state.reject("call_big")
    resumed = client.resume(paused.state)
    assert resumed.messages[-1]["content"] == "One moved, one declined."
    root = one(traces.spans, "invoke_workflow Bank")
    assert root.attributes["swarmlet.run.resumed"] is True
    assert root.events == ()  # it ended with an answer
    ran = one(traces.spans, "execute_tool transfer")
    assert ran.attributes["gen_ai.tool.call.id"] == "call_small"
    agent_events = one(traces.spans, "invoke_agent Bank").events
    assert [(e.name, (e.attributes or {})["gen_ai.tool.call.id"]) for e in agent_events] == [
        ("swarmlet.approval.rejected", "call_big")
    ]


def test_an_approval_inside_an_agent_tool_is_recorded_on_its_sub_run(traces: Traces) -> None:
    @tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund money."""
        return "refunded"

    clerk = Agent(
        name="Clerk",
        functions=[refund],
        model=ScriptedModel([tool_call("refund", {"amount": 9}, id="call_inner"), "Refunded."]),
    )
    boss = Agent(name="Boss", functions=[clerk.as_tool()])
    model = ScriptedModel([tool_call("clerk", {"task": "refund 9"}, id="call_outer"), "Done."])
    client = Swarm(client=model)
    paused = client.run(boss, USER)
    assert [(i.call_id, i.path) for i in paused.interruptions] == [("call_inner", ("call_outer",))]
    clerk_span = one(traces.spans, "invoke_agent Clerk")
    assert parent_of(traces.spans, clerk_span) is one(traces.spans, "execute_tool clerk")
    assert [e.name for e in clerk_span.events] == ["swarmlet.approval.requested"]
    root = one(traces.spans, "invoke_workflow Boss")
    assert [e.name for e in root.events] == ["swarmlet.run.interrupted"]
    assert all(span.end_time is not None for span in traces.spans)

    traces.exporter.clear()
    paused.state.approve("call_inner")
    assert client.resume(paused.state).messages[-1]["content"] == "Done."
    refund_span = one(traces.spans, "execute_tool refund")
    sub_agent = parent_of(traces.spans, refund_span)
    assert sub_agent is not None and sub_agent.name == "invoke_agent Clerk"
    assert parent_of(traces.spans, sub_agent) is one(traces.spans, "execute_tool clerk")


@pytest.mark.parametrize("stream", [False, True])
def test_chat_spans_carry_the_token_usage_the_endpoint_reported(
    traces: Traces, server: ScriptedServer, stream: bool
) -> None:
    server.add("Hello with usage.")
    client = Swarm(client=FastHTTPModel(base_url=server.base_url, api_key="sk-unused"))
    agent = Agent(name="Web", model="scripted")

    async def streamed() -> Response:
        async for event in client.stream(agent, USER):
            if isinstance(event, RunCompleted) and not event.path:
                return event.response
        raise AssertionError("no RunCompleted")

    response = asyncio.run(streamed()) if stream else client.run(agent, USER)
    chat = one(traces.spans, "chat scripted")
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert chat.attributes["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert chat.attributes["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert chat.attributes["gen_ai.request.stream"] is stream


def test_cancelling_the_runs_task_is_recorded_as_an_interruption(traces: Traces) -> None:
    started = asyncio.Event()

    async def wait_forever(what: str) -> str:
        """Never finishes on its own."""
        started.set()
        await asyncio.sleep(3600)
        return "unreachable"

    agent = Agent(name="Waiter", functions=[wait_forever])
    client = Swarm(client=ScriptedModel([tool_call("wait_forever", {"what": "x"})]))

    async def main() -> None:
        task = asyncio.ensure_future(client.run_async(agent, USER))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    root = one(traces.spans, "invoke_workflow Waiter")
    assert [e.name for e in root.events] == ["swarmlet.run.interrupted"]
    assert root.events[0].attributes == {
        "swarmlet.run.interrupted.reason": "the run's task was cancelled"
    }
    tool = one(traces.spans, "execute_tool wait_forever")
    assert tool.end_time is not None and tool.status.status_code is StatusCode.UNSET
