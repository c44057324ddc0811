"""Multi-cluster services' kinds on the hub, through real kubectl:
multicluster.x-k8s.io/v1alpha1 ServiceExport and ServiceImport and
discovery.k8s.io/v1 EndpointSlice are served, validated (422 naming the
field, nothing stored) and printed with kubectl's / the MCS CRDs' columns."""
import json

EXPORT = """apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata:
  name: hello
"""

IMPORT = """apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata:
  name: hello
spec:
  type: ClusterSetIP
  ips: ["10.96.0.10"]
  ports:
  - port: 5000
    protocol: TCP
"""

SLICE = """apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: hello-abc
  labels:
    kubernetes.io/service-name: hello
addressType: IPv4
ports:
- name: ""
  port: 9898
  protocol: TCP
endpoints:
- addresses: ["10.1.0.2"]
  conditions: {ready: true}
  zone: eu-west-1a
- addresses: ["10.1.0.3"]
- addresses: ["10.1.0.4"]
- addresses: ["10.1.0.5"]
"""


def rows(out):
    return [l.split() for l in out.strip().splitlines()]


def test_mcs_kinds_served_validated_printed(kubectl):
    kubectl("apply", "-f", "-", input=EXPORT + "---\n" + IMPORT + "---\n" + SLICE)
    assert rows(kubectl("get", "serviceexports").stdout)[1][0] == "hello"
    assert rows(kubectl("get", "svcex").stdout)[1][0] == "hello"
    r = rows(kubectl("get", "serviceimports").stdout)
    assert r[0] == ["NAME", "TYPE", "IP", "AGE"] and r[1][:3] == ["hello", "ClusterSetIP", "10.96.0.10"]
    r = rows(kubectl("get", "endpointslices").stdout)
    assert r[0] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert r[1][:4] == ["hello-abc", "IPv4", "9898", "10.1.0.2,10.1.0.3,10.1.0.4"] and r[1][4:7] == ["+", "1", "more..."]
    es = json.loads(kubectl("get", "endpointslice", "hello-abc", "-o", "json").stdout)
    assert es["endpoints"][0]["zone"] == "eu-west-1a" and es["endpoints"][0]["conditions"]["ready"] is True

    bad = [
        (IMPORT.replace("ClusterSetIP", "LoadBalancer"), "spec.type: Unsupported value: \"LoadBalancer\""),
        (IMPORT.replace("port: 5000", "port: 70000"), "spec.ports[0].port: Invalid value: 70000"),
        (IMPORT.replace("name: hello", "name: Hello_1"), "metadata.name: Invalid value: \"Hello_1\""),
        (EXPORT.replace("name: hello", "name: 1hello"), "metadata.name: Invalid value: \"1hello\""),
        (SLICE.replace("addressType: IPv4", "addressType: IPv5").replace("hello-abc", "x"),
         "addressType: Unsupported value: \"IPv5\""),
        (SLICE.replace("addresses: [\"10.1.0.3\"]", "addresses: []").replace("hello-abc", "x"),
         "endpoints[1].addresses"),
    ]
    for doc, msg in bad:
        p = kubectl("apply", "-f", "-", input=doc, check=False)
        assert p.returncode != 0 and msg in p.stderr, (msg, p.stderr)
    assert len(json.loads(kubectl("get", "serviceimports", "-o", "json").stdout)["items"]) == 1
    assert len(json.loads(kubectl("get", "endpointslices", "-o", "json").stdout)["items"]) == 1
    assert len(json.loads(kubectl("get", "serviceexports", "-o", "json").stdout)["items"]) == 1
