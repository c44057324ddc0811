/* protocol — the hub <-> agent protocol (atoll.io/v1alpha1).
 * Owns: the paths, the protocol version and its compatibility rules, the
 * message types and their JSON codecs with validation, and the names
 * Karmada gives to what the protocol touches (execution namespace, Lease
 * namespace, condition reasons). Pure: no I/O, no clock except where a
 * caller passes one. docs/protocol.md is the written description.
 *
 * Endpoints (every body is JSON with "apiVersion":"atoll.io/v1alpha1" and a
 * "kind"; errors are Kubernetes Status objects):
 *   PUT  /apis/atoll.io/v1alpha1/clusters/NAME/registration   Registration
 *   PUT  /apis/atoll.io/v1alpha1/clusters/NAME/heartbeat      Heartbeat
 *   GET  /apis/atoll.io/v1alpha1/clusters/NAME/works?revision=R&timeoutSeconds=T
 *                                                           -> WorkEvents
 *   POST /apis/atoll.io/v1alpha1/clusters/NAME/workstatuses   WorkStatusReport
 *                                                           -> WorkStatusResult */
#ifndef ATOLL_PROTOCOL_H
#define ATOLL_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define PROTO_GROUP "atoll.io"
#define PROTO_VERSION "v1alpha1"
#define PROTO_API_VERSION "atoll.io/v1alpha1"
#define PROTO_PREFIX "/apis/atoll.io/v1alpha1"
#define PROTO_GROUP_PREFIX "/apis/atoll.io/"

/* Karmada's names. */
#define PROTO_LEASE_NAMESPACE "karmada-cluster"
#define PROTO_EXEC_NS_PREFIX "karmada-es-"
#define PROTO_DEFAULT_LEASE_S 40
#define PROTO_DEFAULT_RENEW_S 10
#define PROTO_DEFAULT_POLL_S 30
#define PROTO_MAX_POLL_S 300
#define PROTO_MAX_EVENTS 500 /* per WorkEvents answer; "more" tells the agent to ask again */
#define PROTO_MAX_STATUS_ITEMS 500

/* Ready condition reasons (Karmada cluster_status_controller.go / cluster_controller.go). */
#define REASON_CLUSTER_READY "ClusterReady"
#define MSG_CLUSTER_READY "cluster is healthy and ready to accept workloads"
#define REASON_CLUSTER_NOT_READY "ClusterNotReady"
#define MSG_CLUSTER_NOT_READY "cluster is reachable but health endpoint responded without ok"
#define REASON_CLUSTER_NOT_REACHABLE "ClusterNotReachable"
#define MSG_CLUSTER_NOT_REACHABLE "cluster is not reachable"
#define REASON_CLUSTER_UNKNOWN "ClusterStatusUnknown"
#define MSG_CLUSTER_UNKNOWN "Cluster status controller stopped posting cluster status."
/* Work Applied condition (execution_controller.go). */
#define REASON_APPLIED_OK "AppliedSuccessful"
#define MSG_APPLIED_OK "Manifest has been successfully applied"
#define REASON_APPLIED_FAILED "AppliedFailed"

/* The member's health as the agent sees it. */
enum proto_health { PH_HEALTHY = 0, PH_UNHEALTHY, PH_UNREACHABLE };

/* Resource amounts in milli-units (cpu in millicores, memory in milli-bytes
 * would overflow: memory, storage and pods are whole units). */
struct proto_resources {
	int64_t cpu_milli;
	int64_t memory;
	int64_t ephemeral_storage;
	int64_t pods;
};

struct proto_registration {
	char cluster[64];
	char agent_version[32];
	char kubernetes_version[64];
	char provider[64];
	char region[64];
	char zones[8][64];
	int nzones;
	char api_endpoint[512];
	char id[128];
	cJSON *labels; /* object of string -> string, owned; may be NULL */
};

struct proto_heartbeat {
	char cluster[64];
	int lease_duration_s;
	enum proto_health health;
	char kubernetes_version[64];
	bool have_summary;
	int nodes_total, nodes_ready;
	struct proto_resources allocatable, allocated, allocating;
};

/* One entry of a WorkStatusReport. */
struct proto_work_status {
	char name[254];
	long long generation;  /* the Work generation these results are for */
	bool applied;
	char reason[64];
	char message[2048];
	cJSON *manifest_statuses; /* array, owned */
};

/* ---- helpers ---- */

/* "karmada-es-<cluster>" */
void proto_exec_namespace(const char *cluster, char *buf, size_t len);
/* Store key prefix of a cluster's Works: "work.karmada.io/works/karmada-es-<c>/" */
void proto_works_prefix(const char *cluster, char *buf, size_t len);
/* Validates a cluster name as Karmada does (DNS label, at most 48 chars). */
bool proto_valid_cluster_name(const char *name, char *err, size_t errlen);
/* Checks "apiVersion" and "kind" of a message body. Returns 0, or -1 with a
 * message naming the supported version. */
int proto_check_type(const cJSON *body, const char *kind, char *err, size_t errlen);

/* Splits "/apis/atoll.io/<ver>/clusters/<name>/<op>". Returns 0 and fills
 * the parts, -1 if the path is not a protocol path. */
int proto_parse_path(const char *path, char *ver, size_t verlen, char *cluster, size_t clen, char *op, size_t oplen);

/* ---- codecs: *_to_json returns a new object; *_from_json returns 0 or -1 with err. ---- */

cJSON *proto_registration_to_json(const struct proto_registration *r);
int proto_registration_from_json(const cJSON *j, struct proto_registration *r, char *err, size_t errlen);
void proto_registration_free(struct proto_registration *r);

cJSON *proto_heartbeat_to_json(const struct proto_heartbeat *h);
int proto_heartbeat_from_json(const cJSON *j, struct proto_heartbeat *h, char *err, size_t errlen);

/* WorkEvents: {apiVersion, kind, revision:"R", full:bool, more:bool,
 * events:[{type: ADDED|MODIFIED|DELETED, object: Work}]}. Builders take
 * ownership of object. */
cJSON *proto_work_events_new(long long revision, bool full, bool more);
void proto_work_events_add(cJSON *events, const char *type, cJSON *object);
/* Validates an answer; on success *revision, *full, *more are set and
 * *events points into j. */
int proto_work_events_parse(const cJSON *j, long long *revision, bool *full, bool *more, const cJSON **events,
			    char *err, size_t errlen);

cJSON *proto_status_report_to_json(const struct proto_work_status *items, int n);
/* Parses into a new array (*items, *n; free with proto_work_status_free). */
int proto_status_report_from_json(const cJSON *j, struct proto_work_status **items, int *n, char *err, size_t errlen);
void proto_work_status_free(struct proto_work_status *items, int n);

/* ---- resources ---- */

/* Kubernetes quantity ("100m", "1.5", "2Gi", "1e3", "128974848") into
 * milli-units. Returns 0, or -1 on syntax error or overflow. */
int proto_quantity_milli(const char *s, int64_t *out);
/* ResourceList {"cpu":"1500m","memory":"2Gi","pods":"110",...} of r. */
cJSON *proto_resources_to_json(const struct proto_resources *r);
void proto_resources_from_json(const cJSON *j, struct proto_resources *r);
/* Adds a ResourceList (JSON) into r; unknown resources are ignored. */
void proto_resources_add_list(struct proto_resources *r, const cJSON *list);

/* ---- cluster status ---- */

/* The Ready condition's (status, reason, message) for a member health. */
void proto_ready_condition(enum proto_health h, const char **status, const char **reason, const char **message);
/* Sets (or replaces) condition type in conds (array), keeping
 * lastTransitionTime when the status did not change. now is RFC 3339.
 * Returns true when anything changed. */
bool proto_set_condition(cJSON *conds, const char *type, const char *status, const char *reason, const char *message,
			 long long observed_generation, const char *now);

#endif
