/* jsonutil — bounded JSON parsing and small cJSON helpers.
 * Owns: the limits applied to untrusted JSON (depth, number length, UTF-8)
 * and the path helpers every module uses to read objects. */
#ifndef ATOLL_JSONUTIL_H
#define ATOLL_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define JSON_MAX_DEPTH 100

/* Parses len bytes of untrusted JSON. The buffer need not be NUL-terminated
 * (it is copied). Rejects invalid UTF-8, NUL bytes, the escape \u0000 in
 * any string (a key or a value: C strings would cut it off there), nesting
 * deeper than max_depth and number tokens longer than 40 characters. On
 * failure returns NULL and
 * writes a short reason into err. */
cJSON *json_parse_limited(const char *buf, size_t len, int max_depth, char *err, size_t errlen);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool json_utf8_valid(const char *s, size_t len);

/* Depth of a parsed tree (scalars are depth 0). */
int json_depth(const cJSON *j);

/* Dotted path lookup: json_get(obj, "spec.template.spec"). NULL if absent. */
cJSON *json_get(const cJSON *obj, const char *dotted);
const char *json_get_str(const cJSON *obj, const char *dotted);
/* Returns def when absent or not a number. */
double json_get_num(const cJSON *obj, const char *dotted, double def);
/* Returns (creating objects as needed) the object at a dotted path. */
cJSON *json_ensure_obj(cJSON *obj, const char *dotted);
/* Replaces (or adds) key in obj with item; takes ownership of item. */
void json_set(cJSON *obj, const char *key, cJSON *item);
void json_set_str(cJSON *obj, const char *key, const char *val);
void json_set_num(cJSON *obj, const char *key, double val);

/* Structural equality in time linear in the size of the trees (times the
 * width of each object). cJSON_Compare in cJSON 1.7.15 recurses into every
 * member from both sides, doubling its cost at each level of nesting. */
bool json_equal(const cJSON *a, const cJSON *b);

/* The entry of status.conditions with the given type, or NULL. */
const cJSON *json_condition(const cJSON *obj, const char *type);

/* Deep copy bounded by JSON_MAX_DEPTH (cJSON_Duplicate has no bound). */
cJSON *json_dup(const cJSON *j);
/* Compact serialisation (cJSON_PrintUnformatted); caller frees with free(). */
char *json_print(const cJSON *j);
/* An upper bound on strlen(json_print(j)) without printing (every string
 * byte counted as a \u00XX escape, every number at its widest), so a size
 * limit can be checked cheaply when the bound is under it. */
size_t json_print_bound(const cJSON *j);

#endif
