"""The REPL, driven through piped stdin (a real subprocess) and in-process with injected input."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from swarmlet import Agent, Result
from swarmlet.exceptions import ModelConfigurationError, ModelError
from swarmlet.repl import MAX_RESULT_CHARS, arun_demo_loop
from swarmlet.testing import ScriptedModel, tool_call

# Agents for the subprocess tests: a triage agent hands off to "Flight Modification", which
# looks a flight up (updating the context) and answers. The model is scripted, so no endpoint.
AGENTS_SCRIPT = textwrap.dedent(
    """
    import sys
    from swarmlet import Agent, Result
    from swarmlet.repl import run_demo_loop
    from swarmlet.testing import ScriptedModel, reply, tool_call

    model = ScriptedModel([
        tool_call("transfer_to_flight_modification"),
        reply("Flight Modification here, what is your flight?"),
        tool_call("lookup_flight", {"flight": "SW123"}),
        reply("SW123 leaves at 9:00."),
        reply("Triage again, hello."),
    ])

    def lookup_flight(flight: str) -> Result:
        return Result(value={"flight": flight, "departs": "09:00"},
                      context_variables={"flight": flight})

    modification = Agent(name="Flight Modification", model=model, functions=[lookup_flight])

    def transfer_to_flight_modification():
        return modification

    triage = Agent(name="Triage", model=model, functions=[transfer_to_flight_modification])
    run_demo_loop(triage, {"customer": "Ada"}, stream="--stream" in sys.argv)
    """
)

SESSION = [
    "I need to change my flight",
    "/agent",
    "SW123 please",
    "/context",
    "/history",
    "/reset",
    "/agent",
    "/context",
    "hello",
]


def _run_script(tmp_path: Path, script: str, lines: list[str], *args: str) -> Any:
    path = tmp_path / "agents.py"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path), *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("mode", ["--stream", "--no-stream"])
def test_piped_session_shows_agents_tools_handoffs_and_commands(tmp_path: Path, mode: str) -> None:
    done = _run_script(tmp_path, AGENTS_SCRIPT, SESSION, mode)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "Traceback" not in done.stderr
    # no prompt or banner noise with piped stdin: every line is output of the session
    assert not any("User:" in line or "REPL" in line for line in out)
    expected = [
        "Triage called transfer_to_flight_modification({})",
        '  transfer_to_flight_modification returned: {"assistant": "Flight Modification"}',
        "→ handed off from Triage to Flight Modification",
        "Flight Modification: Flight Modification here, what is your flight?",
        "Active agent: Flight Modification",
        'Flight Modification called lookup_flight({"flight": "SW123"})',
        '  lookup_flight returned: {"flight": "SW123", "departs": "09:00"}',
        "Flight Modification: SW123 leaves at 9:00.",
    ]
    assert out[: len(expected)] == expected
    rest = "\n".join(out[len(expected) :])
    first_context, _, after = rest.partition("}")
    assert json.loads(first_context + "}") == {"customer": "Ada", "flight": "SW123"}
    history = [line for line in after.splitlines() if line[:3].strip().isdigit()]
    assert history == [
        "  1 user: I need to change my flight",
        "  2 Triage: [calls transfer_to_flight_modification({})]",
        '  3 tool transfer_to_flight_modification: {"assistant": "Flight Modification"}',
        "  4 Flight Modification: Flight Modification here, what is your flight?",
        "  5 user: SW123 please",
        '  6 Flight Modification: [calls lookup_flight({"flight": "SW123"})]',
        '  7 tool lookup_flight: {"flight": "SW123", "departs": "09:00"}',
        "  8 Flight Modification: SW123 leaves at 9:00.",
    ]
    tail = after[after.index("Reset:") :].splitlines()
    assert tail[0] == "Reset: history cleared, context restored, talking to Triage again."
    assert tail[1] == "Active agent: Triage"
    assert json.loads("\n".join(tail[2:5])) == {"customer": "Ada"}
    assert tail[5] == "Triage: Triage again, hello."


async def _session(agent: Agent, lines: list[str], *, stream: bool = False, **kwargs: Any) -> str:
    """Run the REPL in-process on ``lines`` and return everything it printed."""
    feed = iter(lines)

    def read(prompt: str) -> str:
        assert prompt == ""  # not interactive: no prompt
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    buffer = io.StringIO()
    console = Console(file=buffer, width=300, force_terminal=False, soft_wrap=True)
    await arun_demo_loop(
        agent,
        stream=stream,
        input_function=read,
        console=console,
        interactive=False,
        **kwargs,
    )
    return buffer.getvalue()


@pytest.mark.parametrize("stream", [True, False])
async def test_run_error_prints_a_paragraph_keeps_its_messages_and_continues(stream: bool) -> None:
    model = ScriptedModel(
        [
            tool_call("remember", {"fact": "blue"}),
            ModelError("the endpoint answered HTTP 500: overloaded"),
            "I remember: blue.",
        ]
    )

    def remember(fact: str) -> Result:
        return Result(value="noted", context_variables={"fact": fact})

    agent = Agent(name="Memo", model=model, functions=[remember])
    out = await _session(
        agent, ["remember blue", "what did I say?", "/history", "/context"], stream=stream
    )
    error_lines = [line for line in out.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "ModelError" in error_lines[0] and "overloaded" in error_lines[0]
    assert "Memo: I remember: blue." in out
    # the tool call and result made before the failure were kept in the history and context
    assert '  2 Memo: [calls remember({"fact": "blue"})]' in out
    assert "  3 tool remember: noted" in out
    assert "  4 user: what did I say?" in out
    assert json.loads(out[out.rindex("{\n") :]) == {"fact": "blue"}
    # the model saw the kept messages on the retry
    assert [m["role"] for m in model.requests[2].messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
    ]


async def test_configuration_error_ends_the_session() -> None:
    model = ScriptedModel([ModelConfigurationError("the endpoint refused the API key (HTTP 401)")])
    with pytest.raises(ModelConfigurationError):
        await _session(Agent(name="A", model=model), ["hi", "never read"])


async def test_long_tool_results_are_truncated_and_tool_errors_shown() -> None:
    model = ScriptedModel([[tool_call("big"), tool_call("broken")], "done"])

    def big() -> str:
        return "x" * 1000

    def broken() -> str:
        raise ValueError("disk on fire")

    agent = Agent(name="T", model=model, functions=[big, broken], parallel_tool_calls=False)
    out = await _session(agent, ["go"])
    big_line = next(line for line in out.splitlines() if "big returned" in line)
    assert big_line.endswith(f"… ({1000 - MAX_RESULT_CHARS} more characters)")
    assert big_line.count("x") == MAX_RESULT_CHARS
    assert "  broken failed: ValueError: disk on fire" in out
    assert out.rstrip().endswith("T: done")


async def test_streamed_text_arrives_in_pieces_under_one_agent_prefix() -> None:
    text = "A fairly long answer that is streamed in many small pieces."
    model = ScriptedModel([text], chunk_size=3)
    out = await _session(Agent(name="Streamer", model=model), ["hi", "/agent"], stream=True)
    assert out.splitlines() == [f"Streamer: {text}", "Active agent: Streamer"]


async def test_unknown_command_help_and_exit_stops_reading() -> None:
    model = ScriptedModel([])
    out = await _session(Agent(name="A", model=model), ["/nope", "/help", "/exit", "hi"])
    assert "Unknown command /nope; type /help for the list." in out
    assert "/reset" in out and "/history" in out
    assert model.requests == []  # "hi" after /exit was never sent


async def test_starting_context_is_not_mutated_and_model_override_is_sent() -> None:
    model = ScriptedModel([tool_call("bump"), "ok"])

    def bump(context_variables: dict[str, Any]) -> Result:
        return Result(value="bumped", context_variables={"n": context_variables["n"] + 1})

    start = {"n": 1}
    agent = Agent(name="A", model=model, functions=[bump])
    out = await _session(
        agent, ["go", "/context"], context_variables=start, model_override="my-model"
    )
    assert json.loads(out[out.rindex("{\n") :]) == {"n": 2}
    assert start == {"n": 1}
    assert [request.model for request in model.requests] == ["my-model", "my-model"]


SLOW_SCRIPT = textwrap.dedent(
    """
    from swarmlet import Agent
    from swarmlet.repl import run_demo_loop
    from swarmlet.testing import ScriptedModel, reply, tool_call

    model = ScriptedModel([tool_call("ping"), reply("too late", delay=60), "fresh answer"])

    def ping() -> str:
        return "pong"

    run_demo_loop(Agent(name="Slow", model=model, functions=[ping]))
    """
)


def _wait_for(proc: subprocess.Popen[str], needle: str, seen: list[str]) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"never saw {needle!r}; got {seen!r}")


def test_ctrl_c_stops_the_reply_not_the_session_then_exits_at_the_prompt(tmp_path: Path) -> None:
    path = tmp_path / "slow.py"
    path.write_text(SLOW_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, "-u", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    seen: list[str] = []
    try:
        proc.stdin.write("ping please\n")
        proc.stdin.flush()
        _wait_for(proc, "ping returned: pong", seen)
        proc.send_signal(signal.SIGINT)  # the second model call is sleeping: cancel it
        _wait_for(proc, "[interrupted: this turn was discarded]", seen)
        proc.stdin.write("again\n/history\n")
        proc.stdin.flush()
        _wait_for(proc, "Slow: fresh answer", seen)
        _wait_for(proc, "  2 Slow: fresh answer", seen)
        proc.send_signal(signal.SIGINT)  # at the prompt: leave cleanly
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    history = "".join(seen)
    assert "  1 user: again" in history  # the interrupted turn was discarded
    assert "ping please" not in history.split("[interrupted")[1]
