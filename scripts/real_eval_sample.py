#!/usr/bin/env python3
"""Deterministic sample of real community messages for kith-text's labelled set (data/eval/real.tsv).

Usage: python3 scripts/real_eval_sample.py [DATA_DIR] > unlabelled.tsv
(default DATA_DIR: $KITH_SHARED_DATA or ../shared/data). Python 3 standard library only.

Sources, only those whose licence allows committing excerpts:
- Stack Exchange history.meta (CC BY-SA 3.0): posts (question title + body; answers' body)
  and comments. Source note: `history.meta.stackexchange.com post <Id>` / `comment <Id>`.
- Slack houstondatavis export (MIT): plain messages (no subtype: joins, file shares and
  bot messages are skipped). Source note: `slack houstondatavis #<channel> <ts>`.
Not the R package-devel mailing list (no licence to redistribute).

An item is taken when FNV-1a-64 of its source note % 9 == 0 (a fixed hash, so the sample
does not depend on file order or on who runs it). HTML is reduced to text (paragraphs and
<br> to newlines, <pre>/<code> kept as text, blockquote lines prefixed "> ", links to their
text, entities decoded); Slack markup <@U..>, <#C..|name>, <url|label> to @name, #name,
label. Texts longer than 1,500 characters are cut at the last line or sentence end before
1,500 and end with " [...]". Empty texts are skipped. Output columns: source, text
(escaped as in messages.tsv: \\n newline, \\t tab, \\\\ backslash).
"""

import glob
import html
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

MAX = 1500


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.quote = 0
        self.pre = 0

    def nl(self):
        self.out.append("\n")

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "table", "tr"):
            self.nl()
        elif tag == "br":
            self.nl()
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "blockquote":
            self.quote += 1
            self.nl()
        elif tag == "pre":
            self.pre += 1
            self.nl()
        elif tag == "hr":
            self.out.append("\n---\n")

    def handle_endtag(self, tag):
        if tag in ("p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "table", "tr"):
            self.nl()
        elif tag == "blockquote":
            self.quote -= 1
            self.nl()
        elif tag == "pre":
            self.pre -= 1
            self.nl()

    def handle_data(self, data):
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)

    def text(self):
        return "".join(self.out)


def html_text(body):
    # Blockquotes are marked before parsing so their lines can be prefixed.
    body = re.sub(r"<blockquote>", "<blockquote>\x01", body)
    body = re.sub(r"</blockquote>", "\x02</blockquote>", body)
    p = Text()
    p.feed(body)
    p.close()
    t = p.text()

    def q(m):
        inner = m.group(1).strip("\n ")
        return "\n" + "\n".join("> " + l.strip() for l in inner.split("\n") if l.strip()) + "\n"

    while "\x01" in t:
        t2 = re.sub(r"\x01([^\x01\x02]*)\x02", q, t)
        if t2 == t:
            t = t.replace("\x01", "").replace("\x02", "")
        t = t2
    return tidy(t)


def tidy(t):
    lines = [l.rstrip() for l in t.replace("\r", "").split("\n")]
    t = "\n".join(lines)
    t = re.sub(r"\n{3,}", "\n\n", t).strip()
    return t


def cut(t, limit=MAX):
    if len(t) <= limit:
        return t
    head = t[:limit]
    at = max(head.rfind("\n"), head.rfind(". "), head.rfind("? "), head.rfind("! "))
    if at < limit // 2:
        at = head.rfind(" ")
    return head[: at + 1].rstrip() + " [...]"


def escape(t):
    return t.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def write_sample(out_dir, name, rows, table):
    """Writes a stratified sample's files into out_dir: NAME.tsv (labels empty, split
    `holdout`), NAME-sources.tsv, NAME-context.tsv and NAME-strata.tsv. `rows` are (id,
    source, role, stratum, text); `table` is (stratum, quota, available, taken, ids)."""
    def write(suffix, header, lines):
        with open(os.path.join(out_dir, name + suffix), "w", encoding="utf-8") as f:
            f.write(header + "\n")
            for line in lines:
                f.write(line + "\n")

    write(".tsv", "id\tsplit\tintents\thostile\ttext",
          (f"{i}\tholdout\t\t\t{escape(t)}" for i, _, _, _, t in rows))
    write("-sources.tsv", "id\tsource", (f"{i}\t{s}" for i, s, _, _, _ in rows))
    write("-context.tsv", "id\trole", (f"{i}\t{r}" for i, _, r, _, _ in rows))
    write("-strata.tsv", "stratum\tquota\tavailable\ttaken\tids",
          (f"{n}\t{q}\t{a}\t{t}\t{ids}" for n, q, a, t, ids in table))


def rows(path):
    for _, el in ET.iterparse(path):
        if el.tag == "row":
            yield el.attrib
            el.clear()


def stackexchange(d):
    site = "history.meta.stackexchange.com"
    for r in rows(os.path.join(d, "Posts.xml")):
        if r.get("PostTypeId") not in ("1", "2"):
            continue
        src = f"{site} post {r['Id']}"
        body = html_text(r.get("Body", ""))
        title = (r.get("Title") or "").strip()
        text = f"{title}\n\n{body}" if title and body else (title or body)
        yield src, r.get("CreationDate", ""), text
    for r in rows(os.path.join(d, "Comments.xml")):
        src = f"{site} comment {r['Id']}"
        yield src, r.get("CreationDate", ""), tidy(html.unescape(r.get("Text", "")))


def slack(d):
    users = {}
    for u in json.load(open(os.path.join(d, "users.json"), encoding="utf-8")):
        users[u["id"]] = u.get("name") or u["id"]
        if u.get("is_bot"):
            users[u["id"]] = None
    for ch in sorted(os.listdir(d)):
        cd = os.path.join(d, ch)
        if not os.path.isdir(cd):
            continue
        for f in sorted(glob.glob(os.path.join(cd, "*.json"))):
            for m in json.load(open(f, encoding="utf-8")):
                if m.get("type") != "message" or m.get("subtype") or "bot_id" in m:
                    continue
                if users.get(m.get("user"), "") is None:
                    continue
                t = m.get("text", "")
                t = re.sub(r"<@(U\w+)(\|[^>]*)?>", lambda x: "@" + (users.get(x.group(1)) or "someone"), t)
                t = re.sub(r"<#C\w+\|([^>]*)>", r"#\1", t)
                t = re.sub(r"<!(channel|here|everyone)[^>]*>", r"@\1", t)
                t = re.sub(r"<(https?://[^|>]*)\|([^>]*)>", r"\2", t)
                t = re.sub(r"<(https?://[^>]*)>", r"\1", t)
                t = tidy(html.unescape(t))
                yield f"slack houstondatavis #{ch} {m['ts']}", m["ts"], t


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KITH_SHARED_DATA", "../shared/data")
    out = []
    for src, _, text in list(stackexchange(os.path.join(d, "stackexchange-history-meta"))) + list(
        slack(os.path.join(d, "slack-export-houstondatavis"))
    ):
        if fnv1a64(src) % 9 != 0 or not text.strip():
            continue
        out.append((src, cut(text)))
    for src, text in out:
        print(f"{src}\t{escape(text)}")
    print(f"{len(out)} sampled", file=sys.stderr)


if __name__ == "__main__":
    main()
