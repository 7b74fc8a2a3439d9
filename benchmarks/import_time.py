"""Import time of gandiff against bare torch and diffusers, medians of interleaved runs.

    python benchmarks/import_time.py [--runs 7]

Each row is a fresh interpreter, so nothing is cached in memory between runs (the OS file cache
is warmed by one untimed round first). Target (issue 2): gandiff at most 0.3 s above bare torch.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "python (no imports)": "pass",
    "import torch": "import torch",
    "import gandiff; gandiff.DDPMScheduler": "import gandiff; gandiff.DDPMScheduler",
    "import gandiff; gandiff.DDPMPipeline": "import gandiff; gandiff.DDPMPipeline",
    "from diffusers import DDPMScheduler": "from diffusers import DDPMScheduler",
    "from diffusers import DDPMPipeline": "from diffusers import DDPMPipeline",
}


def time_once(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    for statement in STATEMENTS.values():  # warm the file cache
        time_once(statement)
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.runs):  # interleaved, so drift in machine load hits every row alike
        for name, statement in STATEMENTS.items():
            samples[name].append(time_once(statement))

    medians = {name: statistics.median(times) for name, times in samples.items()}
    torch_time = medians["import torch"]
    print(f"median of {args.runs} runs, {sys.version.split()[0]}")
    print(f"| {'statement':<40} | {'seconds':>7} | {'above torch':>11} |")
    print(f"|{'-' * 42}|{'-' * 9}|{'-' * 13}|")
    for name, seconds in medians.items():
        print(f"| {name:<40} | {seconds:7.3f} | {seconds - torch_time:+11.3f} |")
    over = medians["import gandiff; gandiff.DDPMScheduler"] - torch_time
    print(f"\ngandiff.DDPMScheduler costs {over:.3f} s above bare torch (target <= 0.3 s)")


if __name__ == "__main__":
    main()
