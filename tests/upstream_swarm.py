"""OpenAI Swarm's source distribution, fetched from PyPI once, and a way to run its files.

``pip download --no-deps --no-binary :all: openai-swarm==0.1.1`` into the git-ignored
``.cache/openai-swarm/`` of the checkout; later runs reuse it. Nothing of Swarm's lives in this
repository: its tests and examples are copied from the cache into each test's temporary
directory and run there, unmodified, with tests/swarm_shim first on the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

VERSION = "0.1.1"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "openai-swarm"
SHIM = Path(__file__).resolve().parent / "swarm_shim"
_lock = threading.Lock()


def sdist() -> Path:
    """The unpacked ``openai_swarm-0.1.1`` directory, downloaded on first use."""
    unpacked = CACHE / f"openai_swarm-{VERSION}"
    with _lock:
        if not (unpacked / "tests" / "test_core.py").exists():
            _download_and_unpack()
    return unpacked


def _download_and_unpack() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = CACHE / f"openai_swarm-{VERSION}.tar.gz"
    if not archive.exists():
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        command += ["--quiet", "-d", str(CACHE), f"openai-swarm=={VERSION}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not archive.exists():
            raise RuntimeError(f"could not download openai-swarm {VERSION}: {done.stderr}")
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(CACHE, filter="data")
        else:  # pragma: no cover - Python < 3.10.12 has no extraction filters
            tar.extractall(CACHE)


def copy_into(target: Path, *parts: str) -> Path:
    """Copy ``parts`` of the sdist (e.g. ``"examples", "airline"``) to ``target``."""
    source = sdist().joinpath(*parts)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def environment(*extra_paths: Path, base_url: str | None = None) -> dict[str, str]:
    """The environment for running Swarm's files: the shim first on ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (SHIM, *extra_paths))
    env["PYTHONUNBUFFERED"] = "1"
    if base_url is not None:
        env["OPENAI_BASE_URL"] = base_url
        env["OPENAI_API_KEY"] = "test-key"
    return env
