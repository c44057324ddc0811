/* schemacols — server-side Table columns as data.
 * Owns: per table_layout (kinds.h), the columns kubectl get prints, in
 * order: name, type, priority (1: -o wide) and where the cell comes from,
 * like a CRD's additionalPrinterColumns. Generated from
 * proto/schema/columns.schema by gen_schema.awk; table.c renders them. */
#ifndef ATOLL_SCHEMACOLS_H
#define ATOLL_SCHEMACOLS_H

struct sch_column {
	const char *name;     /* "Up-to-date", "Last Seen" */
	const char *type;     /* the column definition's type: string, integer, boolean, date */
	int priority;
	/* A JSONPath (".status.phase", ".status.conditions[?(@.type==\"Ready\")].status")
	 * for table.c's generic renderer, or the name of one of its cell
	 * formatters ("pod_status", "ratio"). */
	const char *source;
	const char *path; /* a formatter's dotted path(s) without the leading ".", or NULL */
	const char *arg;  /* the default of a JSONPath cell, or a formatter's argument, or NULL */
	const char *desc; /* or NULL: the standard one for name and age */
};

/* Indexed by enum table_layout; each list ends with a NULL name; a layout
 * without a list (NULL) prints as TL_DEFAULT. */
extern const struct sch_column *const sch_table_layouts[];
extern const int sch_table_layouts_count;

#endif
