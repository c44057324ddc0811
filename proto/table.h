/* table — server-side Tables (meta.k8s.io/v1) for kubectl get.
 * Owns: the rendering of the columns of every table_layout, which are data
 * (proto/schema/columns.schema, schemacols.h: names, types, wide-only
 * priority and sources, in upstream kubectl/Karmada order): one generic
 * renderer for JSONPath columns and the named formatters for cells that
 * are computed (pod status, ready ratios, AGE strings, selectors); and the
 * PartialObjectMetadata attached to each row.
 * kubectl has no built-in printers any more: what these functions return is
 * exactly what `kubectl get` prints, after upper-casing the headers. */
#ifndef ATOLL_TABLE_H
#define ATOLL_TABLE_H

#include <time.h>
#include <cjson/cJSON.h>

#include "kinds.h"

/* Column definitions for a kind's layout: a cJSON array of
 * {name,type,format,description,priority}; the Name column has format
 * "name" and priority 1 marks -o wide columns. Caller frees. */
cJSON *table_columns(const struct kind_info *k);

/* One row, {"cells":[...],"object":PartialObjectMetadata}, with one cell per
 * column of table_columns(k). The metadata keeps name, namespace, uid,
 * resourceVersion, generation, creationTimestamp, deletionTimestamp, labels,
 * annotations (without kubectl's last-applied-configuration), finalizers and
 * ownerReferences. now is the current time for AGE cells. Never fails on
 * missing or wrongly typed fields. Caller frees. */
cJSON *table_row(const struct kind_info *k, const cJSON *obj, time_t now);

/* A whole Table {"kind":"Table","apiVersion":"meta.k8s.io/v1",
 * "metadata":{"resourceVersion":rv},"columnDefinitions":[...],"rows":[...]}
 * from an array of objects (not consumed; non-arrays give no rows).
 * resource_version may be NULL. Caller frees. */
cJSON *table_build(const struct kind_info *k, const cJSON *items,
		   const char *resource_version, time_t now);

#endif
