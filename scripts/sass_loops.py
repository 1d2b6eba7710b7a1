#!/usr/bin/env python3
"""Instruction mix of each loop of a CUDA kernel, from `cuobjdump -sass` output.

A loop is the span from a backward branch's target to the branch. For every kernel whose mangled
name contains PATTERN, prints each loop's address range, its instruction count and its most
frequent opcodes (predicates dropped), innermost loops first. This is how docs/performance.md
counts instructions per state and position in the selective scan's loops.

    cuobjdump -sass build/model/CMakeFiles/vmunet_model.dir/selective_scan_bwd.cu.o > bwd.sass
    scripts/sass_loops.py bwd.sass selective_scan_bwd_kernelIf [--top 12]
"""
import argparse
import collections
import re
import sys

FUNCTION = re.compile(r"^\s*Function : (\S+)")
INSTRUCTION = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
BRANCH_TARGET = re.compile(r"\bBRA\b.*?(0x[0-9a-f]+)")
PREDICATE = re.compile(r"^@!?U?P[T0-9]+\s+")


def kernels(lines, pattern):
    """Yields (name, [(address, text)]) for each function whose name contains pattern."""
    name, body = None, []
    for line in lines + ["\tFunction : <end>"]:
        match = FUNCTION.match(line)
        if match:
            if name and pattern in name:
                yield name, body
            name, body = match.group(1), []
            continue
        match = INSTRUCTION.match(line)
        if match and name:
            body.append((int(match.group(1), 16), match.group(2)))


def loops(body):
    """(start, end) address pairs of backward branches, innermost (shortest) first."""
    spans = set()
    for address, text in body:
        match = BRANCH_TARGET.search(text)
        if match and int(match.group(1), 16) <= address:
            spans.add((int(match.group(1), 16), address))
    return sorted(spans, key=lambda span: span[1] - span[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sass", help="cuobjdump -sass output")
    parser.add_argument("pattern", help="part of the kernel's mangled name")
    parser.add_argument("--top", type=int, default=12, help="opcodes listed per loop")
    args = parser.parse_args()
    with open(args.sass) as f:
        lines = f.read().split("\n")
    found = False
    for name, body in kernels(lines, args.pattern):
        found = True
        print(f"{name}: {len(body)} instructions")
        for start, end in loops(body):
            ops = collections.Counter(
                PREDICATE.sub("", text).split()[0] for address, text in body
                if start <= address <= end)
            mix = ", ".join(f"{op} {n}" for op, n in ops.most_common(args.top))
            print(f"  loop {start:#x}-{end:#x}: {sum(ops.values())} instructions: {mix}")
    if not found:
        sys.exit(f"sass_loops: no kernel matching {args.pattern!r} in {args.sass}")


if __name__ == "__main__":
    main()
