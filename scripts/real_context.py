#!/usr/bin/env python3
"""Where each message of kith-text's real labelled sets stands in its thread, from STRUCTURE only.

Usage: python3 scripts/real_context.py [DATA_DIR]
(default DATA_DIR: $KITH_SHARED_DATA or ../shared/data). Python 3 standard library only.

Reads `crates/kith-text/data/eval/real-sources.tsv` and `real2-sources.tsv` (id -> source
note) and the shared Stack Exchange history.meta dump, and writes `real-context.tsv` and
`real2-context.tsv` beside them, columns `id`, `role`:

- `opening`: a Stack Exchange post with PostTypeId 1 (a question: it starts a thread);
- `reply`: a post with PostTypeId 2 (an answer) or any comment;
- `unknown`: a Slack message (kith's Slack import infers threads by conversation window,
  which the sample does not reproduce), or a post type other than 1 and 2.

No message text is read: the role comes from the source note and the dump's post type only,
the same structure kith's import stores as the activity's kind (post / answer / reply).
"""

import os
import sys
import xml.etree.ElementTree as ET

EVAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "kith-text", "data", "eval")
SITE = "history.meta.stackexchange.com "


def post_types(data_dir):
    types = {}
    path = os.path.join(data_dir, "stackexchange-history-meta", "Posts.xml")
    for _, el in ET.iterparse(path):
        if el.tag == "row":
            types[el.attrib["Id"]] = el.attrib.get("PostTypeId", "")
        el.clear()
    return types


def role(source, types):
    if source.startswith(SITE + "comment "):
        return "reply"
    if source.startswith(SITE + "post "):
        t = types.get(source[len(SITE + "post "):].strip())
        if t is None:
            raise SystemExit(f"post not in the dump: {source}")
        return {"1": "opening", "2": "reply"}.get(t, "unknown")
    if source.startswith("slack "):
        return "unknown"
    raise SystemExit(f"unknown source note: {source}")


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KITH_SHARED_DATA", "../shared/data")
    types = post_types(data_dir)
    for name in ("real", "real2"):
        src = os.path.join(EVAL, f"{name}-sources.tsv")
        out = os.path.join(EVAL, f"{name}-context.tsv")
        rows = []
        with open(src, encoding="utf-8") as f:
            next(f)
            for line in f:
                ident, source = line.rstrip("\n").split("\t", 1)
                rows.append((ident, role(source, types)))
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            f.write("id\trole\n")
            for ident, r in rows:
                f.write(f"{ident}\t{r}\n")
        counts = {}
        for _, r in rows:
            counts[r] = counts.get(r, 0) + 1
        print(f"{out}: {len(rows)} rows, {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
