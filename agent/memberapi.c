/* memberapi.c — the calls to the member's Kubernetes API and the message
 * of an answer (memberapi.h). */
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "memberapi.h"

const char *member_response_message(const struct http_response *r, char *buf, size_t len)
{
	if (r->error) {
		snprintf(buf, len, "%s", r->error);
		return buf;
	}
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	const char *m = json_get_str(j, "message");
	if (m)
		snprintf(buf, len, "%s", m);
	else
		snprintf(buf, len, "HTTP %ld", r->status);
	cJSON_Delete(j);
	return buf;
}

struct http_call *member_call(struct agent *ag, const char *method, const char *path, const char *ctype,
			      const char *body, long timeout_ms, http_done_fn done, http_cleanup_fn cleanup, void *ud)
{
	struct http_request r = {
		.method = method,
		.path = path,
		.content_type = ctype,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = timeout_ms,
		.cleanup = cleanup,
	};
	return http_start(ag->http, &ag->member, &r, done, ud);
}
