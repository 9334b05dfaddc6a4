"""The `analysis` example: parallel specialists on the real Seattle dataset, typed report."""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from swarmlet import Swarm
from swarmlet.events import Event, ToolCallStarted
from swarmlet.examples import load
from swarmlet.examples.analysis import (
    QUESTION,
    Finding,
    Report,
    WeatherData,
    make_agents,
    scripted_model,
)
from swarmlet.examples.analysis.data import dataset_path
from swarmlet.testing import ScriptedModel, output_json, tool_call

ROOT = Path(__file__).resolve().parents[2]
USER = [{"role": "user", "content": QUESTION}]


@pytest.fixture(scope="module")
def data() -> WeatherData:
    return WeatherData()


def _yearly_from_csv(column: str) -> dict[str, list[float]]:
    """The dataset read independently of the example's SQLite code."""
    by_year: dict[str, list[float]] = defaultdict(list)
    with dataset_path().open(newline="") as file:
        for row in csv.DictReader(file):
            by_year[row["date"][:4]].append(float(row[column]))
    return by_year


def test_the_dataset_is_the_real_one(data: WeatherData) -> None:
    info = data.describe()
    assert (info["days"], info["first"], info["last"]) == (1461, "2012-01-01", "2015-12-31")
    counts = {
        r["weather"]: r["days"]
        for r in data.run_sql("SELECT weather, COUNT(*) AS days FROM weather GROUP BY weather")
    }
    assert sum(counts.values()) == 1461 and set(counts) == {"drizzle", "fog", "rain", "snow", "sun"}


def test_tools_agree_with_the_csv(data: WeatherData) -> None:
    years = _yearly_from_csv("temp_max")
    summary = {r["year"]: r for r in data.yearly_summary("temp_max")}
    for year, values in years.items():
        assert summary[year]["average"] == pytest.approx(statistics.mean(values), abs=0.005)
        assert summary[year]["maximum"] == max(values)
    wettest = data.extremes("precipitation", highest=True, n=1)[0]
    all_values = [v for vs in _yearly_from_csv("precipitation").values() for v in vs]
    assert wettest["value"] == max(all_values)
    months = data.monthly_average("wind")
    assert [m["month"] for m in months] == list(range(1, 13))


def test_the_database_is_read_only_and_bad_sql_is_explained(data: WeatherData) -> None:
    with pytest.raises(ValueError, match="readonly"):
        data.run_sql("DELETE FROM weather")
    with pytest.raises(ValueError, match="no such column"):
        data.run_sql("SELECT nope FROM weather")
    with pytest.raises(ValueError, match="unknown measure"):
        data.yearly_summary("humidity")  # type: ignore[arg-type]
    assert data.describe()["days"] == 1461


def test_the_coordinator_delegates_in_parallel_and_reports_the_real_numbers(
    data: WeatherData,
) -> None:
    model = scripted_model()
    agents = make_agents(data, model=model)
    response = Swarm().run(agents.coordinator, USER)
    report = response.output
    assert isinstance(report, Report)
    assert [f.topic for f in report.findings] == ["temperature", "precipitation", "wind"]
    # One coordinator turn called all three specialists at once.
    first = response.messages[0]
    assert sorted(c["function"]["name"] for c in first["tool_calls"]) == [
        "precipitation_analyst",
        "temperature_analyst",
        "wind_analyst",
    ]
    # The figures are the database's, end to end (checked against the CSV itself).
    temperature = report.findings[0]
    years = _yearly_from_csv("temp_max")
    assert temperature.figures[0].value == pytest.approx(statistics.mean(years["2012"]), abs=0.005)
    assert temperature.figures[-1].value == pytest.approx(statistics.mean(years["2015"]), abs=0.005)
    rain = report.findings[1]
    assert rain.figures[-1].value == pytest.approx(sum(_yearly_from_csv("precipitation")["2015"]))
    # Every specialist's sub-run is there for audit, with its real query.
    assert len(response.sub_runs) == 3
    for sub in response.sub_runs.values():
        assert isinstance(sub.output, Finding)
        assert sub.messages[0]["tool_calls"][0]["function"]["name"] == "yearly_summary"
        assert json.loads(sub.messages[1]["content"])[0]["year"] == "2012"


async def test_the_stream_shows_each_specialist_under_its_call(data: WeatherData) -> None:
    agents = make_agents(data, model=scripted_model())
    events: list[Event] = [e async for e in Swarm().stream(agents.coordinator, USER)]
    top_calls = {e.call_id: e.name for e in events if isinstance(e, ToolCallStarted) and not e.path}
    nested = {
        top_calls[e.path[0]]: e.name
        for e in events
        if isinstance(e, ToolCallStarted) and len(e.path) == 1
    }
    assert nested == {
        "temperature_analyst": "yearly_summary",
        "precipitation_analyst": "yearly_summary",
        "wind_analyst": "yearly_summary",
    }


def test_a_failing_specialist_is_reported_and_the_report_still_comes(data: WeatherData) -> None:
    def respond(request: Any) -> Any:
        if request.agent_name == "Wind analyst":
            return tool_call("run_sql", {"query": "SELECT nope FROM weather"})
        return scripted_model().responder(request)  # type: ignore[misc]

    agents = make_agents(data, model=ScriptedModel(responder=respond))
    response = Swarm().run(agents.coordinator, USER)
    wind_result = next(
        m["content"] for m in response.messages if m.get("tool_name") == "wind_analyst"
    )
    assert wind_result.startswith("Error:")
    assert "no final answer" in wind_result
    # The wind analyst saw SQLite's error each time (a tool error, not a crash).
    wind_run = next(r for r in response.sub_runs.values() if r.agent.name == "Wind analyst")
    assert "no such column: nope" in wind_run.messages[1]["content"]
    report = response.output
    assert [f.topic for f in report.findings] == ["temperature", "precipitation"]
    assert any("failed" in c and "Wind analyst" in c for c in report.caveats)


def test_the_example_loads_and_the_models_are_strict_schemas() -> None:
    example = load("analysis")
    assert example.agent.name == "Coordinator"
    assert example.agent.output_type is Report
    report_format = json.loads(
        output_json(Report(title="t", headline="h", findings=[], caveats=[]))
    )
    assert set(report_format) == {"title", "headline", "findings", "caveats"}


def test_the_script_runs_offline() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "analysis.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Seattle weather, 2012-2015" in result.stdout
    assert "  Wind analyst -> yearly_summary" in result.stdout
