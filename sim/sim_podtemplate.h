/* podtemplate — pod templates and the pods made from them.
 * Owns: the pod-template-hash (Kubernetes' controller.ComputeHash: FNV-32a
 * of the template, printed in decimal and safe-encoded), canonical JSON of
 * a template (keys sorted, so key order never changes a hash), the Pod a
 * workload controller creates from a template (labels, annotations,
 * ownerReferences, spec + nodeName), the choice of a node for a new pod
 * (least loaded, then by name) and the template equality that ignores the
 * hash label. Pure functions: no I/O, no clock, no globals. */
#ifndef ATOLL_SIM_PODTEMPLATE_H
#define ATOLL_SIM_PODTEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define POD_TEMPLATE_HASH_LABEL "pod-template-hash"

/* 32-bit FNV-1a over n bytes, continuing from h (start with
 * SIM_FNV32_OFFSET). */
#define SIM_FNV32_OFFSET 2166136261u
uint32_t sim_fnv32a(const void *data, size_t n, uint32_t h);

/* Kubernetes' rand.SafeEncodeString: each byte mapped onto
 * "bcdfghjklmnpqrstvwxz2456789". out needs strlen(in) + 1 bytes. */
void sim_safe_encode(const char *in, char *out, size_t outlen);

/* A deep copy of j with every object's keys sorted (byte order). */
cJSON *sim_canonical(const cJSON *j);

/* The pod-template-hash of a template (spec.template of a workload), as
 * Kubernetes computes it: hash of the template, then of collision_count
 * when it is > 0; decimal; safe-encoded. At most 10 characters. */
const char *sim_pod_template_hash(const cJSON *tmpl, long collision_count, char *buf, size_t len);

/* True when two templates are equal once the pod-template-hash label is
 * removed from both (Kubernetes' EqualIgnoreHash). */
bool sim_template_equal_ignore_hash(const cJSON *a, const cJSON *b);

/* An ownerReference to owner (apiVersion, kind from owner), controller and
 * blockOwnerDeletion true. NULL when owner lacks name or uid. */
cJSON *sim_owner_ref(const cJSON *owner);

/* The controller ownerReference of obj (the one with controller: true),
 * or NULL. */
const cJSON *sim_controller_ref(const cJSON *obj);
/* True when obj's controller reference points at owner (kind and uid). */
bool sim_is_controlled_by(const cJSON *obj, const cJSON *owner);

/* The Pod a workload creates from its spec.template: metadata.name (or
 * generateName "<owner>-" when name is NULL), namespace of the owner,
 * labels and annotations of the template, the owner reference, spec of the
 * template with nodeName set (unless node is NULL). No status. */
cJSON *sim_pod_from_template(const cJSON *owner, const cJSON *tmpl, const char *name, const char *node);

/* The node for a new pod: the name in nodes (array of strings) with the
 * fewest pods in pods (array of Pod objects, by spec.nodeName), ties to
 * the first name in nodes order. NULL when nodes is empty. */
const char *sim_pick_node(const cJSON *nodes, const cJSON *pods);

#endif
