"""Example apps: six ported from the ideas of Swarm's examples (the text is swarmlet's own), and
``analysis`` (delegation to parallel specialists over a real dataset).

Each example is a package ``swarmlet.examples.<name>`` with a ``build()`` function returning an
:class:`Example`: the starting agent, the context a REPL should begin with and the eval-case
files that come with it. ``swarmlet demo NAME`` and ``swarmlet eval --example NAME`` use
:func:`load`; nothing is imported until an example is asked for, so the sqlite-backed examples
cost nothing to the rest of the package.

::

    from swarmlet import Swarm
    from swarmlet.examples import load

    example = load("triage_agent")
    Swarm().run(example.agent, [{"role": "user", "content": "I want my money back"}],
                context_variables=example.context_variables)
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent
from swarmlet.exceptions import UsageError

__all__ = ["NAMES", "Example", "data_dir", "load"]

NAMES: list[str] = [
    "basic",
    "triage_agent",
    "weather_agent",
    "airline",
    "personal_shopper",
    "support_bot",
    "analysis",
]
"""The examples :func:`load` knows, in the order a tour of them makes sense."""

DATA_DIR_ENV = "SWARMLET_DATA_DIR"
"""Environment variable that moves the examples' on-disk data (sqlite databases)."""


@dataclass(frozen=True)
class Example:
    """A runnable example app.

    Attributes:
        name: the name :func:`load` knows it by.
        description: one line for listings.
        agent: the agent a conversation starts with.
        context_variables: the context a REPL should start with (copy it before mutating).
        eval_cases: eval-case JSON files by label (e.g. ``{"triage": Path(...)}``); may be empty.
    """

    name: str
    description: str
    agent: Agent
    context_variables: dict[str, Any] = field(default_factory=dict)
    eval_cases: dict[str, Path] = field(default_factory=dict)


def load(name: str) -> Example:
    """Import ``swarmlet.examples.<name>`` and return its :class:`Example`.

    Raises:
        UsageError: ``name`` is not one of :data:`NAMES`.
    """
    if name not in NAMES:
        raise UsageError(f"unknown example {name!r}; choose one of: {', '.join(NAMES)}")
    module = importlib.import_module(f"{__name__}.{name}")
    example = module.build()
    if not isinstance(example, Example):  # a broken example should fail here, not in the CLI
        raise TypeError(f"{module.__name__}.build() returned {type(example).__name__}")
    return example


def data_dir(override: Path | None = None) -> Path:
    """Where examples keep their data (not created here: examples create it on first use).

    ``override`` wins, then ``$SWARMLET_DATA_DIR``, then the platform's per-user data directory
    (``$XDG_DATA_HOME/swarmlet``, ``~/.local/share/swarmlet`` or ``%LOCALAPPDATA%\\swarmlet``).
    """
    if override is not None:
        path = Path(override)
    elif os.environ.get(DATA_DIR_ENV):
        path = Path(os.environ[DATA_DIR_ENV])
    elif os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        path = Path(os.environ["LOCALAPPDATA"]) / "swarmlet"
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        path = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "swarmlet"
    return path
