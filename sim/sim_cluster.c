#include "sim_cluster.h"
#include "sim_skew.h"
#include "sim_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apiserver.h"
#include "sim_controllers.h"
#include "jsonutil.h"
#include "sim_kubeconfig.h"
#include "log.h"
#include "objclient.h"
#include "store.h"

struct sim_cluster {
	char name[64];
	char server[300];
	int port;
	struct sim_node_spec nodes;
	struct store *store;
	struct apiserver *api;
	struct sim_controllers *ctl;
	struct sim_skew *skew;
	struct sim_auth *auth;
};

static int ensure_nodes(struct sim_cluster *c, char *err, size_t errlen)
{
	const struct kind_info *k = kinds_find_kind("", "v1", "Node");
	struct objclient oc;
	objc_init(&oc, c->store, apiserver_objects(c->api));
	int rc = 0;
	for (int i = 0; i < c->nodes.count && rc == 0; i++) {
		char name[300];
		struct api_error e = {0};
		sim_node_name(&c->nodes, i, name, sizeof name);
		cJSON *have = objc_get(&oc, k, "", name);
		if (have) {
			cJSON_Delete(have);
			continue;
		}
		if (objc_apply(&oc, k, "", sim_node_object(&c->nodes, i, time(NULL)), NULL, NULL, &e) < 0) {
			snprintf(err, errlen, "cannot create node %s: %s", name, e.message);
			api_error_clear(&e);
			rc = -1;
		}
	}
	objc_free(&oc);
	return rc;
}

struct sim_cluster *sim_cluster_start(struct event_base *base, const struct sim_cluster_config *cfg, char *err,
				      size_t errlen)
{
	struct sim_cluster *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(c->name, sizeof c->name, "%s", cfg->name);
	c->nodes = cfg->nodes;
	c->nodes.cluster = c->name;
	c->nodes.git_version = cfg->git_version;
	if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", cfg->data_dir, strerror(errno));
		free(c);
		return NULL;
	}
	char serr[512];
	c->store = store_open_sqlite(cfg->data_dir, serr, sizeof serr);
	if (!c->store) {
		snprintf(err, errlen, "cluster %s: cannot open the store: %s", c->name, serr);
		free(c);
		return NULL;
	}
	struct apiserver_config acfg = {.minor = cfg->minor,
					.git_version = cfg->git_version,
					.component = "atoll-sim",
					.request_timeout_s = cfg->request_timeout_s,
					.history = cfg->history,
					.max_watches = cfg->max_watches,
					.member = true};
	c->api = apiserver_new(base, c->store, &acfg);
	if (c->api && cfg->schema_minor > 0)
		c->skew = sim_skew_attach(c->api, cfg->schema_minor);
	if (c->api)
		c->auth = sim_auth_new(base, c->store, c->api);
	c->port = apiserver_listen_insecure(c->api, cfg->listen, serr, sizeof serr);
	if (c->port < 0) {
		snprintf(err, errlen, "cluster %s: %s", c->name, serr);
		sim_cluster_free(c);
		return NULL;
	}
	char host[256];
	const char *colon = strrchr(cfg->listen, ':');
	snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	bool v6 = strchr(host, ':') && host[0] != '[';
	snprintf(c->server, sizeof c->server, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", c->port);
	c->ctl = sim_controllers_new(base, c->store, apiserver_objects(c->api), &c->nodes, cfg->ready_delay_ms,
				     cfg->events);
	if (ensure_nodes(c, err, errlen) < 0) {
		sim_cluster_free(c);
		return NULL;
	}
	if (cfg->kubeconfig_out && sim_kubeconfig_write(cfg->kubeconfig_out, c->name, c->server, err, errlen) < 0) {
		sim_cluster_free(c);
		return NULL;
	}
	char port[16], nodes[16];
	snprintf(port, sizeof port, "%d", c->port);
	snprintf(nodes, sizeof nodes, "%d", c->nodes.count);
	log_kv(LOG_INFO, "serving a simulated cluster", "cluster", c->name, "server", c->server, "nodes", nodes,
	       "kubeconfig", cfg->kubeconfig_out ? cfg->kubeconfig_out : "-", "data-dir", cfg->data_dir, NULL);
	return c;
}

int sim_cluster_port(const struct sim_cluster *c) { return c->port; }
const char *sim_cluster_name(const struct sim_cluster *c) { return c->name; }
const char *sim_cluster_server(const struct sim_cluster *c) { return c->server; }

void sim_cluster_close_watches(struct sim_cluster *c)
{
	if (c && c->api)
		apiserver_close_watches(c->api);
}

void sim_cluster_free(struct sim_cluster *c)
{
	if (!c)
		return;
	/* The store's subscribers (API server, controllers) outlive it. */
	apiserver_free(c->api);
	if (c->store)
		store_close(c->store);
	sim_controllers_free(c->ctl);
	sim_skew_free(c->skew);
	sim_auth_free(c->auth);
	free(c);
}
