"""The ``swarmlet`` command: chat with bundled examples or your own agents, and run evals.

::

    swarmlet demo --list                      # the bundled examples
    swarmlet demo airline                     # chat with one in the REPL
    swarmlet run my_agents.py:triage --context '{"user_id": 7}'
    swarmlet eval cases.json --agent my_agents:triage -n 5 --min-accuracy 0.9
    swarmlet serve my_agents.py:triage        # HTTP API + web UI (needs swarmlet[server])
    swarmlet serve --example airline
    swarmlet batch my_agents.py:triage inputs.jsonl --out results.jsonl --resume
    swarmlet mcp my_agents.py:triage --transport http   # a swarm as an MCP server (swarmlet[mcp])

The model endpoint is chosen by :mod:`swarmlet.config`. A configuration problem (bad URL,
refused key, unknown model, missing offline model) prints one paragraph and exits with 2;
``eval`` exits with 1 when the accuracy is below ``--min-accuracy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from swarmlet.agent import Agent
from swarmlet.cli_batch import BatchJob, execute_batch, ray_flag_with_value
from swarmlet.config import ResolvedModel, resolve_client
from swarmlet.evals import EvalCase, EvalReport, load_cases, run_evals
from swarmlet.exceptions import ConfigurationError, ModelError, UsageError
from swarmlet.models.base import Model
from swarmlet.repl import arun_demo_loop

__all__ = ["app", "load_agent", "main"]

app = typer.Typer(
    name="swarmlet",
    help="Run Swarm-style multi-agent apps: bundled demos, your own agents, evals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# typer reads these annotations at runtime; Optional[...] keeps them valid on Python 3.10.
ModelOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--model",
        help="Model name on the endpoint, 'local' (bundled offline model) or 'local:PATH.gguf'.",
    ),
]
BaseUrlOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."),
]
StreamOption = Annotated[bool, typer.Option("--stream/--no-stream", help="Stream replies.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Log every model call to stderr.")]
ContextOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--context", help="Context variables as a JSON object."),
]
ContextFileOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--context-file", help="A JSON file holding the context variables."),
]


def main() -> None:
    """Entry point of the ``swarmlet`` console script."""
    sys.argv[1:] = ray_flag_with_value(sys.argv[1:])
    app()


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


@contextlib.contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn configuration and usage problems into one printed paragraph and exit code 2."""
    try:
        yield
    except (ConfigurationError, ModelError, UsageError) as exc:
        kind = "Configuration error" if isinstance(exc, ConfigurationError) else "Error"
        _stderr().print(f"{kind}: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None


@app.command()
def demo(
    name: Annotated[Optional[str], typer.Argument(help="Example to run.")] = None,  # noqa: UP045
    list_: Annotated[bool, typer.Option("--list", help="List the bundled examples.")] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    stream: StreamOption = True,
    debug: DebugOption = False,
) -> None:
    """Chat with a bundled example app in the REPL."""
    examples = importlib.import_module("swarmlet.examples")
    if list_ or name is None:
        _list_examples(examples)
        return
    with _friendly_errors():
        example = examples.load(name)
        resolved = _resolve(example.agent, model, base_url)
        _repl(example.agent, copy.deepcopy(example.context_variables), resolved, stream, debug)


def _list_examples(examples: ModuleType) -> None:
    console = Console(soft_wrap=True)
    for name in examples.NAMES:
        try:
            description = examples.load(name).description
        except Exception as exc:  # one broken example must not hide the others
            description = f"(unavailable: {type(exc).__name__}: {exc})"
        console.print(f"{name:<18} {description}", markup=False, highlight=False)
    console.print("\nRun one with: swarmlet demo NAME", markup=False, highlight=False)


@app.command()
def run(
    target: Annotated[str, typer.Argument(metavar="MODULE:AGENT", help="e.g. app.py:triage")],
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    stream: StreamOption = True,
    debug: DebugOption = False,
) -> None:
    """Chat with your own agent: MODULE (importable name or path/to/file.py) and AGENT."""
    with _friendly_errors():
        agent = load_agent(target)
        variables = _context(context, context_file)
        resolved = _resolve(agent, model, base_url)
        _repl(agent, variables, resolved, stream, debug)


def _repl(
    agent: Agent,
    context: dict[str, Any],
    resolved: ResolvedModel | None,
    stream: bool,
    debug: bool,
) -> None:
    client = resolved.client if resolved else None
    override = resolved.model_override if resolved else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            arun_demo_loop(
                agent, context, stream=stream, debug=debug, client=client, model_override=override
            )
        )


def _resolve(agent: Agent, model: str | None, base_url: str | None) -> ResolvedModel | None:
    """Choose the endpoint, unless the agent brings its own model and no flag asks otherwise."""
    if isinstance(agent.model, Model) and model is None and base_url is None:
        return None
    resolved = resolve_client(model, base_url)
    if resolved.notice:
        _stderr().print(resolved.notice, style="yellow", markup=False, highlight=False)
    return resolved


def load_agent(target: str) -> Agent:
    """The Agent named by ``MODULE:ATTR`` (an Agent, or a zero-argument callable returning one).

    ``MODULE`` is an importable module name or a path to a ``.py`` file.

    Raises:
        UsageError: the target cannot be imported or does not name an Agent.
    """
    module_name, sep, attribute = target.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"expected MODULE:AGENT (e.g. app.py:triage), got {target!r}")
    module = _import(module_name)
    try:
        found: Any = functools.reduce(getattr, attribute.split("."), module)
    except AttributeError:
        raise UsageError(f"{module_name} has no attribute {attribute!r}") from None
    if not isinstance(found, Agent) and callable(found):
        found = found()
    if not isinstance(found, Agent):
        raise UsageError(f"{target} is a {type(found).__name__}, not a swarmlet Agent")
    return found


def _import(name: str) -> ModuleType:
    """Import a module by name (from the working directory too) or from a file path."""
    is_path = name.endswith(".py") or "/" in name or os.sep in name
    try:
        if not is_path:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            return importlib.import_module(name)
        return _import_file(Path(name))
    except UsageError:
        raise
    except Exception as exc:  # the user's module failed: say which and why, briefly
        raise UsageError(f"could not import {name}: {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    # The file's folder goes on sys.path so it can import its sibling modules.
    sys.path.insert(0, str(path.resolve().parent))
    module_name = f"swarmlet_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _context(text: str | None, path: Path | None) -> dict[str, Any]:
    """Context variables from ``--context-file`` then ``--context`` (which wins per key)."""
    merged: dict[str, Any] = {}
    sources = [(f"--context-file {path}", _read(path) if path else None), ("--context", text)]
    for source, raw in sources:
        if raw is None:
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"{source} is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise UsageError(f"{source} must be a JSON object, got {type(value).__name__}")
        merged.update(value)
    return merged


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


@app.command()
def serve(
    target: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(metavar="[MODULE:AGENT]", help="e.g. app.py:triage"),
    ] = None,
    example: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--example", help="Serve a bundled example instead of MODULE:AGENT."),
    ] = None,
    db: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--db",
            help="Thread database: sqlite:///PATH or postgresql://... "
            "(default: server.db in swarmlet's data directory).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to bind.")] = 8000,
    token_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--token-file", help="File of API tokens, one per line."),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No token needed (loopback addresses only).")
    ] = False,
    cors_origin: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--cors-origin", help="Allow browser calls from this origin (repeat)."),
    ] = None,
    max_body_size: Annotated[int, typer.Option(min=1024, help="Largest request body in bytes.")] = 1
    << 20,
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Serve an agent over HTTP: a streaming run API, an OpenAI-compatible API and a web UI."""
    with _friendly_errors():
        serving = _server_module("swarmlet.server.serve")
        auth = _server_module("swarmlet.server.auth")
        tokens = auth.TokenAuth(frozenset()) if no_auth else auth.load_tokens(token_file)
        serving.check_bind(host, _server_module("swarmlet.server.app").ServerSettings(auth=tokens))
        agent, variables = _serve_subject(target, example)
        variables.update(_context(context, context_file))
        resolved = _resolve(agent, model, base_url)
        settings = _server_module("swarmlet.server.app").ServerSettings(
            auth=tokens,
            cors_origins=tuple(cors_origin or ()),
            max_body_size=max_body_size,
            model_override=resolved.model_override if resolved else None,
            context_variables=variables,
            db_url=db or _default_db(),
        )
    from swarmlet.core import Swarm

    swarm = Swarm(client=resolved.client if resolved else None)
    serving.run_server(agent, swarm, settings, host=host, port=port)


def _default_db() -> str:
    """``server.db`` in swarmlet's data directory (created if missing)."""
    directory = importlib.import_module("swarmlet.examples").data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'server.db'}"


def _serve_subject(target: str | None, example: str | None) -> tuple[Agent, dict[str, Any]]:
    if (target is None) == (example is None):
        raise UsageError("give exactly one of MODULE:AGENT or --example NAME")
    if target is not None:
        return load_agent(target), {}
    loaded = importlib.import_module("swarmlet.examples").load(example)
    return loaded.agent, copy.deepcopy(loaded.context_variables)


def _server_module(name: str) -> ModuleType:
    """A module of the server extra, with install advice when FastAPI is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(
            f"swarmlet serve needs the server extra ({exc}); "
            "install it with: pip install 'swarmlet[server]'"
        ) from None


class MCPTransport(str, Enum):
    """How ``swarmlet mcp`` talks to its clients."""

    stdio = "stdio"
    http = "http"


@app.command("mcp")
def mcp_(
    target: Annotated[str, typer.Argument(metavar="MODULE:AGENT", help="e.g. app.py:triage")],
    transport: Annotated[MCPTransport, typer.Option(help="stdio or streamable HTTP.")] = (
        MCPTransport.stdio
    ),
    host: Annotated[str, typer.Option(help="HTTP address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port to listen on.")] = 8000,
    tool_name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Name of the MCP tool (default: ask_<agent name>)."),
    ] = None,
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Serve a swarm as an MCP server: one tool that runs it on a request and answers.

    Over HTTP, set SWARMLET_MCP_TOKEN to require 'Authorization: Bearer <token>'.
    """
    with _friendly_errors():
        try:
            expose = importlib.import_module("swarmlet.mcp.expose")
        except ImportError as exc:
            raise UsageError(
                f"swarmlet mcp needs the mcp extra ({exc}); install it with: "
                "pip install 'swarmlet[mcp]'"
            ) from None
        from swarmlet.core import Swarm

        agent = load_agent(target)
        variables = _context(context, context_file)
        resolved = _resolve(agent, model, base_url)
        server = expose.swarm_mcp_server(
            agent,
            Swarm(client=resolved.client if resolved else None),
            model_override=resolved.model_override if resolved else None,
            context_variables=variables,
            tool_name=tool_name,
        )
        expose.serve_swarm(server, transport.value, host, port)


@app.command("eval")
def eval_(
    cases: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Argument(help="Eval-case JSON files (default with --example: its own)."),
    ] = None,
    agent: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--agent", metavar="MODULE:AGENT", help="The agent under test."),
    ] = None,
    example: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--example", help="Evaluate a bundled example instead of --agent."),
    ] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="Runs per case.")] = 5,
    concurrency: Annotated[int, typer.Option(min=1, help="Runs at the same time.")] = 8,
    min_accuracy: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(min=0.0, max=1.0, help="Exit 1 when overall accuracy is lower."),
    ] = None,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", help="Write the results as JSON."),
    ] = None,
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Check that an agent calls the expected function for each case (Swarm's eval format)."""
    with _friendly_errors():
        subject, variables, loaded = _eval_inputs(cases or [], agent, example)
        variables.update(_context(context, context_file))
        resolved = _resolve(subject, model, base_url)
        report = asyncio.run(
            _run_with_progress(subject, loaded, variables, resolved, n, concurrency)
        )
    print_report(report, Console(soft_wrap=False))
    if out is not None:
        out.write_text(report.to_json() + "\n", encoding="utf-8")
    if min_accuracy is not None and report.accuracy < min_accuracy:
        _stderr().print(
            f"Accuracy {report.accuracy:.1%} is below --min-accuracy {min_accuracy:.1%}.",
            style="red",
            markup=False,
        )
        raise typer.Exit(1)


def _eval_inputs(
    paths: list[Path], agent: str | None, example: str | None
) -> tuple[Agent, dict[str, Any], list[EvalCase]]:
    """The agent under test, its starting context and the cases, from the eval options."""
    if (agent is None) == (example is None):
        raise UsageError("give exactly one of --agent MODULE:AGENT or --example NAME")
    if agent is not None:
        if not paths:
            raise UsageError("give at least one eval-case file with --agent")
        subject, variables = load_agent(agent), {}
    else:
        loaded = importlib.import_module("swarmlet.examples").load(example)
        subject, variables = loaded.agent, copy.deepcopy(loaded.context_variables)
        paths = paths or list(loaded.eval_cases.values())
        if not paths:
            raise UsageError(f"example {example!r} has no eval cases; pass a case file")
    cases = [case for path in paths for case in load_cases(path)]
    if not cases:
        raise UsageError("the eval-case files hold no cases")
    return subject, variables, cases


async def _run_with_progress(
    agent: Agent,
    cases: list[EvalCase],
    variables: dict[str, Any],
    resolved: ResolvedModel | None,
    n: int,
    concurrency: int,
) -> EvalReport:
    columns = (TextColumn("eval"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=_stderr(), transient=True) as progress:
        task = progress.add_task("runs", total=len(cases) * n)
        return await run_evals(
            agent,
            cases,
            client=resolved.client if resolved else None,
            n=n,
            concurrency=concurrency,
            progress=lambda _outcome: progress.advance(task),
            context_variables=variables,
            model_override=resolved.model_override if resolved else None,
        )


def print_report(report: EvalReport, console: Console) -> None:
    """A table with one row per case, then the overall accuracy."""
    table = Table(title="Eval results", show_lines=False)
    for column in ("Case", "Last user message", "Expected", "Got", "Accuracy"):
        table.add_column(column, overflow="fold")
    for result in report.cases:
        got = ", ".join(f"{label} ×{count}" for label, count in result.counts.items())
        table.add_row(
            result.case.source,
            result.case.last_user_message,
            result.to_dict()["expected"],
            got,
            f"{result.accuracy:.0%} ({result.correct}/{len(result.runs)})",
        )
    console.print(table)
    console.print(
        f"Overall accuracy: {report.accuracy:.1%} ({report.correct}/{report.runs} runs)",
        markup=False,
        highlight=False,
    )
    for result in report.cases:
        for error in dict.fromkeys(result.errors):  # each distinct error once
            console.print(f"{result.case.source}: {error}", style="red", markup=False)


@app.command()
def batch(
    target: Annotated[str, typer.Argument(metavar="MODULE:AGENT", help="e.g. app.py:triage")],
    inputs: Annotated[Path, typer.Argument(help="JSONL: {id?, input, context_variables?}")],
    out: Annotated[Path, typer.Option("--out", help="Results JSONL (appended to).")],
    concurrency: Annotated[int, typer.Option(min=1, help="Runs at the same time.")] = 64,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the ids already in --out.")
    ] = False,
    ray: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Run on Ray: --ray alone starts a local instance; or a cluster address.",
        ),
    ] = None,
    max_turns: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--max-turns", min=1, help="Model calls per run at most."),
    ] = None,
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Run an agent over every line of a JSONL file, resumably (see swarmlet.batch)."""
    with _friendly_errors():
        agent = load_agent(target)
        job = BatchJob(
            target=target,
            agent=agent,
            inputs=inputs,
            out=out,
            concurrency=concurrency,
            resume=resume,
            ray_address=ray,
            context_variables=_context(context, context_file),
            max_turns=max_turns,
            model=model,
            base_url=base_url,
        )
        resolved = _resolve(agent, model, base_url) if ray is None else None
        code = execute_batch(job, resolved, _stderr())
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":
    main()
