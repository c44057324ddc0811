/* schemameta — what the schema table knows beyond protobuf.
 * Owns: per field of every message in pbs_messages (same indexes): the
 * Kubernetes minor version the field appeared in, whether it is required,
 * its enum values and a short description; per message a description;
 * and the Karmada kinds (JSON only, "crd" lines of karmada.schema). All
 * generated from proto/schema/k8s.schema and karmada.schema by gen_schema.awk. */
#ifndef ATOLL_SCHEMAMETA_H
#define ATOLL_SCHEMAMETA_H

#include <stddef.h>

struct sch_field_meta {
	int since;         /* Kubernetes minor the field appeared in (1.N); 0: always there */
	int required;
	int preserve;      /* any JSON value (x-kubernetes-preserve-unknown-fields) */
	const char *desc;  /* or NULL */
	const char *enums; /* "A|B|C" or NULL */
	/* default=VALUE: a JSON literal set when the field is unset (absent or
	 * null), wherever the message appears (Kubernetes' SetDefaults_<Type>);
	 * or NULL. default_root: kdefault=VALUE, a default of the kind's own
	 * SetDefaults_<Kind>, set only where the message is a direct child of
	 * the kind's root object (a Job's spec, not a CronJob's jobTemplate). */
	const char *default_json;
	int default_root;
	/* What validation checks (validate.c's walker over the table), beyond
	 * the JSON type: enum= values are enforced too (sorted in messages). */
	unsigned vflags;   /* enum sch_vflag */
	double vmin, vmax; /* SCH_V_MIN / SCH_V_MAX bounds of an integer */
	const char *format; /* format=: "dns1123label", "dns1123subdomain", "dns1035label", "labelvalue"; or NULL */
};

enum sch_vflag {
	SCH_V_REQ = 1u << 0,      /* req: present whenever its parent object is */
	SCH_V_NONEMPTY = 1u << 1, /* nonempty: "" or [] counts as missing */
	SCH_V_EMPTY_OK = 1u << 2, /* emptyok: "" passes the enum (and is not listed) */
	SCH_V_MIN = 1u << 3,      /* min=N (an int32 gets max 2147483647 with it) */
	SCH_V_MAX = 1u << 4,      /* max=N */
	SCH_V_BETWEEN = 1u << 5,  /* range=A..B: "must be between A and B, inclusive" */
	SCH_V_IMMUTABLE = 1u << 6, /* immutable: an update may not change it ("field is immutable") */
};

struct sch_message_meta {
	const char *desc; /* or NULL */
	const struct sch_field_meta *fields; /* parallel to pbs_messages[i].fields */
};

struct sch_crd_kind {
	const char *api_version;
	const char *kind;
	int msg;
};

extern const struct sch_message_meta sch_messages[]; /* parallel to pbs_messages */
extern const struct sch_crd_kind sch_crd_kinds[];
extern const int sch_crd_kinds_count;

#endif
