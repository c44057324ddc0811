/* fieldhttp — field validation (proto/fieldcheck.h) on an API request.
 * Owns: the fieldValidation query parameter's answers: Strict's 400 Status,
 * Warn's "Warning: 299 - ..." headers (one per field, quoted and escaped as
 * kube-apiserver writes them), Ignore's silence. */
#ifndef ATOLL_FIELDHTTP_H
#define ATOLL_FIELDHTTP_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "kinds.h"

struct evhttp_request;
struct api_req; /* apiserver.h */

/* Checks body (a create/update object, or a patch when patch is true) of
 * kind k, or of autoscaling/v1 Scale when scale is true; param is the
 * fieldValidation query value (NULL: Warn). Unknown fields are dropped from
 * body. Returns false after answering (400: Strict found something, or a
 * bad fieldValidation value). */
bool fieldhttp_check(const struct api_req *rq, const char *param, const struct kind_info *k, bool scale,
		     cJSON *body, bool patch);

#endif
