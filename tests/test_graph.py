"""reachable_agents: recovering the agent graph from handoff functions."""

from __future__ import annotations

import functools

import pytest

from swarmlet import Agent, Result
from swarmlet.exceptions import UsageError
from swarmlet.graph import AGENT_ATTRIBUTE, reachable_agents

sales = Agent(name="Sales")
refunds = Agent(name="Refunds")


def transfer_to_sales() -> Agent:
    return sales


def transfer_via_helper() -> Agent:
    return _helper()


def _helper() -> Agent:
    return refunds


def transfer_in_result() -> Result:
    return Result(value="ok", agent=sales)


def test_globals_read_by_the_function_are_found() -> None:
    triage = Agent(name="Triage", functions=[transfer_to_sales])
    assert reachable_agents(triage) == {"Triage": triage, "Sales": sales}


def test_globals_of_called_helpers_and_in_results_are_found() -> None:
    triage = Agent(name="Triage", functions=[transfer_via_helper, transfer_in_result])
    assert set(reachable_agents(triage)) == {"Triage", "Refunds", "Sales"}


def test_closures_lambdas_defaults_and_partials_are_found() -> None:
    local = Agent(name="Local")
    lam = Agent(name="Lambda")
    default = Agent(name="Default")
    part = Agent(name="Partial")

    def closure() -> Agent:
        return local

    def pick(target: Agent = default) -> Agent:
        return target

    def choose(target: Agent) -> Agent:
        return target

    triage = Agent(
        name="Triage",
        functions=[closure, lambda: lam, pick, functools.partial(choose, part)],
    )
    assert set(reachable_agents(triage)) == {"Triage", "Local", "Lambda", "Default", "Partial"}


def test_cycles_and_lists_of_agents() -> None:
    a = Agent(name="A")
    b = Agent(name="B", functions=[lambda: a])
    a.functions.append(lambda: b)
    c = Agent(name="C")
    assert set(reachable_agents([a, c])) == {"A", "B", "C"}


def test_an_agent_tool_carries_its_agent() -> None:
    researcher = Agent(name="Researcher")

    def research(question: str) -> str:
        return question

    setattr(research, AGENT_ATTRIBUTE, researcher)
    lead = Agent(name="Lead", functions=[research])
    assert reachable_agents(lead)["Researcher"] is researcher


def test_agents_built_at_call_time_are_not_found() -> None:
    def transfer() -> Agent:
        return Agent(name="Built")

    assert set(reachable_agents(Agent(name="T", functions=[transfer]))) == {"T"}


def test_two_different_agents_with_one_name_are_refused() -> None:
    other_sales = Agent(name="Sales", instructions="something else")
    triage = Agent(name="Triage", functions=[transfer_to_sales, lambda: other_sales])
    with pytest.raises(UsageError, match="two different agents are named 'Sales'"):
        reachable_agents(triage)


def test_the_same_agent_twice_is_fine() -> None:
    triage = Agent(name="Triage", functions=[transfer_to_sales, lambda: sales])
    assert reachable_agents([triage, sales, triage])["Sales"] is sales


def test_non_agents_are_refused() -> None:
    with pytest.raises(UsageError, match="expected Agent"):
        reachable_agents(["Triage"])  # type: ignore[list-item]
