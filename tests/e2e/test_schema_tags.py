"""proto/schema/k8s.schema against the Go struct tags in a real kubectl.

kubectl is a Go program, and Go keeps every struct tag in the binary, e.g.
`json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"`. Every
field of the schema table must appear there with the same JSON name,
protobuf field number (the tags' wire type and opt/rep are not used by
Go's generated marshalling code and have known quirks, e.g. portals is
"opt" and qosClass "rep", so they are not compared). Skips when no kubectl
1.33 is installed."""
import os
import re

import pytest

from conftest import kubectl_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "proto", "schema", "k8s.schema")

# One struct tag: the printable run around protobuf:"bytes,3,rep,name=x,...",
# with json:"name,omitempty" before or after it (maybe patchStrategy etc. too).
PROTO = re.compile(rb'protobuf:"[a-z0-9]+,(\d+),(?:[a-z]+,)?name=([A-Za-z0-9_]+)')
JSON = re.compile(rb'json:"([^",]*)[^"]*"')
PRINTABLE = re.compile(rb'[ -~]*')

# Messages whose Go type has no JSON field tags of its own (custom JSON
# marshalling): their fields are matched by protobuf name instead.
BY_PROTO_NAME = {"intstr.IntOrString", "rt.RawExtension", "meta.FieldsV1", "rt.Unknown"}


# resource.Quantity marshals itself (generated.proto: `optional string string = 1`);
# its Go struct has no tags at all.
NO_TAGS = {"res.Quantity"}


def kubectl_binary():
    p = kubectl_path("1.33")
    return os.path.realpath(p) if p else None


def tags(binary):
    by_json, by_proto = set(), set()
    with open(binary, "rb") as f:
        data = f.read()
    i = data.find(b'protobuf:"')
    while i >= 0:
        m = PROTO.match(data, i)
        if m:
            num, pname = int(m.group(1)), m.group(2).decode()
            by_proto.add((pname, num))
            start = i
            while start > 0 and 32 <= data[start - 1] < 127 and i - start < 200:
                start -= 1
            end = PRINTABLE.match(data, i).end()
            j = JSON.search(data, start, end)
            if j:
                by_json.add((j.group(1).decode(), num))
        i = data.find(b'protobuf:"', i + 10)
    return by_json, by_proto


def schema_fields():
    msg = None
    with open(SCHEMA) as f:
        for ln in f:
            t = ln.split()
            if not t or t[0].startswith("#"):
                continue
            if t[0] == "message":
                msg = t[1]
            elif t[0].isdigit():
                num, name, typ = int(t[0]), t[1], t[2]
                yield msg, name, num, t[3:]


def test_schema_fields_match_kubectl_struct_tags():
    binary = kubectl_binary()
    if not binary:
        pytest.skip("no kubectl.1.33 on PATH")
    by_json, by_proto = tags(binary)
    assert len(by_json) > 1000, "struct tags not found in %s" % binary
    missing = []
    n = 0
    for msg, name, num, flags in schema_fields():
        n += 1
        if msg in NO_TAGS:
            continue
        if msg in BY_PROTO_NAME:
            ok = (name, num) in by_proto
        elif "inline" in flags:
            ok = ("", num) in by_json
        else:
            ok = (name, num) in by_json
        if not ok:
            missing.append("%s.%s = %d" % (msg, name, num))
    assert n > 500
    assert not missing, "not a struct tag in %s:\n  %s" % (binary, "\n  ".join(missing))


# Fields of python3-kubernetes' models (Kubernetes 1.22) that Kubernetes 1.33
# no longer has.
REMOVED_SINCE = {("meta.ObjectMeta", "clusterName")}  # gone in 1.25


def test_schema_messages_are_complete_against_python_kubernetes():
    """Field validation refuses (Strict) or prunes what the table lacks, so
    each message must have every field: compared with the OpenAPI-generated
    models of Debian's python3-kubernetes (Kubernetes 1.22: every field
    there must be here; fields added since are checked by hand)."""
    models = pytest.importorskip("kubernetes.client.models")
    msgs, msg = {}, None
    with open(SCHEMA) as f:
        for ln in f:
            t = ln.split()
            if not t or t[0].startswith("#"):
                continue
            if t[0] == "message":
                msg = t[1]
                msgs[msg] = []
            elif t[0].isdigit():
                msgs[msg].append((t[1], t[2], t[3:]))

    def names(m):
        out = set()
        for j, typ, flags in msgs[m]:
            out |= names(typ) if "inline" in flags else {j}
        return out

    compared, gaps = 0, []
    for m in msgs:
        cls = getattr(models, "V1" + m.split(".", 1)[1], None)
        if cls is None:
            continue
        compared += 1
        want = set(cls.attribute_map.values()) - {"apiVersion", "kind"}
        gaps += ["%s.%s" % (m, f) for f in sorted(want - names(m)) if (m, f) not in REMOVED_SINCE]
    assert compared > 150
    assert not gaps, "fields missing from the schema table: " + ", ".join(gaps)
