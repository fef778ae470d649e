#!/usr/bin/env python3
"""First-use cost of the numba kernels: compile time per command, cached time, and a peer.

For each measured command this runs, in a fresh process with an empty numba cache
(``NUMBA_CACHE_DIR`` set to a new temporary folder, so the checkout's own cache is not used):

1. the command itself: wall seconds with compilation (first use), and how many kernel
   versions numba compiled (``numba:compile`` events);
2. the same command again with the cache now filled: wall seconds (every later use);

and reports the compile cost as the difference. With ``--peer-opt 3`` each command is also
run under numba's default ``NUMBA_OPT=3`` (CodecLab sets 1, :mod:`codeclab.kernels`), for
the first-use time and the cached encode time of both settings in the same run.

Commands (``--commands``, default all):

    image      codeclab encode kodim23_crop256.png --codec classic --quality 32   (the issue's first image)
    video      codeclab encode carphone_qcif_10f.y4m --codec classic --quality 32  (10 QCIF frames)
    decode     codeclab decode of the image stream above, in its own empty cache
    warmup     codeclab warmup (every job, on every core)

    python benchmarks/kernels_compile.py [--commands image,video] [--peer-opt 3] [--per-kernel 25] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "codeclab" / "data" / "samples"

#: Counts the kernel versions numba compiles in the child, then runs the CLI.
#: With ``--per-kernel`` it also times every compilation: numba's compile events nest (a
#: kernel's callees compile inside it), so each version's *own* time is its span minus the
#: spans of the compilations nested in it.
CHILD = """
import json, sys, time
from numba.core import event
count, stack, own = [0], [], {}
class Count(event.Listener):
    def on_start(self, ev):
        stack.append([time.perf_counter(), 0.0])
    def on_end(self, ev):
        count[0] += 1
        start, nested = stack.pop()
        span = time.perf_counter() - start
        if stack:
            stack[-1][1] += span
        f = ev.data["dispatcher"].py_func
        key = f"{f.__module__}.{f.__qualname__}"
        entry = own.setdefault(key, [0.0, 0])
        entry[0] += span - nested
        entry[1] += 1
event.register("numba:compile", Count())
from codeclab.cli import main
code = main(sys.argv[1:])
print("KERNELS", count[0], file=sys.stderr)
print("PROFILE", json.dumps(own), file=sys.stderr)
sys.exit(code)
"""


def commands(out: Path) -> dict[str, list[list[str]]]:
    """name -> the CLI argument lists to run (a decode needs its stream encoded first)."""
    image = ["encode", str(SAMPLES / "kodim23_crop256.png"), "-o", str(out / "a.clb"), "--codec", "classic",
             "--quality", "32", "--force"]
    video = ["encode", str(SAMPLES / "carphone_qcif_10f.y4m"), "-o", str(out / "v.clb"), "--codec", "classic",
             "--quality", "32", "--force"]
    return {"image": [image], "video": [video],
            "decode": [["decode", str(out / "a.clb"), "-o", str(out / "a.png"), "--force"]],
            "warmup": [["warmup", "--no-progress"]]}


def run(arguments: list[str], cache: Path, opt: int | None) -> tuple[float, int, dict]:
    """(wall seconds, kernel versions compiled, {kernel: [own compile s, versions]}) of one
    CLI run with the given numba cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    env.pop("NUMBA_OPT", None)
    if opt is not None:
        env["NUMBA_OPT"] = str(opt)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *arguments], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    kernels = [line for line in done.stderr.splitlines() if line.startswith("KERNELS")]
    profile = [line for line in done.stderr.splitlines() if line.startswith("PROFILE")]
    return (wall, int(kernels[-1].split()[1]) if kernels else 0,
            json.loads(profile[-1].split(" ", 1)[1]) if profile else {})


def measure(name: str, out: Path, opt: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="codeclab_numba_") as cache:
        steps = commands(out)
        if name == "decode":  # the stream comes from an encode in another cache
            with tempfile.TemporaryDirectory(prefix="codeclab_numba_") as other:
                run(commands(out)["image"][0], Path(other), opt)
        first, kernels, profile = run(steps[name][0], Path(cache), opt)
        cached, _, _ = run(steps[name][0], Path(cache), opt)
    per_kernel = sorted(([k, round(s, 3), n] for k, (s, n) in profile.items()), key=lambda r: -r[1])
    return {"command": name, "numba_opt": opt if opt is not None else "codeclab (1)", "first_s": round(first, 2),
            "cached_s": round(cached, 2), "compile_s": round(first - cached, 2), "kernel_versions": kernels,
            "per_kernel": per_kernel}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", default="image,video,decode,warmup")
    parser.add_argument("--peer-opt", type=int, choices=(0, 1, 2, 3), help="also run with this NUMBA_OPT")
    parser.add_argument("--per-kernel", type=int, default=0, metavar="N",
                        help="also list the N kernels with the largest own compile time per command")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="codeclab_bench_") as out:
        for name in args.commands.split(","):
            for opt in (None, args.peer_opt) if args.peer_opt is not None else (None,):
                rows.append(measure(name, Path(out), opt))
                r = rows[-1]
                print(f"{r['command']:8} NUMBA_OPT {str(r['numba_opt']):13} first use {r['first_s']:7.1f} s   "
                      f"cached {r['cached_s']:5.1f} s   compile {r['compile_s']:7.1f} s   "
                      f"{r['kernel_versions']:4d} kernel versions", flush=True)
                for kernel_name, seconds, versions in r["per_kernel"][:args.per_kernel]:
                    print(f"    {seconds:7.2f} s  {versions:3d}x  {kernel_name}", flush=True)
    if args.json:
        meta = {"machine": f"{platform.machine()} {os.cpu_count()} CPUs", "python": platform.python_version()}
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
