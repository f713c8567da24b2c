"""The console script's defaults for polars' allocator (``_RJEM_MALLOC_CONF``) and pyarrow's
memory pool (``ARROW_DEFAULT_MEMORY_POOL``)."""

from __future__ import annotations

import os
import subprocess
import sys

from outbox.settings import ALLOCATOR_DEFAULTS, apply_allocator_defaults


def _python(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_DEFAULTS} | extra
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )


def test_the_default_is_set_only_where_the_caller_set_nothing() -> None:
    env: dict[str, str] = {}
    assert apply_allocator_defaults(env) == set(ALLOCATOR_DEFAULTS)
    assert env == {"_RJEM_MALLOC_CONF": "narenas:1", "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}
    mine = {"_RJEM_MALLOC_CONF": "narenas:4", "ARROW_DEFAULT_MEMORY_POOL": "system"}
    assert apply_allocator_defaults(mine) == set()
    assert mine == {"_RJEM_MALLOC_CONF": "narenas:4", "ARROW_DEFAULT_MEMORY_POOL": "system"}


def test_polars_reads_the_variable() -> None:
    """jemalloc complains about an option it does not know: proof that polars' allocator reads
    this variable (a polars release with another allocator would fail here)."""
    done = _python(
        "import polars as pl; pl.DataFrame({'a': [1, 2]}).sum()",
        _RJEM_MALLOC_CONF="narenas:1,no_such_option:1",
    )
    assert "Invalid conf pair: no_such_option:1" in done.stderr


def test_the_console_script_sets_it_before_polars_is_loaded() -> None:
    done = _python(
        "import os, sys\n"
        "import clean_my_data.main\n"
        "assert 'polars' not in sys.modules, 'clean_my_data.main loads polars before main() runs'\n"
        "try:\n"
        "    clean_my_data.main.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ['_RJEM_MALLOC_CONF'])\n"
    )
    assert done.stdout.strip().endswith("narenas:1")


def test_the_console_script_gives_pyarrow_the_jemalloc_pool_unless_the_caller_chose() -> None:
    """pyarrow picks its pool when it is imported, before the script runs: the script switches
    it, and leaves a pool the caller named in ARROW_DEFAULT_MEMORY_POOL alone."""
    code = (
        "import clean_my_data.main, pyarrow as pa\n"
        "try:\n"
        "    clean_my_data.main.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    assert _python(code).stdout.strip().endswith("jemalloc")
    chosen = _python(code, ARROW_DEFAULT_MEMORY_POOL="system")
    assert chosen.stdout.strip().endswith("system")
