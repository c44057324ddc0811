/* fieldhttp — fieldValidation answers (see fieldhttp.h). */
#include "fieldhttp.h"

#include <stdio.h>
#include <event2/http.h>

#include "apiserver.h"
#include "fieldcheck.h"

/* `299 - "unknown field \"spec.x\""`: control characters become '?'. */
static void add_warning(struct evhttp_request *req, const char *text)
{
	char w[1024];
	size_t o = (size_t)snprintf(w, sizeof w, "299 - \"");
	for (const char *c = text; *c && o + 3 < sizeof w; c++) {
		if (*c == '"' || *c == '\\')
			w[o++] = '\\';
		w[o++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
	}
	w[o++] = '"';
	w[o] = '\0';
	evhttp_add_header(evhttp_request_get_output_headers(req), "Warning", w);
}

bool fieldhttp_check(const struct api_req *rq, const char *param, const struct kind_info *k, bool scale,
		     cJSON *body, bool patch)
{
	struct evhttp_request *req = rq->req;
	enum fc_mode mode;
	if (fieldcheck_mode(param, &mode) < 0) {
		api_send_status(rq, 400, "BadRequest", "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\"");
		return false;
	}
	char av[256];
	const char *api_version = scale ? "autoscaling/v1" : kind_api_version(k, av, sizeof av);
	const char *kind = scale ? "Scale" : k->kind;
	struct fc_result r = {0};
	if (fieldcheck_body(api_version, kind, body, patch ? FC_PATCH : FC_OBJECT, &r) == 0)
		return true;
	bool ok = true;
	if (mode == FC_STRICT) {
		char m[4096];
		fieldcheck_strict_message(kind, scale ? "v1" : k->version, &r, m, sizeof m);
		api_send_status(rq, 400, "BadRequest", "%s", m);
		ok = false;
	} else if (mode == FC_WARN) {
		int kept = r.n < FC_MAX_ISSUES ? r.n : FC_MAX_ISSUES;
		for (int i = 0; i < kept; i++)
			add_warning(req, r.issue[i]);
	}
	fc_result_free(&r);
	return ok;
}
