#!/usr/bin/python3
"""Render deploy/helm/atoll without helm: a small Go-template evaluator for
exactly the subset of Helm template syntax the chart uses, and the
generator of the plain manifests in deploy/manifests/.

  deploy/render.py -f VALUES.yaml [--set a.b=c ...] [--namespace NS] [--release NAME]
        print the chart's manifests for those values (like `helm template`)
  deploy/render.py --write    regenerate deploy/manifests/*.yaml (see MANIFESTS)
  deploy/render.py --check    exit 1 and show a diff when deploy/manifests/ is stale

Needs only Debian's python3 and python3-yaml. The chart is the one source
of truth; deploy/manifests/ is its output for the example values in
deploy/helm/atoll/examples/ and must not be edited by hand.

Supported template syntax (anything else is an error, not a guess):
  text with {{ }} actions, trim markers {{- and -}}, comments {{/* */}};
  if / else if / else / end, range (over a list, or $k, $v := over a map),
  define / end, $var := pipeline;
  operands: .Values.a.b and other fields of dot, $, $var.a, "strings",
  integers, true/false, parenthesised pipelines; pipelines with |;
  functions: eq ne not and or printf print len (Go) default quote b64enc
  join nindent indent toYaml required include fail (Sprig/Helm).
Values are merged like helm: maps deep-merged, everything else replaced;
--set a.b=c takes true/false/null/integers as such, else a string, and
a={x,y} as a list.
"""
import argparse
import base64
import difflib
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CHART = os.path.join(HERE, "helm", "atoll")

# deploy/manifests/<file>: (values overlay in the chart's examples/, release name, namespace)
MANIFESTS = [
    ("agent-eu.yaml", "examples/agent-eu.yaml", "atoll-agent", "atoll-system"),
    ("hub.yaml", "examples/hub.yaml", "atoll-hub", "atoll-system"),
]

# Helm's install order (pkg/releaseutil/kind_sorter.go), used for output order.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
    "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
]


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------- lexing ----

def lex(src, name):
    """Splits a template into ('text', s) and ('action', body, line) items,
    applying the trim markers."""
    items = []
    i = 0
    line = 1
    while True:
        j = src.find("{{", i)
        if j < 0:
            items.append(("text", src[i:]))
            break
        text = src[i:j]
        k = j + 2
        if src.startswith("-", k) and k + 1 < len(src) and src[k + 1] in " \t\r\n":
            text = text.rstrip(" \t\r\n")
            k += 1
        items.append(("text", text))
        line += src.count("\n", i, j)
        # find the closing }} outside string literals
        p = k
        quote = None
        while p < len(src):
            c = src[p]
            if quote:
                if c == "\\" and quote == '"':
                    p += 2
                    continue
                if c == quote:
                    quote = None
            elif c in "\"`":
                quote = c
            elif src.startswith("}}", p):
                break
            p += 1
        else:
            raise TemplateError("%s:%d: unclosed action" % (name, line))
        body = src[k:p]
        i = p + 2
        if body.endswith("-") and len(body) >= 2 and body[-2] in " \t\r\n":
            body = body[:-1]
            m = re.match(r"[ \t\r\n]*", src[i:])
            i += m.end()
        stripped = body.strip()
        if stripped.startswith("/*"):
            if not stripped.endswith("*/"):
                raise TemplateError("%s:%d: unclosed comment" % (name, line))
        else:
            items.append(("action", stripped, line))
        line += src.count("\n", j, i)
    return items


TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?\d+)
  | (?P<decl>:=)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|,=])
""", re.X)


def tokenize(body, where):
    toks = []
    pos = 0
    while pos < len(body):
        m = TOKEN_RE.match(body, pos)
        if not m:
            raise TemplateError("%s: cannot parse %r" % (where, body[pos:]))
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        toks.append((kind, m.group()))
    return toks


# --------------------------------------------------------------- parsing ----
# Expressions: ("pipe", [cmd, ...]); cmd: ("cmd", [operand, ...]);
# operands: ("field", [names]), ("var", name, [names]), ("lit", value),
# ("ident", name), ("pipe", ...).

class ExprParser:
    def __init__(self, toks, where):
        self.toks = toks
        self.i = 0
        self.where = where

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def error(self, msg):
        raise TemplateError("%s: %s" % (self.where, msg))

    def pipeline(self, stop=None):
        cmds = []
        while True:
            ops = []
            while True:
                kind, val = self.peek()
                if kind is None or (kind == "punct" and val in ("|", ")")):
                    break
                ops.append(self.operand())
            if not ops:
                self.error("empty command")
            cmds.append(("cmd", ops))
            kind, val = self.peek()
            if kind == "punct" and val == "|":
                self.take()
                continue
            return ("pipe", cmds)

    def operand(self):
        kind, val = self.take()
        if kind == "str":
            return ("lit", yaml.safe_load(val) if "\\" in val else val[1:-1])
        if kind == "raw":
            return ("lit", val[1:-1])
        if kind == "num":
            return ("lit", int(val))
        if kind == "field":
            return ("field", [] if val == "." else val[1:].split("."))
        if kind == "var":
            parts = val.split(".")
            return ("var", parts[0], parts[1:])
        if kind == "ident":
            if val in ("true", "false"):
                return ("lit", val == "true")
            if val == "nil":
                return ("lit", None)
            return ("ident", val)
        if kind == "punct" and val == "(":
            p = self.pipeline()
            k2, v2 = self.take()
            if (k2, v2) != ("punct", ")"):
                self.error("missing )")
            return p
        self.error("unexpected %r" % (val,))

    def done(self):
        if self.i != len(self.toks):
            self.error("unexpected %r" % (self.toks[self.i][1],))


def parse(src, name):
    """Returns (nodes, defines). Nodes: ('text', s), ('out', pipe),
    ('if', [(cond, nodes)...], else_nodes), ('range', keyvar, valvar, pipe, nodes, else_nodes),
    ('set', var, pipe)."""
    items = lex(src, name)
    defines = {}
    pos = [0]

    def block(top):
        nodes = []
        while pos[0] < len(items):
            it = items[pos[0]]
            pos[0] += 1
            if it[0] == "text":
                if it[1]:
                    nodes.append(("text", it[1]))
                continue
            body, line = it[1], it[2]
            where = "%s:%d" % (name, line)
            toks = tokenize(body, where)
            if not toks:
                raise TemplateError("%s: empty action" % where)
            head = toks[0]
            if head == ("ident", "end"):
                if top:
                    raise TemplateError("%s: unexpected end" % where)
                return nodes, "end", None, where
            if head == ("ident", "else"):
                if top:
                    raise TemplateError("%s: unexpected else" % where)
                return nodes, "else", toks[1:], where
            if head == ("ident", "if"):
                nodes.append(parse_if(toks[1:], where))
            elif head == ("ident", "range"):
                nodes.append(parse_range(toks[1:], where))
            elif head == ("ident", "define"):
                if not top or len(toks) != 2 or toks[1][0] != "str":
                    raise TemplateError("%s: define \"name\" only at the top level" % where)
                sub, term, _, w = block(False)
                if term != "end":
                    raise TemplateError("%s: else in define" % w)
                defines[toks[1][1][1:-1]] = sub
            elif head[0] in ("ident",) and head[1] in ("with", "template", "block", "break", "continue"):
                raise TemplateError("%s: render.py does not implement %r" % (where, head[1]))
            elif len(toks) >= 2 and head[0] == "var" and toks[1] == ("decl", ":="):
                p = ExprParser(toks[2:], where)
                pipe = p.pipeline()
                p.done()
                nodes.append(("set", head[1], pipe))
            else:
                p = ExprParser(toks, where)
                pipe = p.pipeline()
                p.done()
                nodes.append(("out", pipe, where))
        if not top:
            raise TemplateError("%s: missing {{ end }}" % name)
        return nodes, None, None, None

    def parse_if(toks, where):
        branches = []
        else_nodes = []
        cond_toks = toks
        while True:
            p = ExprParser(cond_toks, where)
            cond = p.pipeline()
            p.done()
            sub, term, rest, w = block(False)
            branches.append((cond, sub))
            if term == "end":
                return ("if", branches, else_nodes)
            if rest and rest[0] == ("ident", "if"):
                cond_toks = rest[1:]
                where = w
                continue
            if rest:
                raise TemplateError("%s: unexpected %r after else" % (w, rest[0][1]))
            else_nodes, term, _, w = block(False)
            if term != "end":
                raise TemplateError("%s: second else" % w)
            return ("if", branches, else_nodes)

    def parse_range(toks, where):
        keyvar = valvar = None
        if len(toks) >= 4 and toks[0][0] == "var" and toks[1] == ("punct", ",") and toks[2][0] == "var" \
                and toks[3] == ("decl", ":="):
            keyvar, valvar, toks = toks[0][1], toks[2][1], toks[4:]
        elif len(toks) >= 2 and toks[0][0] == "var" and toks[1] == ("decl", ":="):
            valvar, toks = toks[0][1], toks[2:]
        p = ExprParser(toks, where)
        pipe = p.pipeline()
        p.done()
        sub, term, rest, w = block(False)
        else_nodes = []
        if term == "else":
            if rest:
                raise TemplateError("%s: else if in range" % w)
            else_nodes, term, _, w = block(False)
            if term != "end":
                raise TemplateError("%s: second else" % w)
        return ("range", keyvar, valvar, pipe, sub, else_nodes)

    nodes, _, _, _ = block(True)
    return nodes, defines


# ------------------------------------------------------------ evaluation ----

def basic_kind(v):
    """Go's eq compares only values of one basic kind (a missing value is nil)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if v is None:
        return "nil"
    raise TemplateError("eq/ne on a %s" % type(v).__name__)


def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    return True


def go_float(f):
    """fmt's %v of a float64: strconv's 'g' with the shortest digits, which
    switches to an exponent below 1e-4 and from 1e+06 on (Helm prints a value
    of 1000000 as 1e+06, since values are float64)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0"
    m = re.match(r"^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$", repr(float(f)))
    sign, ip, fp, ex = m.group(1), m.group(2), m.group(3) or "", int(m.group(4) or 0)
    allds = ip + fp
    lead = len(allds) - len(allds.lstrip("0"))
    digits = allds.lstrip("0").rstrip("0") or "0"
    exp = len(ip) - 1 + ex - lead          # decimal exponent of the first significant digit
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return "%s%se%s%02d" % (sign, mant, "-" if exp < 0 else "+", abs(exp))
    if exp >= 0:
        if len(digits) <= exp + 1:
            return sign + digits + "0" * (exp + 1 - len(digits))
        return sign + digits[:exp + 1] + "." + digits[exp + 1:]
    return sign + "0." + "0" * (-exp - 1) + digits


def to_text(v, where):
    """What a Go template prints for v (Helm turns <no value> into "")."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return go_float(float(v))          # values are float64 in Helm
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return v
    raise TemplateError("%s: printing a %s is not supported (use toYaml)" % (where, type(v).__name__))


def go_quote(s):
    """Go's %q for a string."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7f:
            out.append("\\x%02x" % o)
        elif not ch.isprintable():
            out.append("\\u%04x" % o if o <= 0xFFFF else "\\U%08x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def to_yaml(v):
    """Helm's toYaml: YAML with sorted keys, without the final newline."""
    s = yaml.safe_dump(v, default_flow_style=False, sort_keys=True, allow_unicode=True, width=1 << 20)
    if s.endswith("...\n"):          # safe_dump of a bare scalar
        s = s[:-4]
    return s[:-1] if s.endswith("\n") else s


def indent_text(n, s):
    pad = " " * n
    return pad + s.replace("\n", "\n" + pad)


def go_printf(fmt, args, where):
    out = []
    i = 0
    ai = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(fmt):
            raise TemplateError("%s: bad printf format %r" % (where, fmt))
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        if ai >= len(args):
            out.append("%!" + verb + "(MISSING)")
            continue
        a = args[ai]
        ai += 1
        if verb in "sv" or (verb == "d" and isinstance(a, int) and not isinstance(a, bool)):
            out.append(to_text(a, where) if verb != "d" else str(a))
        elif verb == "q":
            out.append(go_quote(to_text(a, where)))
        else:
            raise TemplateError("%s: printf verb %%%s is not supported" % (where, verb))
    return "".join(out)


class Renderer:
    def __init__(self, root, defines, name):
        self.root = root
        self.defines = defines
        self.name = name

    def render(self, nodes, dot, scope):
        out = []
        scope = [dict()] + scope
        for n in nodes:
            kind = n[0]
            if kind == "text":
                out.append(n[1])
            elif kind == "out":
                out.append(to_text(self.pipe(n[1], dot, scope, n[2]), n[2]))
            elif kind == "set":
                scope[0][n[1]] = self.pipe(n[2], dot, scope, self.name)
            elif kind == "if":
                for cond, sub in n[1]:
                    if truthy(self.pipe(cond, dot, scope, self.name)):
                        out.append(self.render(sub, dot, scope))
                        break
                else:
                    out.append(self.render(n[2], dot, scope))
            elif kind == "range":
                _, keyvar, valvar, pipe, sub, else_nodes = n
                coll = self.pipe(pipe, dot, scope, self.name)
                if coll is None:
                    pairs = []
                elif isinstance(coll, dict):
                    pairs = sorted(coll.items())
                elif isinstance(coll, list):
                    pairs = list(enumerate(coll))
                elif isinstance(coll, int) and not isinstance(coll, bool):
                    pairs = [(i, i) for i in range(coll)]
                else:
                    raise TemplateError("%s: range over %s" % (self.name, type(coll).__name__))
                if not pairs:
                    out.append(self.render(else_nodes, dot, scope))
                for k, v in pairs:
                    inner = {}
                    if keyvar:
                        inner[keyvar] = k
                    if valvar:
                        inner[valvar] = v
                    out.append(self.render(sub, v, [inner] + scope))
        return "".join(out)

    def lookup_var(self, name, scope, where):
        if name == "$":
            return self.root
        for s in scope:
            if name in s:
                return s[name]
        raise TemplateError("%s: undefined variable %s" % (where, name))

    def fields(self, v, names, where, what):
        for n in names:
            if v is None:
                raise TemplateError("%s: nil pointer evaluating %s.%s" % (where, what, n))
            if not isinstance(v, dict):
                raise TemplateError("%s: can't evaluate field %s in %s" % (where, n, type(v).__name__))
            v = v.get(n)
            what += "." + n
        return v

    def operand(self, op, dot, scope, where):
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "field":
            return self.fields(dot, op[1], where, "")
        if kind == "var":
            return self.fields(self.lookup_var(op[1], scope, where), op[2], where, op[1])
        if kind == "pipe":
            return self.pipe(op, dot, scope, where)
        if kind == "ident":
            return self.call(op[1], [], where, dot)
        raise TemplateError("%s: bad operand" % where)

    def pipe(self, pipe, dot, scope, where):
        val = None
        first = True
        for _, ops in pipe[1]:
            if ops[0][0] == "ident":
                args = [self.operand(o, dot, scope, where) for o in ops[1:]]
                if not first:
                    args.append(val)
                val = self.call(ops[0][1], args, where, dot)
            else:
                if len(ops) != 1 or not first:
                    raise TemplateError("%s: can't give argument to non-function" % where)
                val = self.operand(ops[0], dot, scope, where)
            first = False
        return val

    def call(self, fn, a, where, dot):
        def need(n):
            if len(a) != n:
                raise TemplateError("%s: wrong number of args for %s: want %d got %d" % (where, fn, n, len(a)))
        if fn in ("eq", "ne"):
            if len(a) < 2 or (fn == "ne" and len(a) != 2):
                need(2)
            for b in a[1:]:
                if basic_kind(a[0]) != basic_kind(b):
                    raise TemplateError("%s: error calling %s: incompatible types for comparison" % (where, fn))
            same = any(a[0] == b for b in a[1:])
            return same if fn == "eq" else not same
        if fn == "not":
            need(1)
            return not truthy(a[0])
        if fn == "and":
            for x in a:
                if not truthy(x):
                    return x
            return a[-1]
        if fn == "or":
            for x in a:
                if truthy(x):
                    return x
            return a[-1]
        if fn == "len":
            need(1)
            return len(a[0]) if a[0] is not None else 0
        if fn == "printf":
            return go_printf(a[0], a[1:], where)
        if fn == "print":
            return "".join(to_text(x, where) for x in a)
        if fn == "default":
            need(2)
            return a[1] if truthy(a[1]) else a[0]
        if fn == "quote":
            return " ".join(go_quote(to_text(x, where)) for x in a if x is not None)
        if fn == "b64enc":
            need(1)
            return base64.b64encode(to_text(a[0], where).encode()).decode()
        if fn == "join":
            need(2)
            items = a[1] if isinstance(a[1], list) else ([] if a[1] is None else [a[1]])
            return a[0].join(to_text(x, where) for x in items if x is not None)
        if fn == "nindent":
            need(2)
            return "\n" + indent_text(a[0], to_text(a[1], where))
        if fn == "indent":
            need(2)
            return indent_text(a[0], to_text(a[1], where))
        if fn == "toYaml":
            need(1)
            return to_yaml(a[0])
        if fn == "required":
            need(2)
            if a[1] is None or a[1] == "":
                raise TemplateError("%s: execution error: %s" % (where, a[0]))
            return a[1]
        if fn == "fail":
            need(1)
            raise TemplateError("%s: execution error: %s" % (where, a[0]))
        if fn == "include":
            need(2)
            if a[0] not in self.defines:
                raise TemplateError("%s: no template %r" % (where, a[0]))
            return Renderer(self.root, self.defines, self.name).render(self.defines[a[0]], a[1], [])
        raise TemplateError("%s: function %r is not implemented by render.py" % (where, fn))


# ---------------------------------------------------------------- values ----

def deep_merge(base, over):
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)           # helm: null deletes a key
        elif k in out and isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_set(expr):
    if "=" not in expr:
        raise SystemExit("render.py: --set %s: want key=value" % expr)
    key, val = expr.split("=", 1)

    def scalar(s):
        if s in ("true", "false"):
            return s == "true"
        if s == "null":
            return None
        if re.fullmatch(r"-?\d+", s):
            return int(s)
        return s
    if val.startswith("{") and val.endswith("}"):
        v = [scalar(x) for x in val[1:-1].split(",") if x != ""]
    else:
        v = scalar(val)
    out = v
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def load_yaml_file(path):
    with open(path) as f:
        v = yaml.safe_load(f)
    return v or {}


def render_chart(values_files=(), sets=(), release="atoll", namespace="default", chart=CHART):
    chart_meta = load_yaml_file(os.path.join(chart, "Chart.yaml"))
    values = load_yaml_file(os.path.join(chart, "values.yaml"))
    for f in values_files:
        values = deep_merge(values, load_yaml_file(f))
    for s in sets:
        values = deep_merge(values, parse_set(s))
    root = {
        "Values": values,
        "Release": {"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": True,
                    "IsUpgrade": False, "Revision": 1},
        "Chart": {"Name": chart_meta["name"], "Version": chart_meta["version"],
                  "AppVersion": chart_meta.get("appVersion", "")},
    }
    tdir = os.path.join(chart, "templates")
    names = sorted(os.listdir(tdir))
    defines = {}
    parsed = {}
    for n in names:
        with open(os.path.join(tdir, n)) as f:
            src = f.read()
        nodes, defs = parse(src, "%s/templates/%s" % (chart_meta["name"], n))
        defines.update(defs)
        parsed[n] = nodes
    docs = []
    for n in names:
        if n.startswith("_"):
            continue   # partials: only their defines are used (helm does not execute them)
        where = "%s/templates/%s" % (chart_meta["name"], n)
        text = Renderer(root, defines, where).render(parsed[n], root, [])
        if not n.endswith((".yaml", ".yml")):
            continue   # NOTES.txt: evaluated (so errors show), not a manifest
        for doc in re.split(r"(?m)^---[ \t]*$\n?", text):
            if not doc.strip():
                continue
            try:
                obj = yaml.safe_load(doc)
            except yaml.YAMLError as e:
                raise TemplateError("%s rendered invalid YAML: %s\n%s" % (where, e, doc))
            if not isinstance(obj, dict) or "kind" not in obj:
                raise TemplateError("%s rendered a document without kind:\n%s" % (where, doc))
            docs.append((where, obj["kind"], doc.strip("\n")))
    order = {k: i for i, k in enumerate(INSTALL_ORDER)}
    docs.sort(key=lambda d: (order.get(d[1], len(order)), d[1] if d[1] not in order else ""))
    return "".join("---\n# Source: %s\n%s\n" % (w, d) for w, _, d in docs)


def manifest_text(fname, overlay, release, namespace):
    body = render_chart([os.path.join(CHART, overlay)], release=release, namespace=namespace)
    head = ("# GENERATED by deploy/render.py from deploy/helm/atoll with values.yaml + %s\n"
            "# (release %s, namespace %s). Do not edit: change the chart and run deploy/render.py --write.\n"
            % (overlay, release, namespace))
    return head + body


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render the Atoll Helm chart without helm.")
    ap.add_argument("-f", "--values", action="append", default=[], help="values file (repeatable)")
    ap.add_argument("--set", action="append", default=[], help="key.path=value (repeatable)")
    ap.add_argument("--namespace", "-n", default="atoll-system")
    ap.add_argument("--release", default="atoll")
    ap.add_argument("--write", action="store_true", help="regenerate deploy/manifests/")
    ap.add_argument("--check", action="store_true", help="fail when deploy/manifests/ is out of date")
    args = ap.parse_args(argv)
    try:
        if args.write or args.check:
            stale = 0
            for fname, overlay, release, ns in MANIFESTS:
                path = os.path.join(HERE, "manifests", fname)
                want = manifest_text(fname, overlay, release, ns)
                try:
                    with open(path) as f:
                        have = f.read()
                except FileNotFoundError:
                    have = ""
                if have == want:
                    continue
                if args.write:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w") as f:
                        f.write(want)
                    print("wrote deploy/manifests/%s" % fname)
                else:
                    stale += 1
                    sys.stdout.writelines(difflib.unified_diff(
                        have.splitlines(True), want.splitlines(True),
                        "deploy/manifests/" + fname, "rendered from deploy/helm/atoll"))
            if stale:
                print("render.py: deploy/manifests/ is out of date: run deploy/render.py --write", file=sys.stderr)
                return 1
            return 0
        sys.stdout.write(render_chart(args.values, args.set, args.release, args.namespace))
        return 0
    except TemplateError as e:
        print("render.py: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
