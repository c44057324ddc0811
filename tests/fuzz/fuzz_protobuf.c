/* libFuzzer: the Kubernetes protobuf decoder (pbcodec_decode) on request
 * bodies and watch frames; whatever decodes must encode again and decode to
 * the same object. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "pbcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	cJSON *o = pbcodec_decode(data, size, err, sizeof err);
	if (o) {
		/* What we decode is JSON the hub's own parser takes. */
		char *txt = json_print(o);
		cJSON *reparsed = json_parse_limited(txt, strlen(txt), JSON_MAX_DEPTH, err, sizeof err);
		if (!reparsed)
			abort();
		cJSON_Delete(reparsed);
		free(txt);
		size_t len;
		unsigned char *pb = pbcodec_encode(o, &len, err, sizeof err);
		/* A List envelope has no single-object encoding; anything else does. */
		const char *kind = json_get_str(o, "kind");
		size_t kl = kind ? strlen(kind) : 0;
		if (!pb && !(kl > 4 && strcmp(kind + kl - 4, "List") == 0))
			abort();
		if (pb) {
			cJSON *again = pbcodec_decode(pb, len, err, sizeof err);
			if (!again || !json_equal(again, o))
				abort();
			cJSON_Delete(again);
			free(pb);
		}
		cJSON_Delete(o);
	}
	cJSON *ev = pbcodec_decode_watch_event(data, size, err, sizeof err);
	cJSON_Delete(ev);
	return 0;
}
