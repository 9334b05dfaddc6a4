"""A weather agent with a fake, deterministic forecast service and an email tool.

:func:`get_weather` derives the forecast from a hash of the place and time, so the same question
always gets the same answer and no network is needed. :func:`send_email` does not send anything:
it records the message in the context variables' ``outbox``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent, Result
from swarmlet.examples import Example

__all__ = ["build", "get_weather", "send_email", "weather_agent"]

MODEL = "gpt-4o-mini"
EVALS = Path(__file__).parent / "evals"

_CONDITIONS = ("sunny", "partly cloudy", "overcast", "light rain", "heavy rain", "snow", "fog")


def _forecast_seed(location: str, time: str) -> bytes:
    # Normalise so "Paris" and " paris " get the same forecast; sha256 because Python's
    # hash() is salted per process and would break determinism across runs.
    key = f"{location.strip().lower()}|{time.strip().lower()}"
    return hashlib.sha256(key.encode()).digest()


def get_weather(location: str, time: str = "now") -> str:
    """Get the weather for a place, now or at a given time.

    Args:
        location: a city or place name, e.g. "Lisbon".
        time: when, e.g. "now", "tomorrow" or "2025-07-01 15:00".
    """
    seed = _forecast_seed(location, time)
    conditions = _CONDITIONS[seed[0] % len(_CONDITIONS)]
    temperature = -10 + seed[1] % 46  # -10..35 °C
    if conditions == "snow":
        temperature = min(temperature, 1)  # keep the fake world physically plausible
    report = {
        "location": location.strip(),
        "time": time,
        "temperature_c": temperature,
        "conditions": conditions,
        "wind_kph": seed[2] % 60,
        "humidity_pct": 20 + seed[3] % 80,
    }
    return json.dumps(report)


def send_email(
    recipient: str, subject: str, body: str, context_variables: dict[str, Any]
) -> Result:
    """Send an email.

    Args:
        recipient: the address to send to.
        subject: the subject line.
        body: the message text.
    """
    message = {"to": recipient, "subject": subject, "body": body}
    # A new list, not an append: the run merges the returned context, it does not watch it.
    outbox = [*context_variables.get("outbox", []), message]
    return Result(value=f"Email to {recipient} sent.", context_variables={"outbox": outbox})


weather_agent = Agent(
    name="Weather Agent",
    model=MODEL,
    instructions=(
        "You are a weather assistant. Use get_weather for any question about weather, "
        "temperature or what to wear outside; pass the time only when the user names one. "
        "Send an email only when the user explicitly asks for one, and confirm the address "
        "first if it looks mistyped. Answer small talk without tools."
    ),
    functions=[get_weather, send_email],
)


def build(data_dir: Path | None = None) -> Example:
    """The weather example; it keeps no data, so ``data_dir`` is ignored."""
    return Example(
        name="weather_agent",
        description="A weather assistant with a deterministic fake forecast and an email tool.",
        agent=weather_agent,
        context_variables={},
        eval_cases={"weather": EVALS / "weather_cases.json"},
    )
