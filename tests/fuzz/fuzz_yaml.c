/* libFuzzer: YAML streams to JSON (yaml_parse_documents) with the depth,
 * alias and expansion bounds, and the single-document path. */
#include <stddef.h>
#include <stdint.h>

#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	cJSON *j = yaml_parse_documents((const char *)data, size, err, sizeof err);
	cJSON_Delete(j);
	j = yaml_parse_one((const char *)data, size, err, sizeof err);
	cJSON_Delete(j);
	return 0;
}
