"""Checks the dependency list cargo-auditable embeds in a binary (its .dep-v0 section, zlib-compressed
JSON, as Trivy, Grype and Syft read it) against the Cargo.lock the binary was built from: the root
is securequeue at the crate's version, every crate listed is locked at the listed version, and the
crates the operator is made of are there. Exits non-zero, saying why, otherwise.

Usage: dependency_list.py SECTION_FILE CARGO_LOCK CRATE_VERSION
"""

import json
import sys
import tomllib
import zlib

# Crates the operator cannot be built without: a list missing one is not the binary's.
ESSENTIAL = ("kube", "aws-sdk-sqs", "aws-sdk-kms", "tokio", "rustls", "clap")


def main(section_path: str, lock_path: str, crate_version: str) -> int:
    with open(section_path, "rb") as section:
        packages = json.loads(zlib.decompress(section.read()))["packages"]
    with open(lock_path, "rb") as lock:
        locked = {(p["name"], p["version"]) for p in tomllib.load(lock)["package"]}

    problems = []
    roots = [(p["name"], p["version"]) for p in packages if p.get("root")]
    if roots != [("securequeue", crate_version)]:
        problems.append(f"the root is {roots}, not securequeue {crate_version}")
    unlocked = [f"{p['name']} {p['version']}" for p in packages if (p["name"], p["version"]) not in locked]
    if unlocked:
        problems.append(f"crates not in Cargo.lock at those versions: {unlocked}")
    names = {p["name"] for p in packages}
    missing = [name for name in ESSENTIAL if name not in names]
    if missing:
        problems.append(f"crates the operator uses are missing: {missing}")
    if problems:
        for problem in problems:
            print(f"check-image.sh: FAIL: .dep-v0: {problem}", file=sys.stderr)
        return 1
    print(f"ok: .dep-v0 lists {len(packages)} crates, all as Cargo.lock locks them, securequeue {crate_version} at the root")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
