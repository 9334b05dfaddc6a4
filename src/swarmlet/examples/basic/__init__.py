"""The smallest useful swarmlet programs, one agent per idea, plus a greeter using them all.

* :data:`hello_agent` — one agent, no tools: the model just answers.
* :data:`function_agent` — function calling with :func:`get_time` and :func:`add`.
* :data:`english_agent` → :data:`korean_agent` — a handoff: a tool that returns an Agent.
* :data:`context_agent` — context variables: :func:`greet` reads them, :func:`remember_name`
  updates them with a :class:`~swarmlet.Result`.
* :data:`greeter` — the demo's starting agent, combining all of the above.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent, Result
from swarmlet.examples import Example

__all__ = [
    "add",
    "build",
    "context_agent",
    "english_agent",
    "function_agent",
    "get_time",
    "greet",
    "greeter",
    "hello_agent",
    "korean_agent",
    "remember_name",
    "transfer_to_korean",
]

MODEL = "gpt-4o-mini"


def get_time() -> str:
    """Return the current UTC date and time in ISO 8601 format."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def add(a: float, b: float) -> float:
    """Add two numbers and return the sum.

    Args:
        a: the first number.
        b: the second number.
    """
    return a + b


def greet(context_variables: dict[str, Any]) -> str:
    """Greet the user by the name remembered in the context, if any."""
    name = context_variables.get("user_name")
    return f"Hello, {name}! Nice to see you again." if name else "Hello! What should I call you?"


def remember_name(name: str) -> Result:
    """Remember the user's name for the rest of the conversation.

    Args:
        name: the name the user wants to be called.
    """
    return Result(value=f"I'll call you {name}.", context_variables={"user_name": name})


def _context_instructions(context_variables: dict[str, Any]) -> str:
    # Instructions are a callable so the prompt follows the context as it changes.
    name = context_variables.get("user_name") or "unknown (ask for it and remember it)"
    return (
        "You are a friendly assistant who remembers people. "
        f"The user's name is: {name}. Use the greet tool to say hello."
    )


hello_agent = Agent(
    name="Hello Agent",
    model=MODEL,
    instructions="You are a cheerful assistant. Answer in one or two short sentences.",
)

function_agent = Agent(
    name="Function Agent",
    model=MODEL,
    instructions="You answer questions about the time and do sums, always using your tools.",
    functions=[get_time, add],
)

korean_agent = Agent(
    name="Korean Agent",
    model=MODEL,
    instructions="You only speak Korean. Answer every message in Korean, politely.",
)


def transfer_to_korean() -> Agent:
    """Hand the conversation to the Korean-speaking agent when the user writes in Korean."""
    return korean_agent


english_agent = Agent(
    name="English Agent",
    model=MODEL,
    instructions=(
        "You only speak English. If the user writes in Korean, hand off to the Korean agent."
    ),
    functions=[transfer_to_korean],
)

context_agent = Agent(
    name="Context Agent",
    model=MODEL,
    instructions=_context_instructions,
    functions=[greet, remember_name],
)


def _greeter_instructions(context_variables: dict[str, Any]) -> str:
    name = context_variables.get("user_name") or "not known yet"
    return (
        "You are Pip, a small greeter showing off what an agent can do. "
        "Tell the time with get_time, do arithmetic with add, remember the user's name with "
        "remember_name and greet them with greet. If the user writes in Korean, hand off with "
        f"transfer_to_korean. The user's name is {name}."
    )


greeter = Agent(
    name="Greeter",
    model=MODEL,
    instructions=_greeter_instructions,
    functions=[get_time, add, greet, remember_name, transfer_to_korean],
)


def build(data_dir: Path | None = None) -> Example:
    """The basic example; it keeps no data, so ``data_dir`` is ignored."""
    return Example(
        name="basic",
        description="One greeter agent with tools, context variables and a Korean handoff.",
        agent=greeter,
        context_variables={},
        eval_cases={},
    )
