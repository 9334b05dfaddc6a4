"""Parallel data analysis: a coordinator delegates to specialists and merges typed findings.

The data is real: NOAA's daily Seattle weather for 2012-2015 as bundled by the
``vega_datasets`` package (:mod:`.data`), in a read-only SQLite database. Three specialist
agents (temperature, precipitation, wind) each have query tools and return a typed
:class:`Finding`; the coordinator calls them as tools (``Agent.as_tool``), in parallel in one
turn, and aggregates their findings into a typed :class:`Report` (``output_type``).

``scripted_model(data)`` is a stand-in model that plays every agent's part from the real query
results, so the whole example runs offline (tests, ``examples/analysis.py`` without a key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from swarmlet.agent import Agent
from swarmlet.examples import Example
from swarmlet.examples.analysis.data import WeatherData
from swarmlet.models.base import ModelRequest
from swarmlet.testing import ScriptedModel, output_json, tool_call

__all__ = [
    "QUESTION",
    "AnalysisAgents",
    "Figure",
    "Finding",
    "Report",
    "WeatherData",
    "build",
    "make_agents",
    "scripted_model",
]

MODEL = "gpt-4o-mini"
QUESTION = "How did Seattle's weather change from 2012 to 2015?"


class Figure(BaseModel):
    """One number behind a finding."""

    label: str = Field(description="What was measured, e.g. 'average temp_max 2015'.")
    value: float
    unit: str = Field(description="°C, mm, m/s or days.")


class Finding(BaseModel):
    """What one specialist found."""

    topic: str = Field(description="temperature, precipitation or wind")
    summary: str = Field(description="One or two sentences, with the key numbers.")
    figures: list[Figure] = Field(description="The numbers the summary rests on.")


class Report(BaseModel):
    """The coordinator's answer: every specialist's finding, aggregated."""

    title: str
    headline: str = Field(description="The answer to the question in one sentence.")
    findings: list[Finding]
    caveats: list[str] = Field(description="Limits of the data or the analysis.")


@dataclass(frozen=True)
class AnalysisAgents:
    """The coordinator and the specialists it delegates to."""

    coordinator: Agent
    temperature: Agent
    precipitation: Agent
    wind: Agent


_SPECIALIST = (
    "You are a {topic} analyst working on daily Seattle weather data (2012-2015). Use your "
    "tools to get the numbers (yearly_summary first; monthly_average or extremes when useful), "
    "then answer with a finding about {topic}: a short summary citing the numbers, and the "
    "figures themselves. Do not guess numbers you have not queried."
)


def make_agents(data: WeatherData, model: Any = MODEL) -> AnalysisAgents:
    """Build the coordinator and its three specialists over ``data``.

    ``model`` is a model name for the client's endpoint or a provider instance.
    """
    tools: list[Any] = [data.describe, data.yearly_summary, data.monthly_average, data.extremes]

    def specialist(topic: str, extra: list[Any]) -> Agent:
        return Agent(
            name=f"{topic.capitalize()} analyst",
            model=model,
            instructions=_SPECIALIST.format(topic=topic),
            functions=[*tools, *extra],
            output_type=Finding,
        )

    temperature = specialist("temperature", [])
    precipitation = specialist("precipitation", [data.weather_counts])
    wind = specialist("wind", [data.run_sql])
    coordinator = Agent(
        name="Coordinator",
        model=model,
        instructions=(
            "You answer questions about Seattle's weather in 2012-2015 by delegating. Call "
            "all three analysts in one turn (temperature_analyst, precipitation_analyst, "
            "wind_analyst), each with a precise task, then combine their findings into the "
            "report: a title, a one-sentence headline, every finding, and caveats."
        ),
        functions=[temperature.as_tool(), precipitation.as_tool(), wind.as_tool()],
        output_type=Report,
    )
    return AnalysisAgents(coordinator, temperature, precipitation, wind)


def build() -> Example:
    """The example for ``swarmlet demo analysis``."""
    agents = make_agents(WeatherData())
    return Example(
        name="analysis",
        description="Coordinator + 3 analysts in parallel on real Seattle weather data (SQLite)",
        agent=agents.coordinator,
    )


# ------------------------------------------------------------------ the offline stand-in model

_MEASURES = {"temperature": "temp_max", "precipitation": "precipitation", "wind": "wind"}
_UNITS = {"temp_max": "°C", "precipitation": "mm", "wind": "m/s"}


def scripted_model() -> ScriptedModel:
    """A model that plays every agent of the example, from the real query results.

    Specialists call ``yearly_summary`` and then report the first and last year's averages
    as they came back from the database; the coordinator calls the three specialists in one
    turn and then assembles their findings. Deterministic, offline.
    """
    return ScriptedModel(responder=_respond)


def _respond(request: ModelRequest) -> Any:
    if request.agent_name == "Coordinator":
        return _coordinate(request)
    topic = request.agent_name.split()[0].lower()
    return _analyse(topic, request)


def _analyse(topic: str, request: ModelRequest) -> Any:
    measure = _MEASURES[topic]
    last = request.messages[-1]
    if last["role"] != "tool":
        return tool_call("yearly_summary", {"measure": measure})
    years = json.loads(last["content"])
    first, final = years[0], years[-1]
    key = "total" if measure == "precipitation" else "average"
    unit = _UNITS[measure]
    figures = [
        Figure(label=f"{key} {measure} {row['year']}", value=row[key], unit=unit)
        for row in (first, final)
    ]
    change = final[key] - first[key]
    summary = (
        f"The yearly {key} of {measure} went from {first[key]} {unit} in {first['year']} to "
        f"{final[key]} {unit} in {final['year']} ({change:+.2f} {unit})."
    )
    return output_json(Finding(topic=topic, summary=summary, figures=figures))


def _ok(tool_message: dict[str, Any]) -> bool:
    return not str(tool_message["content"]).startswith("Error:")


def _coordinate(request: ModelRequest) -> Any:
    results = [m for m in request.messages if m["role"] == "tool"]
    if not results:
        return [
            tool_call(f"{topic}_analyst", {"task": f"Analyse {topic} from 2012 to 2015."})
            for topic in _MEASURES
        ]
    findings = [Finding.model_validate_json(m["content"]) for m in results if _ok(m)]
    failures = [f"a specialist failed: {m['content']}" for m in results if not _ok(m)]
    report = Report(
        title="Seattle weather, 2012-2015",
        headline="; ".join(
            f"{f.topic} {f.figures[0].value} -> {f.figures[-1].value} {f.figures[0].unit}"
            for f in findings
        ),
        findings=findings,
        caveats=[
            "Four years of one weather station; too short to separate trend from noise.",
            *failures,
        ],
    )
    return output_json(report)
