#!/usr/bin/env python3
"""checksrc: the mechanical part of CODE_STYLE.md, as curl's checksrc.

Checks every C file of the product (common, proto, hub, sim, agent) and of
the tests (tests/unit, tests/fuzz, tests/bench):

  banned-NAME       a banned function is called (product code only): sprintf,
                    vsprintf, strcpy, strcat, strtok, gets, atoi, atol, atoll
  trailing-space    whitespace at the end of a line
  space-before-tab  indentation with a space before a tab
  crlf              a carriage return
  final-newline     the file does not end with a newline
  header-owns       a header whose first comment does not say what it owns
                    ("Owns:") within its first 6 lines
  header-guard      a header without an ATOLL_..._H include guard
  prefix-NAME       function NAME, defined without `static` in a product
                    file, does not carry its module's prefix: the file's
                    name (hub/render.c: render_), the part before its first
                    underscore (hub/render_overrides.c: render_, sim/sim_nodes.c:
                    sim_), or the module prefix listed in MODULE_PREFIXES
  include-cycle     product headers that include each other, directly or
                    through others (a header's #include "x.h" resolved as
                    the compiler does: its own directory, then -Icommon
                    -Iproto -Ihub -Isim -Iagent); reported on the cycle's
                    first header by name

Exceptions live in tests/tools/checksrc.allow, one "PATH RULE" per line (#
comments): every match of RULE in PATH is allowed. An exception that no
longer matches anything is an error too, so the list only shrinks.

Usage: checksrc.py [--root DIR] [FILE...]   (exit 0 clean, 1 violations)"""
import argparse
import os
import re
import sys

PRODUCT = ("common", "proto", "hub", "sim", "agent")
TESTS = ("tests/unit", "tests/fuzz", "tests/bench")
BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "strtok", "gets", "atoi", "atol", "atoll")
BANNED_RE = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(BANNED))

# Module prefixes that differ from the file's name (CODE_STYLE.md, "Modules,
# names and prefixes"). A directory entry ("agent/") applies to every file in it.
MODULE_PREFIXES = {
    "common/httpclient.c": ("http_",),
    "hub/objclient.c": ("objc_",),
    "common/jsonutil.c": ("json_",),
    "common/metrics.c": ("metric_",),
    "common/numparse.c": ("num_parse_",),
    "common/selector.c": ("label_selector_", "field_selector_", "node_selector_"),
    "common/timefmt.c": ("time_",),
    "common/tlsconf.c": ("tls_",),
    "common/xalloc.c": ("xmalloc", "xcalloc", "xrealloc", "xstrdup"),
    "common/yamljson.c": ("yaml_",),
    "proto/fieldcheck.c": ("fc_",),
    "proto/kinds.c": ("kind_",),
    "proto/pbschema.c": ("pbs_",),
    "proto/protocol.c": ("proto_",),
    "proto/validate.c": ("validation_", "is_"),  # is_dns1123_label: Kubernetes' IsDNS1123Label
    "hub/apiserver.c": ("api_",),
    "hub/meshcli.c": ("mesh_",),
    "hub/meshreaderapi.c": ("meshreader_",),
    "hub/nameidx.c": ("nidx_",),
    "hub/objects.c": ("obj_", "api_error_"),
    "hub/params.c": ("param_",),
    "hub/scheduler.c": ("sched_", "schedule"),
    "hub/statusfeed.c": ("status_",),
    "hub/tokens.c": ("token_",),
    "agent/hubclient.c": ("hub_",),
    "agent/memberapi.c": ("member_",),
    "agent/": ("agent_",),
}
# A function definition at the start of a line (comments and strings blanked).
# The return type may end its own line ("const char *\nname(...)").
FUNC_DEF_RE = re.compile(r"^(?!static\b|typedef\b|extern\b|return\b|else\b)[A-Za-z_][\w \t*]*[ \t*]\n?([a-z_]\w*)\s*"
                         r"\([^;{}]*\)\s*\{", re.M)


def module_prefixes(rel):
    d, fn = rel.rsplit("/", 1)
    base = fn.rsplit(".", 1)[0]
    found = (base + "_", base.split("_", 1)[0] + "_") + MODULE_PREFIXES.get(rel, ()) + MODULE_PREFIXES.get(d + "/", ())
    return tuple(dict.fromkeys(found))


def strip_code(text):
    """The text with comments and string/char literals blanked (newlines
    kept), so that banned names in messages or comments do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + (c if j - 1 > i else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_file(root, rel):
    path = os.path.join(root, rel)
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", errors="replace")
    found = []  # (line, rule, message)
    if b"\r" in raw:
        found.append((text[:text.find("\r")].count("\n") + 1, "crlf", "carriage return"))
    if raw and not raw.endswith(b"\n"):
        found.append((text.count("\n") + 1, "final-newline", "no newline at the end of the file"))
    for no, line in enumerate(text.split("\n"), 1):
        if line.rstrip("\r") != line.rstrip():
            found.append((no, "trailing-space", "trailing whitespace"))
        if re.match(r"^\t* +\t", line):
            found.append((no, "space-before-tab", "space before tab in the indentation"))
    if rel.split("/")[0] in PRODUCT:
        code = strip_code(text)
        for no, line in enumerate(code.split("\n"), 1):
            for m in BANNED_RE.finditer(line):
                found.append((no, "banned-" + m.group(1), "%s() is banned (CODE_STYLE.md, \"Banned functions\")"
                              % m.group(1)))
    if rel.split("/")[0] in PRODUCT and rel.endswith(".c"):
        code = strip_code(text)
        prefixes = module_prefixes(rel)
        for m in FUNC_DEF_RE.finditer(code):
            name = m.group(1)
            if name != "main" and not name.startswith(prefixes):
                found.append((code[:m.start(1)].count("\n") + 1, "prefix-" + name,
                              "%s() is exported without its module's prefix (%s): make it static or rename it "
                              "(CODE_STYLE.md, \"Modules, names and prefixes\")" % (name, " or ".join(prefixes))))
    if rel.endswith(".h"):
        head = "\n".join(text.split("\n")[:6])
        if not head.startswith("/*") or "Owns" not in head:
            found.append((1, "header-owns", "the header's first comment must say what the module owns (\"Owns:\")"))
        if not re.search(r"^#ifndef ATOLL_\w+_H\s*$", text, re.M):
            found.append((1, "header-guard", "no ATOLL_..._H include guard"))
    return found


INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def include_cycles(root, files):
    """(rel, line, rule, message) for each cycle among the product headers
    in files, once per cycle."""
    headers = [f for f in files if f.endswith(".h") and f.split("/")[0] in PRODUCT]
    known = set(headers)
    edges = {}  # header -> [(included header, line)]
    for rel in headers:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            code = strip_code_keep_includes(f.read())
        out = []
        for m in INCLUDE_RE.finditer(code):
            name = m.group(1)
            for d in [os.path.dirname(rel)] + list(PRODUCT):
                cand = os.path.normpath(os.path.join(d, name))
                if cand in known:
                    out.append((cand, code[:m.start()].count("\n") + 1))
                    break
        edges[rel] = out
    found, seen = [], set()
    state = {}  # 1: on the path, 2: done
    path = []

    def visit(h):
        state[h] = 1
        path.append(h)
        for nxt, _ in edges.get(h, ()):
            if state.get(nxt) == 1:
                cyc = path[path.index(nxt):]
                i = cyc.index(min(cyc))
                cyc = cyc[i:] + cyc[:i]
                if tuple(cyc) not in seen:
                    seen.add(tuple(cyc))
                    line = next(n for t, n in edges[cyc[0]] if t == (cyc + cyc[:1])[1])
                    found.append((cyc[0], line, "include-cycle",
                                  "include cycle: %s (CODE_STYLE.md, \"Modules, names and prefixes\")"
                                  % " -> ".join(cyc + cyc[:1])))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[h] = 2

    for h in sorted(headers):
        if h not in state:
            visit(h)
    return found


def strip_code_keep_includes(text):
    """Comments blanked, strings kept (the names of #include "x.h")."""
    return re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def source_files(root):
    for top in PRODUCT + TESTS:
        d = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = [x for x in dirnames if x != "corpus"]
            for fn in sorted(filenames):
                if fn.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, fn), root)


def load_allow(path):
    allow = {}
    if not os.path.exists(path):
        return allow
    with open(path) as f:
        for no, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                fields = line.split()
                if len(fields) != 2:
                    sys.exit("%s:%d: want PATH RULE" % (path, no))
                allow[tuple(fields)] = 0
    return allow


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
    ap.add_argument("--allow", help="exceptions file (default: tests/tools/checksrc.allow under the root)")
    ap.add_argument("files", nargs="*", help="files relative to the root (default: every source file)")
    args = ap.parse_args()
    allow_path = args.allow or os.path.join(args.root, "tests/tools/checksrc.allow")
    allow = load_allow(allow_path)
    files = args.files or list(source_files(args.root))
    bad = 0
    found = [(rel, no, rule, msg) for rel in files for no, rule, msg in check_file(args.root, rel)]
    found += include_cycles(args.root, files)
    for rel, no, rule, msg in found:
        if (rel, rule) in allow:
            allow[(rel, rule)] += 1
            continue
        print("%s:%d: %s [%s]" % (rel, no, msg, rule))
        bad += 1
    if not args.files:
        for (rel, rule), hits in sorted(allow.items()):
            if hits == 0:
                print("%s: exception \"%s %s\" matches nothing now: remove it" % (allow_path, rel, rule))
                bad += 1
    if bad:
        print("checksrc: %d problem(s); the rules are in CODE_STYLE.md" % bad)
        return 1
    print("checksrc: %d files clean" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
