"""Finds, and with --delete removes, the iptables chains a one-node test cluster left behind.

    python3 iptables-sweep.py --network NAME [--delete]

Owned chains, in every table of iptables and ip6tables: KUBE-* (kubelet and kube-proxy make them;
nothing else on a test machine does), and chains that rules carrying the CNI network's name in
their comment jump to (the CNI bridge plugin's CNI-* chains of that network). Other CNI-* chains
belong to other users of CNI on the machine, podman for one, and are left alone.

With --delete: first the rules outside owned chains that jump to owned chains are deleted, then
owned chains are flushed and deleted. Prints what is (or was) owned, one "family table chain" a
line; without --delete, exits 1 if anything is owned, so a check can use it.
"""

import argparse
import shlex
import subprocess
import sys

FAMILIES = ("iptables", "ip6tables")


def saved(family: str) -> dict:
    """{table: [save-format lines]} of one family."""
    out = subprocess.run([f"{family}-save"], check=True, capture_output=True, text=True).stdout
    tables, table = {}, None
    for line in out.splitlines():
        if line.startswith("*"):
            table = line[1:]
            tables[table] = []
        elif table and (line.startswith(":") or line.startswith("-A ")):
            tables[table].append(line)
    return tables


def jump_target(args: list) -> str:
    for flag in ("-j", "--jump", "-g", "--goto"):
        if flag in args:
            return args[args.index(flag) + 1]
    return ""


def owned_chains(lines: list, network: str) -> set:
    chains = {line[1:].split()[0] for line in lines if line.startswith(":")}
    owned = {chain for chain in chains if chain.startswith("KUBE-")}
    marker = f'name: "{network}"'
    for line in lines:
        if line.startswith("-A ") and marker in " ".join(shlex.split(line)):
            target = jump_target(shlex.split(line))
            if target in chains:
                owned.add(target)
    return owned


def run(command: list) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"iptables-sweep: {shlex.join(command)}: {result.stderr.strip()}", file=sys.stderr)


def delete(family: str, table: str, lines: list, owned: set) -> None:
    for line in lines:
        if not line.startswith("-A "):
            continue
        args = shlex.split(line)
        if args[1] not in owned and jump_target(args) in owned:
            run([family, "-w", "-t", table, "-D", *args[1:]])
    for chain in sorted(owned):
        run([family, "-w", "-t", table, "-F", chain])
    for chain in sorted(owned):
        run([family, "-w", "-t", table, "-X", chain])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", required=True, help="the CNI network's name")
    parser.add_argument("--delete", action="store_true")
    args = parser.parse_args()
    found = False
    for family in FAMILIES:
        for table, lines in saved(family).items():
            owned = owned_chains(lines, args.network)
            for chain in sorted(owned):
                print(f"{family} {table} {chain}")
                found = True
            if args.delete and owned:
                delete(family, table, lines, owned)
    return 1 if found and not args.delete else 0


if __name__ == "__main__":
    sys.exit(main())
