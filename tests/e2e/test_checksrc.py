"""tests/tools/checksrc.py finds what CODE_STYLE.md bans, ignores the same
names in comments and strings, and insists that stale exceptions go."""
import os
import subprocess
import sys

from conftest import REPO

CHECKSRC = os.path.join(REPO, "tests/tools/checksrc.py")


def run(root, *files):
    return subprocess.run([sys.executable, CHECKSRC, "--root", str(root)] + list(files),
                          capture_output=True, text=True, timeout=60)


def write(root, rel, text):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(text)


GOOD_H = "/* m — a module.\n * Owns: nothing. */\n#ifndef ATOLL_M_H\n#define ATOLL_M_H\nint m(void);\n#endif\n"


def test_the_repository_is_clean():
    p = subprocess.run([sys.executable, CHECKSRC], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_each_rule_is_found(tmp_path):
    write(tmp_path, "hub/good.h", GOOD_H)
    write(tmp_path, "hub/good.c",
          '/* atoi(x) in a comment, strcpy in "a string" */\n#include "good.h"\n'
          'int good_m(void) { const char *s = "sprintf(b, x)"; return snprintf(0, 0, "%s", s) + s->atoi(1); }\n')
    write(tmp_path, "hub/bad.c", 'int f(const char *s)\n{\n\tchar b[8];\n\tstrcpy(b, s); \n'
                                 '  \treturn atoi(s) + (int)atoll (s);\n}\r\nint g;')
    write(tmp_path, "hub/noowner.h", "/* x */\nint x;\n")
    write(tmp_path, "tests/unit/test_x.c", "int t(void) { return atoi(\"1\"); }\n")  # tests may
    p = run(tmp_path)
    assert p.returncode == 1
    out = p.stdout
    for want in ("hub/bad.c:4: strcpy() is banned", "[banned-strcpy]", "hub/bad.c:5: atoi() is banned",
                 "hub/bad.c:5: atoll() is banned", "hub/bad.c:4: trailing whitespace",
                 "hub/bad.c:5: space before tab", "[crlf]", "[final-newline]",
                 "hub/noowner.h:1: the header's first comment must say what the module owns",
                 "hub/noowner.h:1: no ATOLL_..._H include guard",
                 "hub/bad.c:1: f() is exported without its module's prefix (bad_)", "[prefix-f]"):
        assert want in out, (want, out)
    assert "good." not in out and "tests/unit" not in out, out
    assert "checksrc: 10 problem(s)" in out, out


def test_exceptions_allow_and_must_not_go_stale(tmp_path):
    write(tmp_path, "hub/a.c", "int a_f(const char *s) { return atoi(s); }\n")
    write(tmp_path, "tests/tools/checksrc.allow", "# debts\nhub/a.c banned-atoi\n")
    p = run(tmp_path)
    assert p.returncode == 0 and "clean" in p.stdout, p.stdout
    write(tmp_path, "tests/tools/checksrc.allow", "hub/a.c banned-atoi\nhub/a.c banned-strcat\n")
    p = run(tmp_path)
    assert p.returncode == 1
    assert 'exception "hub/a.c banned-strcat" matches nothing now: remove it' in p.stdout, p.stdout


def test_exported_functions_carry_their_module_prefix(tmp_path):
    """A function defined without static starts with its file's name, the
    part of it before the first underscore (one module in several files), or
    the module prefix checksrc.py lists; static functions and main may be
    named freely; definitions over several lines count."""
    write(tmp_path, "hub/render_overrides.c", "int render_apply(int a,\n\t\t int b)\n{\n\treturn a + b;\n}\n"
                                              "static int helper(void) { return 0; }\n")
    write(tmp_path, "hub/store_sqlite.c", "struct store *store_open_sqlite(const char *p) { return 0; }\n")
    write(tmp_path, "common/jsonutil.c", "const char *json_get_str(void) { return 0; }\n")
    write(tmp_path, "agent/works.c", "void works_free(void) {}\nvoid agent_stop(void) {}\nint main(void) { return 0; }\n")
    p = run(tmp_path)
    assert p.returncode == 0, p.stdout
    write(tmp_path, "hub/render_overrides.c", "/* render_x(void) { */\nconst char *\napply_image(cJSON *m,\n"
                                              "\t    const cJSON *list)\n{\n\treturn 0;\n}\n")
    write(tmp_path, "agent/works.c", "void slot_queue(struct slot *s)\n{\n}\n")
    p = run(tmp_path)
    assert p.returncode == 1
    assert "hub/render_overrides.c:3: apply_image() is exported without its module's prefix " \
           "(render_overrides_ or render_)" in p.stdout, p.stdout
    assert "agent/works.c:1: slot_queue() is exported without its module's prefix (works_ or agent_)" in p.stdout
    assert "[prefix-slot_queue]" in p.stdout and "checksrc: 2 problem(s)" in p.stdout, p.stdout


def test_headers_do_not_include_each_other(tmp_path):
    """Product headers form no include cycle, direct or through others; an
    include resolves in the header's own directory first, then as -I does."""
    def hdr(rel, *incs):
        g = "ATOLL_" + rel.replace("/", "_").replace(".", "_").upper()
        write(tmp_path, rel, "/* x — a module.\n * Owns: x. */\n#ifndef %s\n#define %s\n%s#endif\n"
              % (g, g, "".join('#include "%s"\n' % i for i in incs)))
    hdr("agent/agent.h", "protocol.h")
    hdr("agent/works.h", "agent.h", "watch.h")
    hdr("agent/watch.h", "agent.h")
    hdr("proto/protocol.h")
    hdr("hub/watch.h", "protocol.h")  # same name elsewhere: agent/works.h means agent/watch.h
    p = run(tmp_path)
    assert p.returncode == 0, p.stdout
    write(tmp_path, "agent/watch.h", "/* x — a module.\n * Owns: x. */\n#ifndef ATOLL_W_H\n#define ATOLL_W_H\n"
          "/* #include \"works.h\" */\n#include \"agent.h\"\n#endif\n")  # a comment is no include
    p = run(tmp_path)
    assert p.returncode == 0, p.stdout
    hdr("proto/protocol.h", "watch.h")  # proto/watch.h does not exist: resolves to hub/watch.h, then a cycle
    hdr("agent/agent.h", "protocol.h", "works.h")
    p = run(tmp_path)
    assert p.returncode == 1
    assert "agent/agent.h:6: include cycle: agent/agent.h -> agent/works.h -> agent/agent.h [include-cycle]" \
        in p.stdout.replace(' (CODE_STYLE.md, "Modules, names and prefixes")', ""), p.stdout
    assert "include cycle: agent/agent.h -> agent/works.h -> agent/watch.h -> agent/agent.h" in p.stdout, p.stdout
    assert "include cycle: hub/watch.h -> proto/protocol.h -> hub/watch.h" in p.stdout, p.stdout
    assert "checksrc: 3 problem(s)" in p.stdout, p.stdout
