/* mcs — the hub's side of multi-cluster services (Karmada's
 * ServiceExport/ServiceImport, multicluster.x-k8s.io/v1alpha1).
 * Owns: the Works atoll-mcs-<ns>-<name> of consumer clusters. Reads the Works in karmada-es-<cluster>: a ServiceExport manifest's
 * status carries the EndpointSlices its agent collected in that member
 * (collectedEndpoints, agent/epcollect.c); a ServiceImport manifest marks
 * its cluster a consumer. For every consumer it keeps the Work
 * atoll-mcs-<ns>-<name> in karmada-es-<consumer> with the derived Service
 * derived-<name> (no selector; ports from the ServiceImport, else from
 * the exported Service) and one EndpointSlice per OTHER cluster that
 * exports <ns>/<name> and is Ready, labelled kubernetes.io/service-name,
 * endpointslice.kubernetes.io/managed-by and
 * endpointslice.karmada.io/provision-cluster. Runs beside the Mesh
 * controller (started and stopped by it). */
#ifndef ATOLL_MCS_H
#define ATOLL_MCS_H

#include <event2/event.h>

#include "objects.h"
#include "store.h"

struct mcs_ctl;

struct mcs_ctl *mcs_start(struct event_base *base, struct store *st, struct obj_ctx *objs);
void mcs_stop(struct mcs_ctl *m);
/* One pass now (tests). */
void mcs_reconcile(struct mcs_ctl *m);

#define MCS_WORK_PREFIX "atoll-mcs-"
#define MCS_LABEL "mcs.atoll.io/derived" /* "true" on the Works of this controller */
#define MCS_MANAGED_BY "endpointslice-dispatch-controller.karmada.io"
#define MCS_PROVISION_LABEL "endpointslice.karmada.io/provision-cluster"

#endif
