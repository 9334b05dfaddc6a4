"""Tracing end to end: real OTLP/HTTP export to a receiver on 127.0.0.1, the environment switch,
and a Python without OpenTelemetry."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import swarmlet.tracing
from swarmlet import Swarm
from swarmlet.exceptions import ConfigurationError
from swarmlet.testing import ScriptedModel, tool_call
from tests.tracing_support import USER, agents

ROOT = Path(__file__).resolve().parent.parent

# The three-call conversation, as a program run in a fresh interpreter.
PROGRAM = textwrap.dedent(
    """
    from swarmlet import Swarm
    from swarmlet.testing import ScriptedModel, tool_call
    from tests.tracing_support import USER, agents

    triage, _ = agents()
    model = ScriptedModel(
        [tool_call("transfer_to_sales"), tool_call("lookup_order", {"order_id": "A1"}), "Done."]
    )
    print(Swarm(client=model).run(triage, USER).messages[-1]["content"])
    """
)


class Receiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1 that decodes what it is sent."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def spans(self) -> list[Span]:
        with self._lock:
            return [
                span
                for request in self.requests
                for resource in request.resource_spans
                for scope in resource.scope_spans
                for span in scope.spans
            ]

    def resource(self, key: str) -> Any:
        with self._lock:
            attributes = self.requests[0].resource_spans[0].resource.attributes
        return {a.key: value(a.value) for a in attributes}.get(key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                with receiver._lock:
                    receiver.requests.append(request)
                    receiver.paths.append(self.path)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        return Handler

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def value(any_value: AnyValue) -> Any:
    """A decoded OTLP attribute value as a Python value."""
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def attributes(span: Span) -> dict[str, Any]:
    return {a.key: value(a.value) for a in span.attributes}


def shape(spans: list[Span]) -> list[tuple[str, str | None]]:
    """(name, parent name) in start order, from the decoded protobuf spans."""
    by_id = {span.span_id: span.name for span in spans}
    ordered = sorted(spans, key=lambda s: s.start_time_unix_nano)
    return [(s.name, by_id.get(s.parent_span_id)) for s in ordered]


EXPECTED = [
    ("invoke_workflow Triage", None),
    ("invoke_agent Triage", "invoke_workflow Triage"),
    ("chat gpt-4o", "invoke_agent Triage"),
    ("execute_tool transfer_to_sales", "invoke_agent Triage"),
    ("invoke_agent Sales", "invoke_workflow Triage"),
    ("chat gpt-4o", "invoke_agent Sales"),
    ("execute_tool lookup_order", "invoke_agent Sales"),
    ("chat gpt-4o", "invoke_agent Sales"),
]


def test_spans_reach_a_real_otlp_http_receiver(receiver: Receiver) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=5)
    provider = TracerProvider(resource=Resource.create({"service.name": "otlp-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    swarmlet.tracing.enable(provider)
    try:
        triage, _ = agents()
        model = ScriptedModel(
            [tool_call("transfer_to_sales"), tool_call("lookup_order", {"order_id": "A1"}), "Ok."]
        )
        Swarm(client=model).run(triage, USER)
    finally:
        swarmlet.tracing.disable()
        provider.shutdown()
    spans = receiver.spans()
    assert shape(spans) == EXPECTED
    assert set(receiver.paths) == {"/v1/traces"}
    assert receiver.resource("service.name") == "otlp-test"
    chat = next(s for s in spans if s.name == "chat gpt-4o")
    assert chat.kind == Span.SpanKind.SPAN_KIND_INTERNAL
    assert attributes(chat)["gen_ai.provider.name"] == "swarmlet.scripted"
    tool = next(s for s in spans if s.name == "execute_tool lookup_order")
    assert attributes(tool)["gen_ai.tool.name"] == "lookup_order"
    assert len({s.trace_id for s in spans}) == 1


def run_program(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter from the repository root, with extra ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SWARMLET_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_swarmlet_tracing_otel_exports_where_the_otel_variables_say(receiver: Receiver) -> None:
    done = run_program(
        PROGRAM,
        SWARMLET_TRACING="otel",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="swarmlet-env-test",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Done."
    assert shape(receiver.spans()) == EXPECTED  # flushed at exit by the SDK
    assert receiver.resource("service.name") == "swarmlet-env-test"


def test_nothing_is_exported_without_the_switch(receiver: Receiver) -> None:
    done = run_program(PROGRAM, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    assert done.returncode == 0, done.stderr
    assert receiver.requests == []


BLOCK_OTEL = textwrap.dedent(
    """
    import sys

    class NoOpenTelemetry:
        '''Makes this interpreter behave as if OpenTelemetry were not installed.'''

        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoOpenTelemetry())
    """
)


def test_without_opentelemetry_runs_work_and_enable_says_what_to_install() -> None:
    code = (
        BLOCK_OTEL
        + PROGRAM
        + textwrap.dedent(
            """
        import swarmlet.tracing
        from swarmlet.exceptions import ConfigurationError
        assert not any(m.startswith("opentelemetry") for m in sys.modules)
        try:
            swarmlet.tracing.enable()
        except ConfigurationError as exc:
            print("refused:", exc)
        """
        )
    )
    done = run_program(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Done.",
        "refused: tracing needs the OpenTelemetry API: pip install 'swarmlet[otel]'",
    ]


def test_the_switch_without_opentelemetry_fails_the_run_clearly() -> None:
    done = run_program(BLOCK_OTEL + PROGRAM, SWARMLET_TRACING="otel")
    assert done.returncode != 0
    assert "ConfigurationError: SWARMLET_TRACING=otel needs OpenTelemetry" in done.stderr


def test_importing_swarmlet_does_not_import_opentelemetry() -> None:
    code = "import sys, swarmlet; print(sorted(m for m in sys.modules if 'opentelemetry' in m))"
    done = run_program(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.replace("'", '"')) == []


def test_an_unknown_switch_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swarmlet.tracing, "_env_read", False)
    monkeypatch.setattr(swarmlet.tracing, "_settings", None)
    monkeypatch.setenv("SWARMLET_TRACING", "jaeger")
    triage, _ = agents()
    with pytest.raises(ConfigurationError, match="SWARMLET_TRACING='jaeger' is not understood"):
        Swarm(client=ScriptedModel(["hi"])).run(triage, USER)


@pytest.mark.parametrize("off", ["", "0", "off", "false"])
def test_switch_values_that_mean_off(monkeypatch: pytest.MonkeyPatch, off: str) -> None:
    monkeypatch.setattr(swarmlet.tracing, "_env_read", False)
    monkeypatch.setattr(swarmlet.tracing, "_settings", None)
    monkeypatch.setenv("SWARMLET_TRACING", off)
    assert swarmlet.tracing.is_enabled() is False


def test_the_tracing_example_prints_the_span_tree() -> None:
    done = run_program((ROOT / "examples" / "tracing.py").read_text())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = [line.rsplit("  ", 1)[0] for line in lines[1:]]
    assert lines[0] == "Both orders have shipped."
    assert names == [
        "request",
        "  invoke_workflow Triage",
        "    invoke_agent Triage",
        "      chat gpt-4o",
        "      execute_tool transfer_to_sales",
        "    invoke_agent Sales",
        "      chat gpt-4o",
        "      execute_tool lookup_order",
        "      execute_tool lookup_order",
        "      chat gpt-4o",
    ]
    assert lines[3].endswith("[swarmlet.handoff]")
