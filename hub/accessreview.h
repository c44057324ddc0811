/* accessreview — POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews
 * (kubectl auth can-i). Owns: answering whether the requesting identity may
 * do what the review describes, by the same authorizer (auth.h) that guards
 * every request; an insecure-listener request may do everything. */
#ifndef ATOLL_ACCESSREVIEW_H
#define ATOLL_ACCESSREVIEW_H

#include "apiserver.h"

struct auth;
/* Registers the route; au may be NULL (no authentication: always allowed). */
void accessreview_register(struct apiserver *api, struct auth *au);

#endif
