#!/usr/bin/env python3
"""Prints the chart's README: every value of charts/securequeue, with its type (from
values.schema.json), its default (from values.yaml) and its description (values.yaml's `# --`
comment, helm-docs' convention: from `# --` to the first bare `#` or the key).

    python3 tests/chart/values_doc.py > charts/securequeue/README.md

A value is a schema property without `properties` of its own; an object with properties is
documented by its values. Fails, naming them, on values without a `# --` comment and on values
that only one of values.yaml and the schema has. Needs PyYAML (tests/tools.sh's Python has it).

Written here because helm-docs, the tool of that convention, is packaged neither in Debian nor
on PyPI or crates.io, and Bitnami's readme-generator (npm) wants its own `## @param` comments
and prints no types."""
import json
import pathlib
import re
import sys

import yaml

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "securequeue"
KEY = re.compile(r"^( *)([A-Za-z][A-Za-z0-9_]*):")
COMMENT = re.compile(r"^ *#(.*)$")

HEADER = """\
# The securequeue chart

{description}.
Chart {version}, operator {app_version}, Kubernetes `{kube_version}`.

Installing it, giving the operator its IAM role and asking for a first SecureQueue are in the
[repository's README](../../README.md#install). Every value is below: its type, as
`values.schema.json` checks it, its default and what it does. `helm show values` prints
`values.yaml`, with longer notes on some sections.

This file is generated from `values.yaml` and `values.schema.json`: edit those, then run
`python3 tests/chart/values_doc.py > charts/securequeue/README.md`.

| value | type | default | description |
| --- | --- | --- | --- |
"""


def descriptions(text):
    """Each key's `# --` comment, by dotted path, from values.yaml's lines."""
    found, path, comment = {}, [], []
    for line in text.splitlines():
        if not line.strip():
            comment = []
        elif match := COMMENT.match(line):
            comment.append(match.group(1))
        elif match := KEY.match(line):
            depth = len(match.group(1)) // 2
            path = path[:depth] + [match.group(2)]
            found[".".join(path)] = described(comment)
            comment = []
        else:
            comment = []
    return found


def described(comment):
    """The description in a key's comment lines, or None when it has no `# --` line."""
    start = next((i for i, line in enumerate(comment) if line.startswith(" --")), None)
    if start is None:
        return None
    lines = [comment[start][len(" --"):]]
    for line in comment[start + 1:]:
        if not line.strip():
            break
        lines.append(line)
    return " ".join(line.strip() for line in lines)


def leaves(schema, values, prefix=""):
    """(path, schema, default) of every value, in values.yaml's order, then the schema's
    properties that values.yaml lacks (default None)."""
    properties = schema.get("properties", {})
    for name in [*values, *(p for p in properties if p not in values)]:
        path = f"{prefix}{name}"
        node = properties.get(name)
        if node is not None and "properties" in node and isinstance(values.get(name), dict):
            yield from leaves(node, values[name], f"{path}.")
        else:
            yield path, node, values.get(name)


def type_of(node):
    """A schema node's type in words: `string or integer`, `array of object`, an enum's values."""
    kinds = node.get("type", "any")
    kind = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if kind == "array" and "items" in node:
        kind = f"array of {type_of(node['items'])}"
    if "enum" in node:
        kind += ": " + ", ".join(f"`{value}`" for value in node["enum"])
    return kind


def cell(text):
    return text.replace("|", "\\|")


def main():
    values_text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(values_text)
    schema = json.loads((CHART / "values.schema.json").read_text())
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    comments = descriptions(values_text)
    rows, problems = [], []
    for path, node, default in leaves(schema, values):
        if node is None:
            problems.append(f"{path}: in values.yaml, not in values.schema.json")
            continue
        if path not in comments:
            problems.append(f"{path}: in values.schema.json, not in values.yaml")
            continue
        if comments[path] is None:
            problems.append(f"{path}: no `# --` description comment in values.yaml")
            continue
        default = json.dumps(default, separators=(",", ":"))
        rows.append(f"| `{path}` | {cell(type_of(node))} | `{cell(default)}` | {cell(comments[path])} |")
    if problems:
        sys.exit("charts/securequeue: " + "\n".join(["values that cannot be documented:", *problems]))
    sys.stdout.write(HEADER.format(
        description=chart["description"], version=chart["version"],
        app_version=chart["appVersion"], kube_version=chart["kubeVersion"]))
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
