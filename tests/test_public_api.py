"""The released public surface, frozen: a change here is a deliberate API change.

Two layers. Swarm's own names, parameters (order, defaults) and model fields must stay exactly
as Swarm 0.1.1 has them, since a Swarm program runs after changing only its imports. swarmlet's
own additions are frozen as whole signatures, so that renaming or reordering one shows up in
review as a change to this file (update it, the CHANGELOG and the docs together).
"""

from __future__ import annotations

import inspect
import math

import pytest

import swarmlet
from swarmlet import Agent, Response, Result, Swarm

# swarm/core.py 0.1.1: run(self, agent, messages, context_variables={}, model_override=None,
# stream=False, debug=False, max_turns=float("inf"), execute_tools=True)
SWARM_RUN_PARAMETERS = [
    ("agent", inspect.Parameter.empty),
    ("messages", inspect.Parameter.empty),
    ("context_variables", None),  # Swarm's mutable {} default, with the same meaning
    ("model_override", None),
    ("stream", False),
    ("debug", False),
    ("max_turns", math.inf),
    ("execute_tools", True),
]


def test_top_level_names() -> None:
    assert sorted(swarmlet.__all__) == [
        "Agent",
        "Event",
        "GuardrailResult",
        "Response",
        "Result",
        "RunHooks",
        "RunState",
        "Swarm",
        "SwarmletError",
        "tool",
    ]
    for name in swarmlet.__all__:
        assert getattr(swarmlet, name) is not None


def test_swarm_run_keeps_swarms_positional_parameters() -> None:
    parameters = list(inspect.signature(Swarm.run).parameters.values())[1:]
    swarm_part = [(p.name, p.default) for p in parameters[: len(SWARM_RUN_PARAMETERS)]]
    assert swarm_part == SWARM_RUN_PARAMETERS
    assert all(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        for p in parameters[: len(SWARM_RUN_PARAMETERS)]
    )
    # Everything swarmlet adds is keyword-only, so Swarm's positional calls keep their meaning.
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[len(SWARM_RUN_PARAMETERS) :]
    )


@pytest.mark.parametrize(
    ("model", "swarm_fields"),
    [
        (
            Agent,
            {
                "name": "Agent",
                "model": "gpt-4o",
                "instructions": "You are a helpful agent.",
                "functions": [],
                "tool_choice": None,
                "parallel_tool_calls": True,
            },
        ),
        (Response, {"messages": [], "agent": None, "context_variables": {}}),
        (Result, {"value": "", "agent": None, "context_variables": {}}),
    ],
)
def test_swarm_model_fields_and_defaults(model: type, swarm_fields: dict[str, object]) -> None:
    made = model()
    for name, default in swarm_fields.items():
        assert getattr(made, name) == default, name


SIGNATURES = {
    "Swarm.__init__": "(self, client: 'Any' = None, *, tool_executor: 'Executor | None' = None, sync_tools: 'SyncTools | None' = None, max_retries: 'int | None' = None, timeout: 'float | None' = None) -> 'None'",  # noqa: E501
    "Swarm.run": "(self, agent: 'Agent', messages: 'str | list[dict[str, Any]]', context_variables: 'dict[str, Any] | None' = None, model_override: 'str | None' = None, stream: 'bool' = False, debug: 'bool' = False, max_turns: 'float' = inf, execute_tools: 'bool' = True, *, session: 'Session | None' = None, hooks: 'RunHooks | None' = None, input_guardrails: 'Sequence[Any]' = (), output_guardrails: 'Sequence[Any]' = (), sync_tools: 'SyncTools | None' = None) -> 'Response | Iterator[dict[str, Any]]'",  # noqa: E501
    "Swarm.run_async": "(self, agent: 'Agent', messages: 'str | list[dict[str, Any]]', context_variables: 'dict[str, Any] | None' = None, model_override: 'str | None' = None, debug: 'bool' = False, max_turns: 'float' = inf, execute_tools: 'bool' = True, *, session: 'Session | None' = None, hooks: 'RunHooks | None' = None, input_guardrails: 'Sequence[Any]' = (), output_guardrails: 'Sequence[Any]' = (), sync_tools: 'SyncTools | None' = None) -> 'Response'",  # noqa: E501
    "Swarm.stream": "(self, agent: 'Agent', messages: 'str | list[dict[str, Any]]', context_variables: 'dict[str, Any] | None' = None, model_override: 'str | None' = None, debug: 'bool' = False, max_turns: 'float' = inf, execute_tools: 'bool' = True, *, session: 'Session | None' = None, hooks: 'RunHooks | None' = None, input_guardrails: 'Sequence[Any]' = (), output_guardrails: 'Sequence[Any]' = (), sync_tools: 'SyncTools | None' = None) -> 'AsyncGenerator[Event, None]'",  # noqa: E501
    "Swarm.resume": "(self, state: 'RunState', *, debug: 'bool' = False, max_turns: 'float' = inf, model_override: 'str | None' = None, execute_tools: 'bool' = True, hooks: 'RunHooks | None' = None, output_guardrails: 'Sequence[Any]' = (), sync_tools: 'SyncTools | None' = None, session: 'Session | None' = None) -> 'Response'",  # noqa: E501
    "Swarm.map": "(self, agent: 'Agent', inputs: 'Iterable[MapInput]', *, concurrency: 'int' = 16, context_variables: 'dict[str, Any] | None' = None, model_override: 'str | None' = None, max_turns: 'float' = inf, execute_tools: 'bool' = True, progress: 'ProgressCallback | None' = None) -> 'list[Response | RunError]'",  # noqa: E501
    "Swarm.map_async": "(self, agent: 'Agent', inputs: 'Iterable[MapInput]', *, concurrency: 'int' = 16, context_variables: 'dict[str, Any] | None' = None, model_override: 'str | None' = None, max_turns: 'float' = inf, execute_tools: 'bool' = True, progress: 'ProgressCallback | None' = None) -> 'list[Response | RunError]'",  # noqa: E501
}


@pytest.mark.parametrize("qualified", sorted(SIGNATURES))
def test_signature_is_unchanged(qualified: str) -> None:
    owner, name = qualified.split(".")
    assert str(inspect.signature(getattr(getattr(swarmlet, owner), name))) == SIGNATURES[qualified]


def test_agent_fields() -> None:
    assert sorted(Agent.model_fields) == [
        "functions",
        "history_filter",
        "hooks",
        "input_guardrails",
        "instructions",
        "mcp_servers",
        "model",
        "model_settings",
        "name",
        "output_guardrails",
        "output_retries",
        "output_type",
        "parallel_tool_calls",
        "strict",
        "tool_choice",
        "tool_timeout",
    ]
    assert sorted(Response.model_fields) == [
        "agent",
        "context_variables",
        "interruptions",
        "messages",
        "output",
        "state",
        "sub_runs",
        "usage",
    ]
