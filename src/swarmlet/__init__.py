"""swarmlet: Swarm-compatible, production-grade multi-agent orchestration."""

__version__ = "0.1.0"
