"""A CustomResourceDefinition's own fields are checked like a built-in
kind's: kube-apiserver decodes a CRD into its Go types, so under
fieldValidation=Strict (kubectl's default) a typo anywhere in it, down into
openAPIV3Schema, is refused with 400 and names the field; under Warn the
field is dropped with a warning. A CRD using every field is kept whole."""
import copy
import json

import pytest

from conftest import make_kubectl

pytestmark = pytest.mark.transport_independent(
    "a check of request bodies: the transport changes nothing these tests look at")

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

# Every field of CustomResourceDefinitionSpec, ...Version, the column and
# subresource types, and JSONSchemaProps (nested through each of its
# schema-holding fields), as of Kubernetes 1.33.
FULL_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.fields.example.com", "labels": {"a": "b"}},
    "spec": {
        "group": "fields.example.com",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList",
                  "shortNames": ["gd"], "categories": ["all"]},
        "scope": "Namespaced",
        "conversion": {"strategy": "None"},
        "versions": [{
            "name": "v1", "served": True, "storage": True, "deprecated": False,
            "subresources": {"status": {},
                             "scale": {"specReplicasPath": ".spec.replicas",
                                       "statusReplicasPath": ".status.replicas",
                                       "labelSelectorPath": ".status.selector"}},
            "additionalPrinterColumns": [{"name": "Size", "type": "integer", "format": "int32",
                                          "description": "how big", "priority": 0,
                                          "jsonPath": ".spec.size"}],
            "selectableFields": [{"jsonPath": ".spec.color"}],
            "schema": {"openAPIV3Schema": {
                "type": "object", "description": "a gadget", "title": "Gadget",
                "required": ["spec"],
                "externalDocs": {"description": "docs", "url": "https://example.com"},
                "properties": {
                    "spec": {
                        "type": "object", "nullable": False, "minProperties": 0, "maxProperties": 20,
                        "x-kubernetes-validations": [{
                            "rule": "self.size >= 0", "message": "size", "messageExpression": "'size'",
                            "reason": "FieldValueInvalid", "fieldPath": ".size", "optionalOldSelf": False}],
                        "properties": {
                            "replicas": {"type": "integer", "minimum": 0, "maximum": 10,
                                         "exclusiveMinimum": False, "exclusiveMaximum": False,
                                         "multipleOf": 1, "default": 1, "example": 3},
                            "size": {"type": "integer", "format": "int32"},
                            "color": {"type": "string", "enum": ["red", "blue"], "pattern": "^[a-z]+$",
                                      "minLength": 1, "maxLength": 10},
                            "port": {"x-kubernetes-int-or-string": True,
                                     "anyOf": [{"type": "integer"}, {"type": "string"}]},
                            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 0,
                                     "maxItems": 5, "uniqueItems": False, "x-kubernetes-list-type": "set"},
                            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                      "x-kubernetes-list-map-keys": ["name"],
                                      "items": {"type": "object", "required": ["name"],
                                                "properties": {"name": {"type": "string"}}}},
                            "labels": {"type": "object", "x-kubernetes-map-type": "granular",
                                       "additionalProperties": {"type": "string"}},
                            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                                         "x-kubernetes-preserve-unknown-fields": True},
                            "either": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                                       "allOf": [{"not": {"required": ["c"]}}],
                                       "type": "object",
                                       "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                                                      "c": {"type": "string"}}},
                        },
                    },
                    "status": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "selector": {"type": "string"}}},
                },
            }},
        }],
    },
}


def post(hub, body, validation):
    return hub.request("POST", CRDS + "?fieldValidation=" + validation, body)


def test_a_crd_with_every_field_is_kept_whole(hub):
    code, obj, _ = post(hub, FULL_CRD, "Strict")
    assert code == 201, obj
    code, got, _ = hub.get(CRDS + "/gadgets.fields.example.com")
    assert code == 200
    assert got["spec"]["versions"] == FULL_CRD["spec"]["versions"]
    assert got["spec"]["names"] == FULL_CRD["spec"]["names"]
    assert got["spec"]["conversion"] == FULL_CRD["spec"]["conversion"]


# (where the typo goes, the field path Kubernetes names)
TYPOS = [
    (lambda c: c["spec"]["versions"][0]["additionalPrinterColumns"][0].__setitem__(
        "jsonpath", c["spec"]["versions"][0]["additionalPrinterColumns"][0].pop("jsonPath")),
     "spec.versions[0].additionalPrinterColumns[0].jsonpath"),
    (lambda c: c["spec"].__setitem__("versoins", c["spec"]["versions"]),
     "spec.versoins"),
    (lambda c: c["spec"]["names"].__setitem__("shortName", ["g"]),
     "spec.names.shortName"),
    (lambda c: c["spec"]["versions"][0]["subresources"].__setitem__("scael", {}),
     "spec.versions[0].subresources.scael"),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"].__setitem__(
        "propertis", {}),
     "spec.versions[0].schema.openAPIV3Schema.propertis"),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
     ["tags"]["items"].__setitem__("tpye", "string"),
     "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags].items.tpye"),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
     ["x-kubernetes-validations"][0].__setitem__("mesage", "x"),
     "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].mesage"),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
     ["either"]["allOf"][0]["not"].__setitem__("requird", ["c"]),
     "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[either].allOf[0].not.requird"),
]


@pytest.mark.parametrize("i", range(len(TYPOS)))
def test_a_typo_in_a_crd_is_refused_under_strict_and_changes_nothing(hub, i):
    spoil, path = TYPOS[i]
    crd = copy.deepcopy(FULL_CRD)
    spoil(crd)
    code, status, _ = post(hub, crd, "Strict")
    assert code == 400, status
    assert status["reason"] == "BadRequest"
    assert status["message"] == (
        'CustomResourceDefinition in version "v1" cannot be handled as a CustomResourceDefinition: '
        'strict decoding error: unknown field "%s"' % path)
    assert hub.get(CRDS + "/gadgets.fields.example.com")[0] == 404
    assert hub.get("/apis/fields.example.com/v1/namespaces/default/gadgets")[0] == 404


def test_under_warn_the_unknown_field_is_dropped_with_a_warning(hub):
    crd = copy.deepcopy(FULL_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"][
        "minimun"] = 1
    code, obj, headers = post(hub, crd, "Warn")
    assert code == 201, obj
    warnings = headers.get_all("Warning")
    assert warnings == ['299 - "unknown field \\"spec.versions[0].schema.openAPIV3Schema.properties[spec]'
                        '.properties[size].minimun\\""'], warnings
    size = obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]
    assert size == {"type": "integer", "format": "int32"}


@pytest.mark.parametrize("version", ["1.33", "1.27"])
def test_kubectl_names_the_typo_in_a_crd(hub, tmp_path, version):
    kubectl = make_kubectl(hub, tmp_path, version)
    crd = copy.deepcopy(FULL_CRD)
    TYPOS[0][0](crd)
    p = kubectl("apply", "-f", "-", input=json.dumps(crd), check=False)
    assert p.returncode == 1, p.stdout
    assert 'strict decoding error: unknown field "spec.versions[0].additionalPrinterColumns[0].jsonpath"' \
        in p.stderr, p.stderr
    assert hub.get(CRDS + "/gadgets.fields.example.com")[0] == 404
    p = kubectl("apply", "-f", "-", input=json.dumps(FULL_CRD))
    assert "gadgets.fields.example.com created" in p.stdout
