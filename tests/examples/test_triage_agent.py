"""The ``triage_agent`` example: routing, transfer-back, refund and discount tools, eval cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swarmlet import Agent, Swarm
from swarmlet.examples import load
from swarmlet.examples import triage_agent as ex
from swarmlet.testing import ScriptedModel, tool_call


def names(agent: Agent) -> set[str]:
    return {f.__name__ for f in agent.functions}


def read_cases(path: Path) -> list[dict[str, Any]]:
    cases = json.loads(path.read_text())
    assert isinstance(cases, list) and len(cases) >= 8
    return cases


def test_graph_is_wired() -> None:
    example = load("triage_agent")
    assert example.agent is ex.triage_agent
    assert ex.transfer_to_sales() is ex.sales_agent
    assert ex.transfer_to_refunds() is ex.refunds_agent
    assert ex.transfer_back_to_triage() is ex.triage_agent
    assert names(ex.triage_agent) == {"transfer_to_sales", "transfer_to_refunds"}
    assert names(ex.sales_agent) == {"apply_discount", "transfer_back_to_triage"}
    assert names(ex.refunds_agent) == {
        "process_refund",
        "apply_discount",
        "transfer_back_to_triage",
    }


def test_tools_record_what_they_did() -> None:
    refund = ex.process_refund("item_9")
    assert refund.context_variables == {
        "last_refund": {"item_id": "item_9", "reason": "NOT SPECIFIED"}
    }
    assert "item_9" in refund.value
    assert (
        ex.process_refund("item_9", "too small").context_variables["last_refund"]["reason"]
        == "too small"
    )
    assert ex.apply_discount().context_variables == {"discount": "11%"}


def test_conversation_routes_to_refunds_and_refunds() -> None:
    model = ScriptedModel(
        [
            tool_call("transfer_to_refunds"),
            tool_call("process_refund", {"item_id": "item_77", "reason": "snapped"}),
            "Your refund is on its way.",
        ]
    )
    messages = [{"role": "user", "content": "My rake item_77 snapped, refund please"}]
    response = Swarm(client=model).run(ex.triage_agent, messages)
    assert response.agent is ex.refunds_agent
    assert response.context_variables["last_refund"] == {"item_id": "item_77", "reason": "snapped"}
    assert [r.agent_name for r in model.requests] == [
        "Triage Agent",
        "Refunds Agent",
        "Refunds Agent",
    ]
    offered = {t["function"]["name"] for t in model.requests[1].tools}
    assert offered == names(ex.refunds_agent)
    model.assert_all_consumed()


def test_transfer_back_returns_to_triage() -> None:
    model = ScriptedModel(
        [tool_call("transfer_to_sales"), tool_call("transfer_back_to_triage"), "Hello again"]
    )
    response = Swarm(client=model).run(ex.triage_agent, [{"role": "user", "content": "hm"}])
    assert response.agent is ex.triage_agent
    assert [r.agent_name for r in model.requests] == ["Triage Agent", "Sales Agent", "Triage Agent"]


def test_eval_cases_name_real_functions() -> None:
    cases = read_cases(load("triage_agent").eval_cases["triage"])
    allowed = names(ex.triage_agent) | {"None"}
    for case in cases:
        assert case["function"] in allowed
        assert case["conversation"][-1]["role"] == "user"
        assert all(set(m) == {"role", "content"} for m in case["conversation"])
    assert {c["function"] for c in cases} == allowed  # every outcome is exercised
