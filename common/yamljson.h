/* yamljson — YAML (and JSON) manifests to cJSON trees.
 * Owns: the libyaml event loop, the bounds applied to untrusted YAML
 * (size, nesting depth, aliases, total node count) that libyaml 0.2.5 does
 * not apply itself, and scalar typing as Kubernetes sees it
 * (go-yaml v2 resolution through sigs.k8s.io/yaml). Parse only: the libyaml
 * emitter is never used on untrusted data. */
#ifndef ATOLL_YAMLJSON_H
#define ATOLL_YAMLJSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define YAML_MAX_DEPTH 100          /* open sequences/mappings, aliases included */
#define YAML_MAX_ALIASES 100        /* alias events per document stream */
#define YAML_MAX_ALIAS_NODES 100000 /* nodes created by expanding aliases, per stream */
#define YAML_MAX_ALIAS_BYTES (4u << 20) /* scalar and key bytes copied by aliases, per stream */
#define YAML_MAX_NODES 1000000      /* nodes in all documents, expansions included */
#define YAML_MAX_INPUT (16u << 20)  /* bytes of input (16 MiB) */

/* Parses a YAML stream of one or more documents ("---" separated) into a
 * cJSON array of documents. Documents that are empty or null are skipped.
 * JSON input is accepted (YAML is a superset).
 *
 * Typing: plain scalars resolve as go-yaml v2 does: y|Y|yes|Yes|YES|on|On|
 * ON|true|True|TRUE (and the n/no/off/false forms) are booleans; "", ~,
 * null, Null, NULL are null; integers (decimal, 0x hex, 0o or leading-0
 * octal, 0b binary, '_' separators) and floats are numbers (doubles: exact
 * up to 2^53); .inf/.nan and everything else stay strings. Quoted and block
 * (| >) scalars are strings. Tags !!str, !!int, !!float, !!bool, !!null are
 * honoured; other tags are ignored (scalars tagged with them are strings).
 * Mapping keys become strings through the same typing (yes -> "true",
 * 0x10 -> "16", ~ -> "null"); a collection as key is an error. A repeated
 * key keeps its last value. Merge keys "<<" are ordinary keys.
 * Anchors and aliases: an alias is a deep copy of its anchor's node, within
 * YAML_MAX_ALIASES / YAML_MAX_ALIAS_NODES / YAML_MAX_ALIAS_BYTES
 * ("yaml: document contains
 * excessive aliasing"); anchors do not cross documents.
 *
 * On error returns NULL and writes a message into err, naming the place:
 * "yaml: line 3, column 8: mapping values are not allowed in this context",
 * "yaml: exceeded max depth of 100", "yaml: line 1, column 1: invalid
 * UTF-8 (invalid leading UTF-8 octet)". buf need not be NUL-terminated. */
cJSON *yaml_parse_documents(const char *buf, size_t len, char *err, size_t errlen);

/* Exactly one document expected: 0 or more than 1 is an error. */
cJSON *yaml_parse_one(const char *buf, size_t len, char *err, size_t errlen);

/* Reads a whole file (at most YAML_MAX_INPUT bytes) and parses it as
 * yaml_parse_documents does. */
cJSON *yaml_parse_file(const char *path, char *err, size_t errlen);

/* One YAML document for doc, as sigs.k8s.io/yaml's JSONToYAML (go-yaml v2)
 * writes it: block style, map keys sorted, 2-space indent, sequences not
 * indented under their key, empty collections as {} and [], strings quoted
 * only where a plain scalar would read back as something else (true, null,
 * 42) and multi-line strings as literal blocks. No "---" or "..." markers.
 * Parsing the result with yaml_parse_one gives doc back. Caller frees;
 * NULL with err on failure (nesting deeper than JSON_MAX_DEPTH). */
char *yaml_emit(const cJSON *doc, char *err, size_t errlen);

#endif
