"""An interactive terminal loop for trying agents: Swarm's ``run_demo_loop``, made sturdier.

``run_demo_loop(agent)`` reads a message per line, runs the agents and prints what happens:
who is speaking, tool calls with their arguments and results, handoffs. History, the active
agent and context variables carry over between messages. Lines starting with ``/`` are
commands (``/help`` lists them).

The loop is async inside (:func:`arun_demo_loop`) so that Ctrl-C during a reply can cancel
just that reply; Ctrl-C at the prompt, ``/exit`` or end of input end the session. With piped
stdin there is no prompt and no live rendering, so a script can drive it line by line.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from swarmlet.agent import Agent, Response
from swarmlet.core import Swarm, SyncTools
from swarmlet.events import (
    Event,
    Handoff,
    MessageCompleted,
    RunCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from swarmlet.exceptions import ConfigurationError, RunError

__all__ = ["MAX_RESULT_CHARS", "arun_demo_loop", "run_demo_loop"]

MAX_RESULT_CHARS = 300
"""Tool results longer than this are cut in the display (the model still gets all of it)."""

InputFunction = Callable[[str], str]
"""Reads one line after showing a prompt; raises ``EOFError`` at end of input (like ``input``)."""

HELP = """Commands:
  /agent     show the active agent
  /context   show the context variables (JSON)
  /history   show the conversation so far
  /reset     start over: first agent, original context, empty history
  /help      show this help
  /exit      leave (also Ctrl-D; Ctrl-C at the prompt)
Ctrl-C while an agent is answering stops that answer and discards the turn."""

_AGENT_STYLE = "bold blue"
_TOOL_STYLE = "magenta"
_DIM = "dim"


def run_demo_loop(
    starting_agent: Agent,
    context_variables: dict[str, Any] | None = None,
    stream: bool = False,
    debug: bool = False,
    client: Any = None,
) -> None:
    """Chat with ``starting_agent`` in the terminal until ``/exit``, Ctrl-D or Ctrl-C.

    Swarm's signature, plus ``client``: anything :class:`~swarmlet.Swarm` accepts (an
    OpenAI client or a provider such as ``LocalModel``), or a ready ``Swarm``. Being a sync
    API, it runs sync tools in this thread unless the client says otherwise (``sync_tools``).
    """
    swarm = client if isinstance(client, Swarm) else Swarm(client=client)
    sync_tools = swarm.sync_tools_policy(sync_api=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C where no handler could be installed
        asyncio.run(
            arun_demo_loop(
                starting_agent,
                context_variables,
                stream=stream,
                debug=debug,
                client=swarm,
                sync_tools=sync_tools,
            )
        )


@dataclass
class _Session:
    """The conversation state that carries over between user messages."""

    start_agent: Agent
    start_context: dict[str, Any]
    agent: Agent
    context: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def begin(cls, agent: Agent, context: dict[str, Any] | None) -> _Session:
        start = dict(context or {})
        return cls(agent, start, agent, copy.deepcopy(start))

    def reset(self) -> None:
        self.agent, self.messages = self.start_agent, []
        self.context = copy.deepcopy(self.start_context)

    def absorb(self, response: Response) -> None:
        self.messages.extend(response.messages)
        if response.agent is not None:
            self.agent = response.agent
        self.context = dict(response.context_variables)


async def arun_demo_loop(
    starting_agent: Agent,
    context_variables: dict[str, Any] | None = None,
    stream: bool = False,
    debug: bool = False,
    client: Any = None,
    *,
    model_override: str | None = None,
    input_function: InputFunction | None = None,
    console: Console | None = None,
    interactive: bool | None = None,
    sync_tools: SyncTools | None = None,
) -> None:
    """The async REPL behind :func:`run_demo_loop`.

    Args:
        model_override: model name used for every agent (as in ``Swarm.run``).
        input_function: reads a line (default ``input``); injectable for tests.
        console: where output goes (default: a ``rich`` console on stdout).
        interactive: show a prompt and banner; default: whether stdin is a terminal.
        sync_tools: where sync tools run (``Swarm.events``); default: the client's choice.

    Raises:
        ConfigurationError: the endpoint refused the key or does not know the model. Other
            run errors are printed and the session continues.
    """
    if interactive is None:
        interactive = sys.stdin.isatty()
    repl = _Repl(
        session=_Session.begin(starting_agent, context_variables),
        swarm=client if isinstance(client, Swarm) else Swarm(client=client),
        console=console or Console(soft_wrap=True),
        reader=_LineReader(input_function or _default_input()),
        options=_Options(stream, debug, model_override, interactive, sync_tools),
    )
    with _sigint_handler(repl.on_interrupt), _terminal_restored():
        await repl.run()


def _default_input() -> InputFunction:
    """``input`` on a terminal or a replaced stdin; raw reads for the process's piped stdin.

    ``input`` on a piped stdin holds the buffered reader's lock while it waits, and a daemon
    thread still waiting there at exit makes the interpreter abort at shutdown.
    """
    stdin = sys.__stdin__
    if stdin is None or sys.stdin is not stdin or stdin.isatty():
        return input
    try:
        return _RawLines(stdin.fileno(), getattr(stdin, "encoding", None) or "utf-8").read
    except (AttributeError, OSError, ValueError):
        return input


class _RawLines:
    """Lines from a file descriptor, read without Python's buffered reader (see above)."""

    def __init__(self, fd: int, encoding: str) -> None:
        self.fd, self.encoding, self.buffer = fd, encoding, b""

    def read(self, prompt: str = "") -> str:
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                if not self.buffer:
                    raise EOFError
                line, self.buffer = self.buffer, b""
                return line.decode(self.encoding, errors="replace")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(self.encoding, errors="replace").rstrip("\r")


@contextlib.contextmanager
def _terminal_restored() -> Iterator[None]:
    """Put the terminal back as it was: a read cut short by Ctrl-C can leave echo off."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    except (ImportError, AttributeError, OSError, ValueError):  # Windows, or a fake stdin
        saved = None
    if saved is None:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@dataclass(frozen=True)
class _Options:
    stream: bool
    debug: bool
    model_override: str | None
    interactive: bool
    sync_tools: SyncTools | None = None


class _LineReader:
    """Reads lines in a daemon thread, so waiting for input never blocks the event loop.

    A daemon thread (not ``asyncio.to_thread``) because a read blocked at the prompt must
    not keep the process alive once the session has ended.
    """

    def __init__(self, input_function: InputFunction) -> None:
        self._input = input_function
        self.pending: asyncio.Future[str | None] | None = None

    async def read(self, prompt: str) -> str | None:
        """The next line, or ``None`` at end of input or when interrupted."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self.pending = future

        def deliver(value: str | None) -> None:
            if not future.done():
                future.set_result(value)

        def work() -> None:
            try:
                line: str | None = self._input(prompt)
            except (EOFError, KeyboardInterrupt, OSError, ValueError):
                line = None  # ValueError: stdin closed under us
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(deliver, line)

        threading.Thread(target=work, name="swarmlet-repl-input", daemon=True).start()
        try:
            return await future
        finally:
            self.pending = None

    def interrupt(self) -> None:
        """End the pending read as if input had ended."""
        if self.pending is not None and not self.pending.done():
            self.pending.set_result(None)


@contextlib.contextmanager
def _sigint_handler(handler: Callable[[], None]) -> Iterator[None]:
    """Route Ctrl-C to ``handler`` on the running loop, where the platform allows it."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


@dataclass
class _Repl:
    session: _Session
    swarm: Swarm
    console: Console
    reader: _LineReader
    options: _Options
    reply_task: asyncio.Task[Response] | None = None

    async def run(self) -> None:
        if self.options.interactive:
            self.console.print(
                Text.assemble(
                    "swarmlet REPL: talking to ",
                    (self.session.agent.name, _AGENT_STYLE),
                    ". Type /help for commands.",
                )
            )
        prompt = "\033[90mUser\033[0m: " if self.options.interactive else ""
        while (line := await self.reader.read(prompt)) is not None:
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    return
                continue
            await self.turn(line)

    def on_interrupt(self) -> None:
        """Ctrl-C: stop the running reply, or end the session when at the prompt."""
        if self.reply_task is not None and not self.reply_task.done():
            self.reply_task.cancel()
        else:
            if self.options.interactive:
                self.console.print()  # the shell prompt should not start after "^C"
            self.reader.interrupt()

    def command(self, line: str) -> bool:
        """Run a slash command; ``False`` means leave the loop."""
        name = line.split()[0].lower()
        if name in ("/exit", "/quit"):
            return False
        actions: dict[str, Callable[[], None]] = {
            "/agent": self.show_agent,
            "/context": self.show_context,
            "/history": self.show_history,
            "/reset": self.reset,
            "/help": lambda: self.console.print(HELP, markup=False, highlight=False),
        }
        action = actions.get(name)
        if action is None:
            self.console.print(f"Unknown command {name}; type /help for the list.", markup=False)
        else:
            action()
        return True

    def show_agent(self) -> None:
        self.console.print(Text.assemble("Active agent: ", (self.session.agent.name, _AGENT_STYLE)))

    def show_context(self) -> None:
        self.console.print_json(json.dumps(self.session.context, default=repr))

    def show_history(self) -> None:
        if not self.session.messages:
            self.console.print("(no messages yet)")
        for number, message in enumerate(self.session.messages, 1):
            self.console.print(Text(f"{number:>3} ", style=_DIM) + _history_line(message))

    def reset(self) -> None:
        self.session.reset()
        self.console.print(
            Text.assemble(
                "Reset: history cleared, context restored, talking to ",
                (self.session.agent.name, _AGENT_STYLE),
                " again.",
            )
        )

    async def turn(self, text: str) -> None:
        """Run the agents on one user message and fold the outcome into the session."""
        messages = [*self.session.messages, {"role": "user", "content": text}]
        task = asyncio.ensure_future(self._reply(messages))
        self.reply_task = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self.reply_task = None
        if task.cancelled():
            self.console.print(
                "\n[interrupted: this turn was discarded]",
                style="yellow",
                markup=False,
                highlight=False,
            )
            return
        error = task.exception()
        if error is None:
            self.session.messages = messages
            self.session.absorb(task.result())
        elif isinstance(error, RunError) and not isinstance(error, ConfigurationError):
            self._report(error, messages)
        else:
            raise error

    def _report(self, error: RunError, messages: list[dict[str, Any]]) -> None:
        """Print a run failure as one paragraph and keep what the run produced before it."""
        self.console.print(
            f"\nError: the run stopped ({type(error).__name__}): {error}. "
            "The conversation so far is kept; send another message to retry, "
            "or /reset to start over.",
            style="red",
            markup=False,
            highlight=False,
        )
        self.session.messages = messages
        if error.response is not None:
            self.session.absorb(error.response)

    async def _reply(self, messages: list[dict[str, Any]]) -> Response:
        options = self.options
        events = self.swarm.events(
            self.session.agent,
            messages,
            self.session.context,
            options.model_override,
            stream=options.stream,
            debug=options.debug,
            sync_tools=options.sync_tools,
        )
        renderer = _Renderer(self.console)
        async with contextlib.aclosing(events):
            async for event in events:
                if event.path:
                    continue  # a sub-run's event (an agent used as a tool): not shown
                renderer.show(event)
                if isinstance(event, RunCompleted):
                    return event.response
        raise RuntimeError("the run ended without a RunCompleted event")  # pragma: no cover


class _Renderer:
    """Prints one reply's events: streamed text, tool calls, results, handoffs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.streaming_text = False  # text of the current turn is being printed as it comes
        self.streamed_turn = False  # the current turn's text has already been shown

    def show(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            self.streaming_text = self.streamed_turn = False
        elif isinstance(event, TextDelta):
            self.text_delta(event)
        elif isinstance(event, MessageCompleted):
            self.message_completed(event)
        elif isinstance(event, ToolCallStarted):
            self.console.print(
                Text.assemble(
                    (event.agent.name, _AGENT_STYLE),
                    " called ",
                    (f"{event.name}({_compact_json(event.arguments)})", _TOOL_STYLE),
                )
            )
        elif isinstance(event, ToolCallFinished):
            self.tool_finished(event)
        elif isinstance(event, Handoff):
            self.console.print(
                f"→ handed off from {event.from_agent.name} to {event.to_agent.name}",
                style="bold yellow",
                markup=False,
                highlight=False,
            )

    def text_delta(self, event: TextDelta) -> None:
        if not self.streaming_text:
            self.console.print(Text.assemble((event.agent.name, _AGENT_STYLE), ": "), end="")
            self.streaming_text = self.streamed_turn = True
        self.console.print(event.text, end="", markup=False, highlight=False)

    def message_completed(self, event: MessageCompleted) -> None:
        if self.streaming_text:
            self.console.print()
            self.streaming_text = False
            return
        content = event.message.get("content")
        if content and not self.streamed_turn:
            self.console.print(Text.assemble((event.agent.name, _AGENT_STYLE), ": ", content))

    def tool_finished(self, event: ToolCallFinished) -> None:
        if event.error is not None:
            # the content is what the model is told; its "Error: " prefix says nothing new here
            detail = event.content.removeprefix("Error: ")
            self.console.print(Text.assemble("  ", (f"{event.name} failed: ", "red"), detail))
        else:
            shown = _truncate(event.content)
            self.console.print(Text.assemble("  ", (f"{event.name} returned: ", _DIM), shown))


def _compact_json(arguments: str) -> str:
    """Tool arguments on one line; left as sent when they are not valid JSON."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except ValueError:
        return arguments


def _truncate(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}… ({len(flat) - limit} more characters)"


def _history_line(message: dict[str, Any]) -> Text:
    """One history message as a single line for ``/history``."""
    role = message.get("role")
    content = message.get("content") or ""
    if role == "tool":
        name = message.get("tool_name", "tool")
        return Text.assemble((f"tool {name}: ", _TOOL_STYLE), _truncate(str(content)))
    if role == "assistant":
        calls = [
            f"{c['function']['name']}({_compact_json(c['function']['arguments'])})"
            for c in message.get("tool_calls") or []
        ]
        shown = " ".join(filter(None, [str(content), *(f"[calls {c}]" for c in calls)]))
        sender = message.get("sender") or "assistant"
        return Text.assemble((f"{sender}: ", _AGENT_STYLE), _truncate(shown))
    return Text.assemble((f"{role}: ", "bold"), _truncate(str(content)))
