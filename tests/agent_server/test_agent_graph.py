"""The static agent-graph walk: what it finds, and what it documents it cannot."""

from __future__ import annotations

import functools
from typing import Any

from swarmlet import Agent, Result
from swarmlet.examples import load
from swarmlet.server.agent_graph import describe_graph

leaf = Agent(name="Leaf", instructions="I am a leaf.")


def to_leaf_global() -> Agent:
    """Hand off through a module global."""
    return leaf


def test_airline_graph_has_every_agent_and_the_back_edges() -> None:
    graph = describe_graph(load("airline").agent)
    names = {a.name for a in graph.agents}
    assert names == {
        "Triage Agent",
        "Flight Modification Agent",
        "Flight Cancel Agent",
        "Flight Change Agent",
        "Lost Baggage Agent",
    }
    pairs = {(e.source, e.target) for e in graph.edges}
    assert ("Triage Agent", "Lost Baggage Agent") in pairs
    assert ("Flight Cancel Agent", "Triage Agent") in pairs  # cycles are walked once
    assert all(a.instructions == "dynamic" for a in graph.agents)
    assert not graph.truncated


def test_closures_partials_results_and_globals() -> None:
    by_closure = Agent(name="Closure")
    by_partial = Agent(name="Partial")
    by_result = Agent(name="ViaResult")

    def to_closure() -> Agent:
        return by_closure

    def pick(target: Agent) -> Agent:
        return target

    def to_result() -> Result:
        return Result(value="ok", agent=by_result)

    root = Agent(
        name="Root",
        functions=[to_closure, functools.partial(pick, by_partial), to_result, to_leaf_global],
    )
    graph = describe_graph(root)
    targets = {e.target for e in graph.edges}
    assert targets == {"Closure", "Partial", "ViaResult", "Leaf"}


def test_callable_object_tools_are_inspected_through_call() -> None:
    class Transfer:
        __name__ = "transfer_to_leaf"

        def __call__(self) -> Agent:
            return leaf

    graph = describe_graph(Agent(name="Root", functions=[Transfer()]))
    assert [(e.target, e.tool) for e in graph.edges] == [("Leaf", "transfer_to_leaf")]


def test_agent_tools_are_agent_tool_edges() -> None:
    helper = Agent(name="Helper")

    def ask_helper(question: str) -> str:
        """Ask the helper."""
        return question

    ask_helper.__swarmlet_agent__ = helper  # type: ignore[attr-defined]  # as Agent.as_tool does
    graph = describe_graph(Agent(name="Root", functions=[ask_helper]))
    assert [(e.target, e.kind) for e in graph.edges] == [("Helper", "agent_tool")]
    assert graph.agents[0].tools[0].agent_tools == ["Helper"]


def test_runtime_built_agents_cannot_be_found_statically() -> None:
    def make_agent(name: str) -> Agent:
        return Agent(name=name)

    graph = describe_graph(Agent(name="Root", functions=[make_agent]))
    assert graph.edges == []
    assert [a.name for a in graph.agents] == ["Root"]


def test_dynamic_instructions_and_tool_schemas() -> None:
    def instructions(context_variables: dict[str, Any]) -> str:
        """Greets the user by name."""
        return f"Hi {context_variables['name']}"

    def add(a: int, b: int = 2) -> int:
        """Add two numbers."""
        return a + b

    graph = describe_graph(Agent(name="Calc", instructions=instructions, functions=[add]))
    node = graph.agents[0]
    assert (node.instructions, node.instructions_doc) == ("dynamic", "Greets the user by name.")
    tool = node.tools[0]
    assert (tool.name, tool.description) == ("add", "Add two numbers.")
    assert tool.parameters["required"] == ["a"]


def test_a_tool_without_a_schema_does_not_hide_the_graph() -> None:
    graph = describe_graph(Agent(name="Root", functions=[lambda: leaf, to_leaf_global]))
    broken = graph.agents[0].tools[0]
    assert broken.schema_error is not None and "SchemaError" in broken.schema_error
    assert {a.name for a in graph.agents} == {"Root", "Leaf"}
