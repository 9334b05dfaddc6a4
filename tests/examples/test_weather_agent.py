"""The ``weather_agent`` example: deterministic fake forecasts, the email outbox, eval cases."""

from __future__ import annotations

import json

import pytest

from swarmlet import Swarm
from swarmlet.examples import load
from swarmlet.examples import weather_agent as ex
from swarmlet.testing import ScriptedModel, tool_call


def test_agent_and_tools() -> None:
    example = load("weather_agent")
    assert example.agent is ex.weather_agent
    assert example.agent.functions == [ex.get_weather, ex.send_email]


def test_weather_is_deterministic_json() -> None:
    report = json.loads(ex.get_weather("Lisbon"))
    assert report["location"] == "Lisbon" and report["time"] == "now"
    assert set(report) == {
        "location",
        "time",
        "temperature_c",
        "conditions",
        "wind_kph",
        "humidity_pct",
    }
    assert -10 <= report["temperature_c"] <= 35
    assert ex.get_weather("Lisbon") == ex.get_weather("Lisbon")
    assert json.loads(ex.get_weather("  lisbon ")) | {"location": "Lisbon"} == report


@pytest.mark.parametrize("time", ["now", "tomorrow", "2025-07-01 15:00"])
def test_places_and_times_get_different_forecasts(time: str) -> None:
    cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Perth", "Quito", "Tunis"]
    forecasts = {ex.get_weather(city, time) for city in cities}
    assert len(forecasts) == len(cities)
    assert ex.get_weather("Oslo", time) != ex.get_weather("Oslo", time + " later")


def test_snow_is_never_warm() -> None:
    reports = [json.loads(ex.get_weather(f"town {i}")) for i in range(300)]
    snowy = [r for r in reports if r["conditions"] == "snow"]
    assert snowy and all(r["temperature_c"] <= 1 for r in snowy)


def test_send_email_appends_to_the_outbox() -> None:
    first = ex.send_email("a@example.org", "Hi", "Sunny", {})
    second = ex.send_email("b@example.org", "Re", "Rain", first.context_variables)
    assert [m["to"] for m in second.context_variables["outbox"]] == [
        "a@example.org",
        "b@example.org",
    ]
    assert second.context_variables["outbox"][1] == {
        "to": "b@example.org",
        "subject": "Re",
        "body": "Rain",
    }


def test_conversation_gets_weather_then_emails_it() -> None:
    model = ScriptedModel(
        [
            tool_call("get_weather", {"location": "Oslo", "time": "tomorrow"}),
            tool_call(
                "send_email", {"recipient": "kari@example.org", "subject": "Oslo", "body": "x"}
            ),
            "Sent!",
        ]
    )
    messages = [{"role": "user", "content": "Oslo tomorrow? Email it to kari@example.org"}]
    response = Swarm(client=model).run(load("weather_agent").agent, messages)
    assert json.loads(response.messages[1]["content"]) == json.loads(
        ex.get_weather("Oslo", "tomorrow")
    )
    assert response.context_variables["outbox"][0]["to"] == "kari@example.org"
    assert response.agent is ex.weather_agent
    model.assert_all_consumed()


def test_eval_cases_name_real_functions() -> None:
    cases = json.loads(load("weather_agent").eval_cases["weather"].read_text())
    assert len(cases) >= 8
    allowed = {f.__name__ for f in ex.weather_agent.functions} | {"None"}
    assert all(case["function"] in allowed for case in cases)
    assert sum(case["function"] == "get_weather" for case in cases) >= 3
    assert sum(case["function"] == "None" for case in cases) >= 3
