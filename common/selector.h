/* selector — Kubernetes label selectors, field selectors and node-selector
 * requirements (Karmada clusterAffinity.fieldSelector).
 * Owns: parsing selector strings and structured selectors into a compiled
 * form, validating label keys and values as Kubernetes does, matching that
 * form against objects, and the bounds on what an untrusted selector may
 * cost (length, number of requirements, number of values). */
#ifndef ATOLL_SELECTOR_H
#define ATOLL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

/* Bounds on untrusted selectors; exceeding any of them is a parse error. */
#define SELECTOR_MAX_LEN 65536    /* bytes of a selector string */
#define SELECTOR_MAX_TERMS 256    /* requirements / field terms */
#define SELECTOR_MAX_VALUES 256   /* values of one In/NotIn requirement */

struct label_selector; /* opaque */

/* Parses the string form: "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j,k>1,l<9".
 * Whitespace is tolerated; an empty (or all-blank) string matches everything.
 * Returns NULL with a message in err on a syntax or validation error
 * ("unable to parse requirement: ...", "found ',', expected: ..."). Keys are
 * validated as qualified names (optional DNS-subdomain prefix + '/' + name of
 * at most 63 chars [A-Za-z0-9._-], alphanumeric at both ends); values as
 * label values (at most 63 chars, empty allowed). */
struct label_selector *label_selector_parse(const char *s, char *err, size_t errlen);

/* From a metav1.LabelSelector JSON object {matchLabels:{}, matchExpressions:
 * [{key, operator: In|NotIn|Exists|DoesNotExist, values:[]}]}. NULL or JSON
 * null matches everything (note: the apiserver's LabelSelectorAsSelector
 * treats a nil selector as "nothing"; callers wanting that check first). */
struct label_selector *label_selector_from_json(const cJSON *sel, char *err, size_t errlen);

/* labels is a JSON object of label -> value (or NULL: no labels). Values that
 * are numbers or booleans compare by their string form; null, objects and
 * arrays count as absent. A NULL selector matches everything. */
bool label_selector_matches(const struct label_selector *s, const cJSON *labels);
/* True when the selector has no requirements (matches everything). */
bool label_selector_empty(const struct label_selector *s);
void label_selector_free(struct label_selector *s);

struct field_selector; /* opaque */

/* "metadata.name=hello,involvedObject.kind=Deployment,spec.x!=y": terms are
 * separated by unescaped ',' and use =, == or !=. s is already URL-decoded.
 * Values may escape '\\', ',' and '=' with a backslash (Kubernetes'
 * fields.EscapeValue); an unescaped '=' or ',' in a value, an unknown escape
 * or a term without an operator is an error. Blank terms are skipped and
 * surrounding blanks trimmed; an empty string matches everything. */
struct field_selector *field_selector_parse(const char *s, char *err, size_t errlen);

/* Field paths are dotted JSON paths into obj (metadata.name,
 * involvedObject.uid, spec.nodeName, status.phase, type, ...). A missing
 * field or JSON null compares as ""; numbers and booleans compare by their
 * string form ("3", "2.5", "true"); an object or array equals no value.
 * A NULL selector matches everything. */
bool field_selector_matches(const struct field_selector *s, const cJSON *obj);

/* Returns X when every term of the selector is "metadata.name=X" (or ==)
 * with the same X, so the selector is exactly a name lookup; else NULL.
 * The pointer lives as long as the selector. */
const char *field_selector_name(const struct field_selector *s);
/* The number of terms and the field (key) of term i, to check them
 * against the fields a kind supports. */
size_t field_selector_len(const struct field_selector *s);
const char *field_selector_key(const struct field_selector *s, size_t i);
void field_selector_free(struct field_selector *s);

/* Node-selector requirements: match_expressions is a JSON array of
 * {key, operator In|NotIn|Exists|DoesNotExist|Gt|Lt, values:[]}, evaluated
 * against a flat string map given by lookup (returns NULL when the key is
 * absent). All requirements must hold; NULL or an empty array holds
 * vacuously. An invalid requirement (unknown operator, bad key or value,
 * wrong value count, non-integer for Gt/Lt) makes the whole set false, as
 * Kubernetes' NodeSelectorRequirementsAsSelector does. */
bool node_selector_requirements_match(const cJSON *match_expressions,
                                      const char *(*lookup)(const char *key, void *ud), void *ud);

#endif
