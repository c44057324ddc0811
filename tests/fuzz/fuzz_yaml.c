/* libFuzzer: YAML streams to JSON (yaml_parse_documents) with the depth,
 * alias and expansion bounds, and the single-document path; and the way
 * back: every document that parses is written with yaml_emit and must
 * parse again to the same tree (fieldOverrider relies on that). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	cJSON *j = yaml_parse_documents((const char *)data, size, err, sizeof err);
	cJSON *doc;
	cJSON_ArrayForEach(doc, j)
	{
		char *y = yaml_emit(doc, err, sizeof err);
		if (!y)
			continue; /* deeper than JSON_MAX_DEPTH */
		cJSON *back = yaml_parse_one(y, strlen(y), err, sizeof err);
		if (!back || !json_equal(back, doc))
			abort();
		cJSON_Delete(back);
		free(y);
	}
	cJSON_Delete(j);
	j = yaml_parse_one((const char *)data, size, err, sizeof err);
	cJSON_Delete(j);
	return 0;
}
