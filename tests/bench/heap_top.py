#!/usr/bin/env python3
"""Reads a heap profile that `securequeue bench --heap-profile FILE` wrote (dhat's JSON) and
prints what was live at the heap's peak: the total, then the allocation sites holding the most
bytes there, each with the first frames of its backtrace, and the same bytes summed by the
first frame that matches --group (by default the operator's own code).

Usage: tests/bench/heap_top.py FILE [--top 15] [--frames 12] [--group REGEX]
"""
import argparse
import json
import re
from collections import defaultdict

# Frames of the allocator and of the standard library's collections, above the code that asked.
NOISE = re.compile(
    r"dhat::|alloc::alloc::|alloc::raw_vec|<alloc::|alloc::vec::|alloc::boxed::|__rust_|"
    r"core::ops::function|std::alloc"
)


def frames(profile, site):
    """The frames of an allocation site's backtrace, innermost first, without the allocator's."""
    names = [profile["ftbl"][i] for i in site["fs"]]
    kept = [name for name in names if not NOISE.search(name)]
    return kept or names


def short(frame):
    """A frame without its address."""
    return re.sub(r"^\s*0x[0-9a-f]+:\s*", "", frame)


def mib(n):
    return f"{n / 1048576:8.2f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--group", default=r"securequeue::")
    args = parser.parse_args()
    with open(args.file) as f:
        profile = json.load(f)
    sites = [s for s in profile["pps"] if s.get("gb", 0) > 0]
    total = sum(s["gb"] for s in sites)
    blocks = sum(s["gbk"] for s in sites)
    print(f"live at the peak: {mib(total)} in {blocks} blocks, {len(sites)} sites")
    sites.sort(key=lambda s: s["gb"], reverse=True)
    for rank, site in enumerate(sites[: args.top], 1):
        print(f"\n#{rank} {mib(site['gb'])} ({100 * site['gb'] / total:.1f}%) in {site['gbk']} blocks")
        for frame in frames(profile, site)[: args.frames]:
            print(f"    {short(frame)}")
    group = re.compile(args.group)
    by_frame = defaultdict(lambda: [0, 0])
    for site in sites:
        first = next((f for f in frames(profile, site) if group.search(f)), "(none matches)")
        by_frame[short(first)][0] += site["gb"]
        by_frame[short(first)][1] += site["gbk"]
    print(f"\nby the first frame matching {args.group!r}:")
    for frame, (size, count) in sorted(by_frame.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"  {mib(size)} {count:8} blocks  {frame}")


if __name__ == "__main__":
    main()
