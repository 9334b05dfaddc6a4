"""A package named ``swarm`` that is swarmlet, for running Swarm's own tests and examples.

Test support only (see tests/swarm_shim/README.md): ``import swarm`` gives swarmlet's names,
and ``swarm.core``, ``swarm.types``, ``swarm.util``, ``swarm.repl`` and ``swarm.repl.repl`` are
swarmlet's modules of the same names.
"""

import sys

import swarmlet.core
import swarmlet.repl.repl
import swarmlet.types
import swarmlet.util
from swarmlet import Agent, Response, Swarm

for _name in ("core", "types", "util", "repl", "repl.repl"):
    sys.modules[f"{__name__}.{_name}"] = sys.modules[f"swarmlet.{_name}"]

core, types, util, repl = swarmlet.core, swarmlet.types, swarmlet.util, swarmlet.repl

__all__ = ["Agent", "Response", "Swarm"]
