/* kinds — the table of API kinds the hub and the simulator serve.
 * Owns: group/version/kind/resource names, scope, short names, categories,
 * subresources, which table layout prints a kind, and the registry that
 * adds kinds from CustomResourceDefinitions at run time.
 * Adding a built-in kind is one row in kinds.c, never new code. */
#ifndef ATOLL_KINDS_H
#define ATOLL_KINDS_H

#include <stdbool.h>
#include <cjson/cJSON.h>

enum kind_sub { SUB_STATUS = 1u << 0, SUB_SCALE = 1u << 1 };

/* Which server-side Table layout prints a kind (see table.h). */
enum table_layout {
	TL_DEFAULT = 0, /* NAME AGE */
	TL_NAMESPACE, TL_DEPLOYMENT, TL_STATEFULSET, TL_DAEMONSET, TL_SERVICE,
	TL_CONFIGMAP, TL_SECRET, TL_SERVICEACCOUNT, TL_EVENT, TL_POD, TL_ENDPOINTS,
	TL_JOB, TL_CRONJOB, TL_INGRESS, TL_LEASE, TL_NODE, TL_CLUSTER,
	TL_PROPAGATIONPOLICY, TL_OVERRIDEPOLICY, TL_WORK, TL_BINDING, TL_CRD,
	TL_REPLICASET, TL_PRIORITYCLASS, TL_MESH, TL_PDB, TL_RESOURCEQUOTA,
	TL_ENDPOINTSLICE, TL_SERVICEIMPORT,
};

struct kind_info {
	const char *group;    /* "" for the core group */
	const char *version;
	const char *kind;
	const char *plural;   /* resource name in paths */
	const char *singular;
	bool namespaced;
	const char *short_names[4]; /* NULL-terminated */
	const char *categories[3];  /* NULL-terminated */
	unsigned subresources;      /* enum kind_sub bits */
	enum table_layout table;
	bool builtin;   /* a kubectl built-in type: strategic merge patch allowed */
	bool has_spec;  /* metadata.generation tracks spec changes */
	bool dynamic;   /* registered from a CRD; strings are heap-owned */
};

/* One additionalPrinterColumn of a CRD version. */
struct kind_column {
	char *name, *type, *format, *json_path, *description;
	int priority;
};

/* The built-in kinds. */
extern const struct kind_info builtin_kinds[];
extern const int builtin_kinds_count;

/* Registry of served kinds: built-ins plus kinds from stored CRDs. */
void kinds_init(void);
void kinds_shutdown(void);
int kinds_count(void);
const struct kind_info *kinds_at(int i);
const struct kind_info *kinds_find_resource(const char *group, const char *version, const char *plural);
const struct kind_info *kinds_find_kind(const char *group, const char *version, const char *kind);
/* Same, from "apps/v1" or "v1". */
const struct kind_info *kinds_find_apiversion_kind(const char *api_version, const char *kind);

/* Registers (or replaces) the kinds a CRD object defines, one per served
 * version. Returns 0, or -1 with a message if the CRD is malformed. */
int kinds_register_crd(const cJSON *crd, char *err, size_t errlen);
/* A custom kind's additionalPrinterColumns (its CRD version's), owned by
 * the kind; NULL with *n = 0 for built-in kinds and CRDs without them. */
const struct kind_column *kinds_printer_columns(const struct kind_info *k, int *n);
/* Removes the kinds of the CRD named name (plural.group). */
void kinds_unregister_crd(const char *crd_name);
/* Incremented whenever the set of kinds changes (discovery caches). */
unsigned long kinds_generation(void);

/* "apps/v1" or "v1" into buf. */
const char *kind_api_version(const struct kind_info *k, char *buf, size_t len);
/* "deployments.apps" or "services" — kubectl's qualified resource name. */
const char *kind_qualified_resource(const struct kind_info *k, char *buf, size_t len);
/* "Deployment.apps" or "Service" — used in Invalid messages. */
const char *kind_qualified_kind(const struct kind_info *k, char *buf, size_t len);

#endif
