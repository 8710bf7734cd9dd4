#!/usr/bin/env python3
"""Fails on a dead relative link in the project's Markdown: for every `[text](target)` in
README.md, docs/*.md and the chart's README that is not a web address, the file must exist and
a `#anchor` must be the GitHub anchor of one of its headings. Run from anywhere; standard library
only."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
         "charts/securequeue/README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def unfenced(text):
    """The text without its fenced code blocks."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def prose(text):
    """The text without code, fenced or inline, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", unfenced(text))


def anchors(path):
    """GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated one numbered."""
    seen, found = {}, set()
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*$", unfenced(path.read_text()), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def dead_links(name):
    source = ROOT / name
    for target in LINK.findall(prose(source.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        if not linked.exists():
            yield f"{name}: {target}: no such file"
        elif anchor and anchor not in anchors(linked):
            yield f"{name}: {target}: no heading with that anchor in {linked.relative_to(ROOT)}"


def main():
    dead = [problem for name in FILES for problem in dead_links(name)]
    for problem in dead:
        print(problem, file=sys.stderr)
    print(f"{len(FILES)} files, {len(dead)} dead links")
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
