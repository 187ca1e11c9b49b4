"""Read py-spy's collapsed stacks (`bench.interactions --profile FILE`) and print where the
app's time went.

    .venv/bin/python -m bench.profile_report FILE [--under today_command] [--top 15]

Each line of FILE is "frame;frame;...;leaf count" (thread first, with --threads). Printed:
samples per thread; the functions seen in most samples (inclusive: a function counts once per
sample however deep); the leaves (where the CPU actually was). `--under NAME` keeps only the
samples whose stack passes through a function called NAME (a handler, say).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:)]+)(?::\d+)?\)$")


def short(frame: str) -> str:
    """"fn (/path/to/pkg/mod.py:12)" → "fn (pkg/mod.py)"."""
    m = _FRAME.match(frame)
    if m is None:
        return frame
    parts = m["file"].split("/")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    return f"{m['func']} ({'/'.join(parts[-2:])})"


@dataclass
class Profile:
    total: int = 0
    threads: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)
    leaves: Counter[str] = field(default_factory=Counter)

    def add(self, frames: list[str], count: int) -> None:
        self.total += count
        self.threads[frames[0]] += count
        for name in {short(f) for f in frames[1:]}:
            self.inclusive[name] += count
        self.leaves[short(frames[-1])] += count


def _named(frame: str, name: str) -> bool:
    """`name` is the function's name; handlers defined in setup() show as
    "setup.<locals>.name"."""
    func = frame.partition(" (")[0]
    return func == name or func.endswith(f".{name}")


def load(path: Path, under: str | None) -> Profile:
    profile = Profile()
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or len(frames) < 2:
            continue
        if under and not any(_named(f, under) for f in frames):
            continue
        profile.add(frames, int(count))
    return profile


def table(title: str, counts: Counter[str], total: int, top: int) -> list[str]:
    lines = [title]
    lines += [f"  {n / total:6.1%}  {n:>6}  {name}" for name, n in counts.most_common(top)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--under", default=None, help="only stacks through this function")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    p = load(args.file, args.under)
    if not p.total:
        raise SystemExit("no samples")
    print(f"{p.total} samples" + (f" under {args.under}" if args.under else ""))
    print("\n".join(table("threads:", p.threads, p.total, 5)))
    print("\n".join(table("inclusive (in the stack):", p.inclusive, p.total, args.top)))
    print("\n".join(table("leaves (on CPU):", p.leaves, p.total, args.top)))


if __name__ == "__main__":
    main()
