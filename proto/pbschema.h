/* pbschema — the protobuf schema of the built-in kinds, as data.
 * Owns: the tables generated at build time from proto/schema/k8s.schema
 * (gen_schema.awk): one row per message with its fields (JSON name,
 * protobuf field number, type, cardinality, Go pointer and inline flags,
 * list semantics for server-side apply and strategic merge patch),
 * and the served kinds with their root and List messages. */
#ifndef ATOLL_PBSCHEMA_H
#define ATOLL_PBSCHEMA_H

#include <stddef.h>

enum pbs_type { PBS_STRING, PBS_INT32, PBS_INT64, PBS_BOOL, PBS_BYTES, PBS_MESSAGE };
enum pbs_card { PBS_ONE, PBS_REPEATED, PBS_MAP /* map<string, type> */ };
enum pbs_flag {
	PBS_PTR = 1 << 0,    /* Go pointer: a present zero value is kept */
	PBS_INLINE = 1 << 1, /* embedded struct: its fields are the parent's in JSON */
	PBS_LIST_SET = 1 << 2,    /* x-kubernetes-list-type: set (a list of scalars) */
	PBS_LIST_ATOMIC = 1 << 3, /* x-kubernetes-list-type: atomic, said explicitly */
};
/* Messages whose JSON form is not an object. */
enum pbs_special {
	PBS_SPECIAL_NONE, PBS_SPECIAL_TIME, PBS_SPECIAL_MICROTIME, PBS_SPECIAL_QUANTITY,
	PBS_SPECIAL_INTSTR, PBS_SPECIAL_RAW, PBS_SPECIAL_FIELDSV1,
};

struct pbs_field {
	const char *json;
	int number;
	enum pbs_type type;
	enum pbs_card card;
	int msg;   /* index in pbs_messages for PBS_MESSAGE, else -1 */
	unsigned flags;
	/* A list of objects that is a map (x-kubernetes-list-type: map): its
	 * x-kubernetes-list-map-keys, comma-separated; the first is also the
	 * strategic-merge-patch patchMergeKey. NULL for other fields. A list
	 * with neither keys nor PBS_LIST_SET is atomic. */
	const char *keys;
};

struct pbs_message {
	const char *name; /* "apps.DeploymentSpec" */
	enum pbs_special special;
	const struct pbs_field *fields;
	int nfields;
	int atomic; /* x-kubernetes-map-type: atomic (LabelSelector): owned and replaced whole */
};

struct pbs_kind {
	const char *api_version; /* "apps/v1", "v1" */
	const char *kind;
	int msg;      /* the object's message */
	int list_msg; /* its List: metadata=1, items=2 */
};

/* pbs_messages[0 .. pbs_messages_count) have a protobuf form; the rest, up
 * to pbs_all_messages_count, are JSON only (field numbers 0): the Karmada
 * kinds from proto/schema/karmada.schema. */
extern const struct pbs_message pbs_messages[];
extern const int pbs_messages_count;
extern const int pbs_all_messages_count;
extern const struct pbs_kind pbs_kinds[];
extern const int pbs_kinds_count;
/* JSON-only kinds ("crd" lines): list_msg is -1. */
extern const struct pbs_kind pbs_json_kinds[];
extern const int pbs_json_kinds_count;

struct kind_info;
/* The root message of a served kind, or -1 when the table lacks it
 * (Karmada and custom kinds). */
int pbs_kind_message(const struct kind_info *k);
/* The root message of a kind in the schema table, JSON-only kinds
 * (Karmada's, "crd" lines) included; -1 for custom kinds and kinds the
 * table lacks. */
int pbs_kind_schema_message(const struct kind_info *k);
/* The field of message msg with this JSON name (the fields of inline
 * members included), or NULL. */
const struct pbs_field *pbs_find_field(int msg, const char *name);

#endif
