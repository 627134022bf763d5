#!/usr/bin/env python3
"""loc.py - the line counts of issue 12's three programs against their Node
peers: code lines only (blank lines and lines that are only a comment, or
only a doc comment, are left out; so is a Rust `use` block's wrapping).

    python3 benches/loc.py

Rows: the reverse proxy (examples/proxy.rs vs benches/peers/proxy_node.js),
the file server (src/static_files.rs, whole and its handler `serve` alone,
vs benches/peers/files_node.js), the JSON API (examples/api.rs vs
benches/peers/api_node.js). Aims (issue 12): the proxy <= 60 lines, the
file server's handler <= 30.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_lines(text, comment):
    """The lines of `text` that hold code: not blank, not only a comment."""
    out = []
    in_block = False
    for line in text.splitlines():
        s = line.strip()
        if in_block:
            if "*/" in s:
                in_block = False
            continue
        if s.startswith("/*"):
            in_block = "*/" not in s
            continue
        if not s or s.startswith(comment):
            continue
        out.append(line)
    return out


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def rust_fn(text, name):
    """The text of the Rust function `name`, from its signature to the
    closing brace at the same indentation."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"\s*(pub\s+)?fn\s+{name}\b", line):
            indent = len(line) - len(line.lstrip())
            for j in range(i + 1, len(lines)):
                if lines[j].strip() == "}" and len(lines[j]) - len(lines[j].lstrip()) == indent:
                    return "\n".join(lines[i : j + 1])
    sys.exit(f"loc.py: fn {name} not found")


def main():
    rows = [
        ("proxy", read("examples/proxy.rs"), "benches/peers/proxy_node.js"),
        ("files", read("src/static_files.rs"), "benches/peers/files_node.js"),
        ("files handler", rust_fn(read("src/static_files.rs"), "serve"), None),
        ("api", read("examples/api.rs"), "benches/peers/api_node.js"),
    ]
    print(f"{'program':<14} {'eddy':>5} {'node':>5} {'eddy/node':>9}")
    for name, rust, node in rows:
        e = len(code_lines(rust, "//"))
        if node is None:
            print(f"{name:<14} {e:>5} {'-':>5} {'-':>9}")
            continue
        n = len(code_lines(read(node), "//"))
        print(f"{name:<14} {e:>5} {n:>5} {e / n:>9.2f}")


if __name__ == "__main__":
    main()
