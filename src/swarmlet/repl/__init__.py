"""The terminal REPL (``run_demo_loop``), at Swarm's import paths.

``swarmlet.repl.run_demo_loop`` and ``swarmlet.repl.repl.run_demo_loop`` (Swarm's module path,
with ``pretty_print_messages`` and ``process_and_print_streaming_response``) are the same
function; the session itself lives in :mod:`swarmlet.repl.session`.
"""

from swarmlet.repl.repl import pretty_print_messages, process_and_print_streaming_response
from swarmlet.repl.session import MAX_RESULT_CHARS, arun_demo_loop, run_demo_loop

__all__ = [
    "MAX_RESULT_CHARS",
    "arun_demo_loop",
    "pretty_print_messages",
    "process_and_print_streaming_response",
    "run_demo_loop",
]
