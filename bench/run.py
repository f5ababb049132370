"""``make bench``: run every ``bench/bench_*.py`` (each has ``main(out_dir)``), results in bench/results/.

``python -m bench.run [NAME ...]`` runs only the named benchmarks (e.g. ``integer``).
"""

import importlib
import pkgutil
import sys
import time
from pathlib import Path

import bench

OUT = Path(__file__).resolve().parent / "results"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    OUT.mkdir(exist_ok=True)
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(bench.__path__)
                   if m.name.startswith("bench_"))
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"bench: unknown benchmark {unknown[0]!r}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen:
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", flush=True)
        importlib.import_module(f"bench.bench_{name}").main(OUT)
        print(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"[bench] results in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
