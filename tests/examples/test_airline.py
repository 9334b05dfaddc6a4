"""The ``airline`` example: routing graph, policy routines, context-recording tools, eval cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.examples import airline as ex
from swarmlet.examples import load
from swarmlet.examples.airline import policies, tools
from swarmlet.testing import ScriptedModel, tool_call

TRANSFERS = {
    "transfer_to_flight_modification": "flight_modification",
    "transfer_to_flight_cancel": "flight_cancel",
    "transfer_to_flight_change": "flight_change",
    "transfer_to_lost_baggage": "lost_baggage",
    "transfer_to_triage": "triage_agent",
}


def names(agent: Agent) -> set[str]:
    return {f.__name__ for f in agent.functions}


def context(**flight: Any) -> dict[str, Any]:
    ctx = ex.default_context()
    ctx["flight"].update(flight)
    return ctx


@pytest.mark.parametrize(("function", "agent"), TRANSFERS.items())
def test_transfer_functions_return_the_right_agents(function: str, agent: str) -> None:
    assert getattr(ex, function)() is getattr(ex, agent)


def test_graph_edges() -> None:
    assert load("airline").agent is ex.triage_agent
    assert {"transfer_to_flight_modification", "transfer_to_lost_baggage"} <= names(ex.triage_agent)
    assert names(ex.flight_modification) == {
        "transfer_to_flight_cancel",
        "transfer_to_flight_change",
        "transfer_to_triage",
    }
    assert {"initiate_refund", "initiate_flight_credits", "case_resolved"} <= names(
        ex.flight_cancel
    )
    assert {"valid_to_change_flight", "change_flight"} <= names(ex.flight_change)
    assert "initiate_baggage_search" in names(ex.lost_baggage)
    for specialist in (ex.flight_cancel, ex.flight_change, ex.lost_baggage):
        assert {"transfer_to_triage", "escalate_to_agent"} <= names(specialist)


def test_instructions_show_policy_and_live_context() -> None:
    ctx = context(confirmation="ZZ9PLR")
    text = ex.flight_cancel.instructions(ctx)  # type: ignore[operator]
    assert policies.FLIGHT_CANCELLATION_POLICY in text and policies.BASE_PROMPT in text
    assert "ZZ9PLR" in text and "Mara Lindqvist" in text
    assert policies.LOST_BAGGAGE_POLICY in ex.lost_baggage.instructions({})  # type: ignore[operator]


def test_policies_are_numbered_routines_naming_real_tools() -> None:
    every_tool = set().union(
        *(
            names(a)
            for a in (
                ex.triage_agent,
                ex.flight_modification,
                ex.flight_cancel,
                ex.flight_change,
                ex.lost_baggage,
            )
        )
    )
    for routine in (
        policies.FLIGHT_CANCELLATION_POLICY,
        policies.FLIGHT_CHANGE_POLICY,
        policies.LOST_BAGGAGE_POLICY,
        policies.TRIAGE_ROUTING,
        policies.MODIFICATION_ROUTING,
    ):
        assert "\n1. " in routine and "\n2. " in routine
        mentioned = {word for word in every_tool if word in routine}
        assert mentioned, routine[:40]


def test_default_context_is_a_fresh_copy() -> None:
    first = load("airline").context_variables
    first["flight"]["status"] = "cancelled"
    assert load("airline").context_variables["flight"]["status"] == "scheduled"


def test_change_is_allowed_only_before_the_cutoff() -> None:
    assert tools.valid_to_change_flight(context()) == "The flight can be changed."
    late = context(hours_until_departure=tools.CHANGE_CUTOFF_HOURS - 1)
    assert "cannot be changed" in tools.valid_to_change_flight(late)
    assert tools.change_flight(late) == tools.valid_to_change_flight(late).replace(
        "The flight cannot be changed", "Change refused"
    )


def test_change_flight_records_and_is_idempotent() -> None:
    result = tools.change_flight(context())
    assert not isinstance(result, str)
    assert result.context_variables["flight"]["status"] == "changed"
    again = tools.change_flight({**context(), **result.context_variables})
    assert isinstance(again, str) and "already changed" in again


def test_refund_and_credits_cancel_once() -> None:
    refund = tools.initiate_refund(context())
    assert not isinstance(refund, str)
    assert refund.context_variables["refund_eur"] == 238
    assert refund.context_variables["flight"]["status"] == "cancelled"
    after = {**context(), **refund.context_variables}
    assert tools.initiate_refund(after) == "No refund started: the booking is already cancelled."
    assert tools.initiate_flight_credits(after) == (
        "No credits issued: the booking is already cancelled."
    )
    credits = tools.initiate_flight_credits(context(fare_paid_eur=100))
    assert not isinstance(credits, str)
    assert credits.context_variables["credits_eur"] == 110.0


def test_baggage_escalation_and_resolution_are_recorded() -> None:
    search = tools.initiate_baggage_search(context())
    assert search.context_variables["baggage_search"] == {"tag": "ARN-558201", "found": True}
    assert "ARN-558201" in search.value and "Lisbon" in search.value
    assert tools.escalate_to_agent("wants a window seat").context_variables == {
        "escalation": "wants a window seat"
    }
    assert tools.escalate_to_agent().context_variables == {"escalation": "no reason given"}
    assert tools.case_resolved().context_variables == {"case_status": "resolved"}


def test_conversation_cancels_a_flight_for_credits() -> None:
    model = ScriptedModel(
        [
            tool_call("transfer_to_flight_modification"),
            tool_call("transfer_to_flight_cancel"),
            tool_call("initiate_flight_credits"),
            tool_call("case_resolved"),
            "Your flight is cancelled and EUR 261.8 in credits are on your account.",
        ]
    )
    example = load("airline")
    messages = [{"role": "user", "content": "Cancel my flight, I'll take credits"}]
    response = Swarm(client=model).run(example.agent, messages, example.context_variables)
    assert response.agent is ex.flight_cancel
    assert response.context_variables["flight"]["status"] == "cancelled"
    assert response.context_variables["credits_eur"] == pytest.approx(261.8)
    assert response.context_variables["case_status"] == "resolved"
    assert [r.agent_name for r in model.requests] == [
        "Triage Agent",
        "Flight Modification Agent",
        "Flight Cancel Agent",
        "Flight Cancel Agent",
        "Flight Cancel Agent",
    ]
    # The cancel agent's prompt after the tool call shows the updated booking.
    assert '"status": "cancelled"' in model.requests[3].messages[0]["content"]
    model.assert_all_consumed()


@pytest.mark.parametrize(
    ("label", "agent"), [("triage", "triage_agent"), ("flight_modification", "flight_modification")]
)
def test_eval_cases_name_real_functions(label: str, agent: str) -> None:
    cases = json.loads(load("airline").eval_cases[label].read_text())
    assert len(cases) >= 8
    allowed = names(getattr(ex, agent)) | {"None"}
    assert all(case["function"] in allowed for case in cases)
    assert all(case["conversation"][-1]["role"] == "user" for case in cases)
    assert any(case["function"] == "None" for case in cases)
