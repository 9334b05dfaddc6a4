"""Executing the tool calls of one turn.

Every way a call can go wrong — unknown tool, arguments that are not JSON or not an object,
arguments that fail validation, a tool that raises, times out or returns something that cannot
be encoded — becomes a tool message that tells the model what happened (exception type and
message, never a traceback), so the model can correct itself. Nothing here raises out of a run.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import enum
import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from swarmlet._sync import CallerThreadExecutor, InlineExecutor
from swarmlet.agent import Agent, AgentFunction, Result
from swarmlet.exceptions import ToolArgumentsError
from swarmlet.models.base import ToolCall
from swarmlet.schema import (
    CONTEXT_PARAMETER,
    FunctionSchema,
    ToolOptions,
    function_schema,
    tool_options,
)
from swarmlet.tool_placement import AutoExecutor, shared_executor

__all__ = ["ToolOutcome", "agent_tools", "encode_result", "execute_tool_call", "tool_message"]

logger = logging.getLogger("swarmlet.tools")


@dataclass(slots=True)
class ToolOutcome:
    """What one tool call produced.

    Attributes:
        call: the call as the model sent it.
        content: the text for the tool message.
        error: ``"Type: message"`` when the call failed, else ``None``.
        agent: the agent to hand off to, if the tool asked for one.
        context_variables: updates to merge into the run's context variables.
    """

    call: ToolCall
    content: str
    error: str | None = None
    agent: Agent | None = None
    context_variables: dict[str, Any] = field(default_factory=dict)


def tool_message(outcome: ToolOutcome) -> dict[str, Any]:
    """The history dict for a tool result, in Swarm's shape (with ``tool_name``)."""
    return {
        "role": "tool",
        "tool_call_id": outcome.call.id,
        "tool_name": outcome.call.name,
        "content": outcome.content,
    }


@dataclass(frozen=True, slots=True)
class BoundTool:
    """An agent function with its schema and the options that govern running it."""

    func: AgentFunction
    schema: FunctionSchema
    timeout: float | None
    thread: bool = False  # ToolOptions.thread

    @property
    def pooled(self) -> bool:
        """Whether a sync call must run on a pool thread: a timeout, or ``thread=True``."""
        return self.timeout is not None or self.thread


def bind_tools(agent: Agent) -> dict[str, BoundTool]:
    """The agent's functions by tool name (a later function with the same name wins).

    Every turn binds the active agent's tools (twice when it calls some), so the result is
    cached per (functions, options, strict, tool timeout); a new dict is returned each time,
    since callers add MCP tools to it. Unhashable functions or options are bound afresh.
    """
    functions = tuple(agent.functions)
    options = tuple(map(tool_options, functions))
    # The ids make equal-but-distinct callables distinct keys: the bound tool must call the
    # very object the agent holds (the cached key keeps it alive, so its id is not reused).
    key = (tuple(map(id, functions)), functions, options, agent.strict, agent.tool_timeout)
    try:
        hash(key)
    except TypeError:
        return _bind(functions, agent.strict, agent.tool_timeout)
    return dict(_cached_bind(*key))


@functools.lru_cache(maxsize=256)
def _cached_bind(
    ids: tuple[int, ...],
    functions: tuple[AgentFunction, ...],
    options: tuple[ToolOptions, ...],  # in the key: a function's options may be replaced
    strict: bool,
    tool_timeout: float | None,
) -> dict[str, BoundTool]:
    return _bind(functions, strict, tool_timeout)


def _bind(
    functions: tuple[AgentFunction, ...], strict: bool, tool_timeout: float | None
) -> dict[str, BoundTool]:
    tools = {}
    for func in functions:
        schema = function_schema(func, strict=strict)
        options = tool_options(func)
        timeout = options.timeout if options.timeout is not None else tool_timeout
        tools[schema.name] = BoundTool(func, schema, timeout, options.thread)
    return tools


async def agent_tools(agent: Agent) -> dict[str, BoundTool]:
    """Every tool ``agent`` offers: its functions, then its MCP servers' tools.

    A function keeps its name over an MCP tool of the same name, and an earlier server over a
    later one (the hidden tool is logged once). MCP tools run through the same path as
    functions, so everything that applies to a tool call applies to them.

    Raises:
        MCPServerError: an MCP server could not list its tools.
    """
    tools = bind_tools(agent)
    if not agent.mcp_servers:
        return tools
    provided = await asyncio.gather(*(server.bound_tools(agent) for server in agent.mcp_servers))
    for server, bound in zip(agent.mcp_servers, provided, strict=True):
        for tool in bound:
            name = tool.schema.name
            if name not in tools:
                tools[name] = tool
            elif (server.name, name) not in _reported_hidden:
                _reported_hidden.add((server.name, name))
                logger.warning("MCP server %r: tool %r is hidden by another", server.name, name)
    return tools


_reported_hidden: set[tuple[str, str]] = set()


async def execute_tool_call(
    call: ToolCall,
    tools: Mapping[str, BoundTool],
    context_variables: dict[str, Any],
    executor: Executor | None = None,
) -> ToolOutcome:
    """Run one tool call to completion; failures come back as an outcome with ``error`` set."""
    prepared = _prepare(call, tools, context_variables)
    if isinstance(prepared, ToolOutcome):
        return prepared
    tool, args, kwargs = prepared
    try:
        raw = await _invoke(tool, args, kwargs, executor)
    except Exception as exc:  # the model is told; the run goes on
        return _raised(call, tool, exc)
    return outcome_of(call, raw)


def runs_here(call: ToolCall, tools: Mapping[str, BoundTool], executor: Executor | None) -> bool:
    """Whether ``call``'s tool is a sync function ``executor`` runs on this thread right now.

    Such a call needs no task of its own: :func:`call_here` runs it to completion at once.
    """
    tool = tools.get(call.name)
    if tool is None or tool.pooled or _is_async_callable(tool.func):
        return False
    if isinstance(executor, AutoExecutor):
        return executor.runs_inline_now(tool.func)
    return isinstance(executor, InlineExecutor)


def call_here(
    call: ToolCall,
    tools: Mapping[str, BoundTool],
    context_variables: dict[str, Any],
    executor: Executor | None,
) -> ToolOutcome | Awaitable[Any]:
    """:func:`execute_tool_call` for a call :func:`runs_here` accepted, on this thread now.

    Returns the outcome, or, when the sync tool returned an awaitable, that awaitable: await
    it and pass its value to :func:`outcome_of` (its exception to :func:`raised_outcome`).
    """
    prepared = _prepare(call, tools, context_variables)
    if isinstance(prepared, ToolOutcome):
        return prepared
    tool, args, kwargs = prepared
    try:
        if isinstance(executor, AutoExecutor):
            raw = executor.call_inline(tool.schema.name, tool.func, args, kwargs)
        else:
            assert isinstance(executor, InlineExecutor)
            raw = executor.call(tool.func, *args, **kwargs)
    except Exception as exc:  # the model is told; the run goes on
        return _raised(call, tool, exc)
    return raw if inspect.isawaitable(raw) else outcome_of(call, raw)


def raised_outcome(call: ToolCall, tools: Mapping[str, BoundTool], exc: Exception) -> ToolOutcome:
    """The outcome of a tool call that raised ``exc``."""
    return _raised(call, tools[call.name], exc)


def _prepare(
    call: ToolCall, tools: Mapping[str, BoundTool], context_variables: dict[str, Any]
) -> tuple[BoundTool, tuple[Any, ...], dict[str, Any]] | ToolOutcome:
    """The tool and its arguments for ``call``, or the failure the model is told about."""
    tool = tools.get(call.name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        return _failure(
            call, f"Tool {call.name!r} not found. Available tools: {known}.", "ToolNotFound"
        )
    try:
        args, kwargs = tool.schema.validate(parse_arguments(call.arguments))
    except ToolArgumentsError as exc:
        return _failure(call, f"Invalid arguments for {call.name}: {exc}", "ToolArgumentsError")
    if tool.schema.takes_context:
        kwargs[CONTEXT_PARAMETER] = context_variables
    return tool, args, kwargs


def _raised(call: ToolCall, tool: BoundTool, exc: Exception) -> ToolOutcome:
    """The outcome of a tool call that raised ``exc`` (a timeout is worded as one)."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):  # distinct before Python 3.11
        return _failure(
            call, f"{call.name} did not finish within {tool.timeout} s.", "TimeoutError"
        )
    logger.info("tool %s raised", call.name, exc_info=exc)
    detail = f"{type(exc).__name__}: {exc}"  # already "Type: message": no second prefix
    return ToolOutcome(call=call, content=f"Error: {detail}", error=detail)


def parse_arguments(text: str) -> dict[str, Any]:
    """Decode a model's argument string; empty means no arguments."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolArgumentsError(
            f"arguments are not valid JSON ({exc.msg} at position {exc.pos})"
        ) from exc
    except RecursionError:
        raise ToolArgumentsError("arguments are nested too deeply to decode") from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


async def _invoke(
    tool: BoundTool, args: tuple[Any, ...], kwargs: dict[str, Any], executor: Executor | None
) -> Any:
    """Await coroutine tools on the loop; run plain ones where ``executor`` says.

    ``executor`` is a pool (``None``: the shared one), the caller's thread (see
    :mod:`swarmlet._sync`) or the ``"auto"`` policy (:mod:`swarmlet.tool_placement`). A sync
    tool with a timeout always runs in a pool thread: only then can the run stop waiting. So
    does one marked ``thread=True`` (:class:`~swarmlet.schema.ToolOptions`).
    """
    if _is_async_callable(tool.func):
        return await asyncio.wait_for(tool.func(*args, **kwargs), tool.timeout)
    if isinstance(executor, AutoExecutor) and not tool.pooled:
        result = await executor.run(tool.schema.name, tool.func, args, kwargs)
        return await result if inspect.isawaitable(result) else result
    if isinstance(executor, CallerThreadExecutor) and tool.pooled:
        executor = None
    if isinstance(executor, InlineExecutor):  # this thread is the caller's: call it here
        result = executor.call(tool.func, *args, **kwargs)
        return await result if inspect.isawaitable(result) else result
    loop = asyncio.get_running_loop()
    # copy_context keeps contextvars (tracing, request ids) visible inside the thread.
    call = functools.partial(contextvars.copy_context().run, tool.func, *args, **kwargs)
    work = _await_if_needed(loop.run_in_executor(executor or shared_executor(), call))
    # A sync tool that times out keeps running in its thread: Python cannot kill threads.
    return await asyncio.wait_for(work, tool.timeout)


async def _await_if_needed(future: asyncio.Future[Any]) -> Any:
    result = await future
    return await result if inspect.isawaitable(result) else result


def _is_async_callable(func: Callable[..., Any]) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - async __call__ on callable objects
    )


def _failure(call: ToolCall, detail: str, error_type: str) -> ToolOutcome:
    return ToolOutcome(call=call, content=f"Error: {detail}", error=f"{error_type}: {detail}")


def outcome_of(call: ToolCall, raw: Any) -> ToolOutcome:
    """The outcome of a tool call that returned ``raw`` (an Agent, a Result or a value)."""
    if isinstance(raw, Agent):
        # Swarm's handoff message, kept so transcripts look the same.
        return ToolOutcome(call, json.dumps({"assistant": raw.name}), agent=raw)
    value = raw.value if isinstance(raw, Result) else raw  # no Result model for a plain value
    try:
        content = encode_result(value)
    except TypeError as exc:
        return _failure(call, str(exc), "TypeError")
    if not isinstance(raw, Result):
        return ToolOutcome(call, content)
    return ToolOutcome(call, content, agent=raw.agent, context_variables=raw.context_variables)


def encode_result(value: Any) -> str:
    """Text for a tool's return value: strings as they are, everything else as JSON.

    Pydantic models, dataclasses, enums, dates and sets are encoded naturally. An object JSON
    cannot represent falls back to its own ``__str__`` if its class defines one; otherwise a
    ``TypeError`` explains the problem (and the model is told).
    """
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    except RecursionError:
        raise TypeError(
            f"the tool returned a {type(value).__name__} nested too deeply to encode as JSON"
        ) from None
    except (TypeError, ValueError) as exc:
        if type(value).__str__ is not object.__str__:  # type: ignore[comparison-overlap]
            return str(value)
        raise TypeError(
            f"the tool returned a {type(value).__name__}, which cannot be encoded as JSON ({exc})"
        ) from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
