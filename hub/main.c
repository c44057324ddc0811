/* atoll-hub — the hub's command line: serve, plan. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "agentapi.h"
#include "apiserver.h"
#include "hubmetrics.h"
#include "controller.h"
#include "leader.h"
#include "listenguard.h"
#include "failover.h"
#include "log.h"
#include "mesh.h"
#include "numparse.h"
#include "plan.h"
#include "tlsauth.h"
#include "tokens.h"
#include "statusfeed.h"
#include "store.h"
#include "store_check.h"
#include "store_etcd.h"
#include "timefmt.h"
#include "xalloc.h"

#define ATOLL_VERSION "0.1.0"

static void usage(FILE *f)
{
	fputs("Usage: atoll-hub <command> [options]\n"
	      "\n"
	      "The Atoll hub: a Kubernetes-compatible API that places workloads on member clusters.\n"
	      "\n"
	      "Commands:\n"
	      "  init      create the CA, the serving certificate and an admin kubeconfig\n"
	      "  serve     run the hub's API server\n"
	      "  token     create, list or delete bootstrap (join) and API tokens\n"
	      "  store     check or repair the SQLite store of a stopped hub\n"
	      "  plan      dry-run the scheduler on Karmada YAML files and print the placement as JSON\n"
	      "  mesh      print a mesh cluster's Istio Helm values (mesh values --mesh M --cluster C)\n"
	      "  version   print the version\n"
	      "\n"
	      "Run 'atoll-hub <command> --help' for a command's options.\n",
	      f);
}

static void serve_usage(FILE *f)
{
	fputs("Usage: atoll-hub serve --data-dir DIR (--listen HOST:PORT | --insecure-listen HOST:PORT) [options]\n"
	      "\n"
	      "Serves the Kubernetes-compatible API. Writes are durable in DIR/atoll.db (in etcd with\n"
	      "--store etcd) before they are acknowledged.\n"
	      "\n"
	      "Options:\n"
	      "  --data-dir DIR               where the store lives (created if missing)\n"
	      "  --listen HOST:PORT           HTTPS listener (certificates from atoll-hub init); clients authenticate\n"
	      "  --insecure-listen HOST:PORT  plain-HTTP listener with full admin access, for local use and tests only\n"
	      "                               (port 0 = any free port)\n"
	      "  --tls-cert-file FILE         serving certificate (default DIR/hub.crt)\n"
	      "  --tls-key-file FILE          its key (default DIR/hub.key)\n"
	      "  --client-ca-file FILE        CA for client certificates (default DIR/ca.crt)\n"
	      "  --tls-port-file FILE         write the bound HTTPS port to FILE\n"
	      "  --tls-handshake-timeout DUR  close a connection without a TLS handshake this long (default 10s)\n"
	      "  --first-byte-timeout DUR     close a connection that has sent nothing this long (default 3s)\n"
	      "  --header-timeout DUR         close a connection whose request head takes longer (default 10s)\n"
	      "  --max-connections N          open connections per listener, HTTPS and plain (default: the descriptor\n"
	      "                               limit, raised to the hard limit, less 256; 0 = the default)\n"
	      "  --max-connections-per-client N  established connections per client address and listener (default 256)\n"
	      "  --max-pending-per-client N   connections per client address still in their TLS handshake (plain: that\n"
	      "                               have sent nothing); a new one past it replaces the oldest silent one\n"
	      "                               (default 32, at most --max-connections-per-client)\n"
	      "  --cert-check-interval DUR    how often to check the serving certificate for renewal (default 1h)\n"
	      "  --port-file FILE             write the bound port (insecure, else HTTPS) to FILE once listening\n"
	      "  --kube-minor N               Kubernetes minor version to report on /version (default 33)\n"
	      "  --history N                  revisions of change history kept for watches (default 20000)\n"
	      "  --request-timeout DURATION   cut off a client that is silent this long mid-request (default 60s)\n"
	      "  --max-watches N              concurrent watch streams before 429 TooManyRequests (default 10000)\n"
	      "  --store BACKEND              sqlite (DIR/atoll.db, the default) or etcd\n"
	      "  --etcd-servers URL[,URL...]  etcd client URLs (http:// or https://) for --store etcd\n"
	      "  --etcd-cafile FILE           CA that signed etcd's serving certificates\n"
	      "  --etcd-certfile FILE         client certificate for etcd\n"
	      "  --etcd-keyfile FILE          its key\n"
	      "  --etcd-prefix PREFIX         key prefix in etcd (default /atoll/)\n"
	      "  --etcd-max-txn-ops N         etcd's --max-txn-ops (default 128): a batch of writes goes as\n"
	      "                               one Txn of at most N operations, or several in order\n"
	      "  --etcd-api API               grpc (default): Txns to etcd's gRPC server over HTTP/2 (the JSON\n"
	      "                               gateway if an endpoint does not answer gRPC); json: every Txn\n"
	      "                               through etcd's v3 JSON gateway\n"
	      "  --leader-elect-lease-duration D  with --store etcd, several hubs may share the prefix; the\n"
	      "                               controllers run in one of them, elected by the Lease\n"
	      "                               kube-system/atoll-controller of this duration (default 15s)\n"
	      "  --leader-elect-identity NAME holderIdentity in that Lease (default HOST_PID; a holder\n"
	      "                               HOST_PID on this host whose process is gone is taken over at once)\n"
	      "  --cluster-monitor-grace-period DUR  a cluster not heard from (or not healthy) this long becomes\n"
	      "                               Ready=Unknown (False) with a NoSchedule taint (default: the agent's\n"
	      "                               Lease duration, 40s)\n"
	      "  --enable-no-execute-taint-eviction[=BOOL]  evict bindings from clusters with NoExecute taints they do\n"
	      "                               not tolerate (default true; false turns cluster failover off)\n"
	      "  --no-execute-taint-eviction-purge-mode MODE  Gracefully (default), Directly or Never, when the\n"
	      "                               policy's failover.cluster.purgeMode is not set\n"
	      "  --graceful-eviction-timeout DUR  how long an evicted cluster keeps its copy at most (default 10m)\n"
	      "  --default-not-ready-toleration-seconds N    NoExecute not-ready toleration added to policies (300)\n"
	      "  --default-unreachable-toleration-seconds N  NoExecute unreachable toleration added to policies (300)\n"
	      "  --log-level LEVEL            debug, info, warn or error (default info)\n"
	      "  --log-format FORMAT          text or json (default text)\n"
	      "  --feature-gates K=V[,K=V]    Karmada feature gates Atoll honours: PolicyPreemption (default\n"
	      "                               false: `preemption: Always` in a policy takes nothing over),\n"
	      "                               PriorityBasedScheduling (default false: schedulePriority is not\n"
	      "                               resolved and bindings are scheduled first come, first served)\n"
	      "  -h, --help                   show this help\n",
	      f);
}

static struct event_base *loop;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopexit(loop, NULL);
}


/* HOST:PORT as bound: the port the kernel chose when PORT was 0. */
static const char *bound_address(const char *hostport, int port, char *buf, size_t len)
{
	const char *colon = strrchr(hostport, ':');
	int hl = colon ? (int)(colon - hostport) : (int)strlen(hostport);
	snprintf(buf, len, "%.*s:%d", hl, hostport, port);
	return buf;
}

/* --feature-gates "PolicyPreemption=true,..." (Karmada's spelling). */
static int parse_feature_gates(const char *arg, bool *policy_preemption, bool *priority_scheduling)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", arg);
	for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || (strcmp(eq + 1, "true") != 0 && strcmp(eq + 1, "false") != 0)) {
			fprintf(stderr, "atoll-hub serve: invalid --feature-gates entry %s (want Name=true or Name=false)\n", kv);
			return -1;
		}
		*eq = '\0';
		if (strcmp(kv, "PolicyPreemption") == 0) {
			*policy_preemption = strcmp(eq + 1, "true") == 0;
		} else if (strcmp(kv, "PriorityBasedScheduling") == 0) {
			*priority_scheduling = strcmp(eq + 1, "true") == 0;
		} else {
			fprintf(stderr, "atoll-hub serve: unknown feature gate %s (known: PolicyPreemption, PriorityBasedScheduling)\n", kv);
			return -1;
		}
	}
	return 0;
}

/* Starts and stops the controllers as this hub gains and loses the Lease. */
struct leading_ctx {
	struct event_base *loop;
	struct store *st;
	struct apiserver *api;
	struct agentapi *agents;
	struct controller **ctl;
	struct failover **fo;
	struct mesh_ctl **meshes;
	bool policy_preemption, priority_scheduling;
};

static void on_leading(bool leading, void *ud)
{
	struct leading_ctx *lc = ud;
	if (leading && !*lc->ctl) {
		/* From the store, not from memory: a full resync. */
		*lc->ctl = controller_start(lc->loop, lc->st, apiserver_objects(lc->api));
		controller_set_policy_preemption(*lc->ctl, lc->policy_preemption);
		controller_set_priority_scheduling(*lc->ctl, lc->priority_scheduling);
		*lc->fo = failover_start(lc->loop, lc->st, apiserver_objects(lc->api));
		*lc->meshes = mesh_start(lc->loop, lc->st, apiserver_objects(lc->api));
	} else if (!leading && *lc->ctl) {
		failover_stop(*lc->fo);
		mesh_stop(*lc->meshes);
		controller_stop(*lc->ctl);
		*lc->fo = NULL;
		*lc->meshes = NULL;
		*lc->ctl = NULL;
	}
	agentapi_set_monitoring(lc->agents, leading);
}

static int cmd_serve(int argc, char **argv)
{
	const char *data_dir = NULL, *listen = NULL, *port_file = NULL, *minor = "33";
	long long history = 20000, timeout_ms = 60000, max_watches = 10000;
	enum log_level level = LOG_INFO;
	enum log_format fmt = LOG_TEXT;
	struct tlsauth_opts sec = {0};
	const char *tls_port_file = NULL, *backend = "sqlite";
	struct etcd_options etcd = {0};
	int lease_s = 15;
	const char *lease_id = NULL;
	static const struct option opts[] = {
		{"store", required_argument, NULL, 1100},
		{"etcd-servers", required_argument, NULL, 1101},
		{"etcd-cafile", required_argument, NULL, 1102},
		{"etcd-certfile", required_argument, NULL, 1103},
		{"etcd-keyfile", required_argument, NULL, 1104},
		{"etcd-prefix", required_argument, NULL, 1105},
		{"leader-elect-lease-duration", required_argument, NULL, 1106},
		{"leader-elect-identity", required_argument, NULL, 1107},
		{"etcd-max-txn-ops", required_argument, NULL, 1120},
		{"etcd-api", required_argument, NULL, 1121},
		{"listen", required_argument, NULL, 1000},
		{"tls-cert-file", required_argument, NULL, 1001},
		{"tls-key-file", required_argument, NULL, 1002},
		{"client-ca-file", required_argument, NULL, 1003},
		{"tls-port-file", required_argument, NULL, 1004},
		{"tls-handshake-timeout", required_argument, NULL, 1005},
		{"header-timeout", required_argument, NULL, 1006},
		{"max-connections", required_argument, NULL, 1007},
		{"max-connections-per-client", required_argument, NULL, 1008},
		{"cert-check-interval", required_argument, NULL, 1009},
		{"first-byte-timeout", required_argument, NULL, 1010},
		{"max-pending-per-client", required_argument, NULL, 1011},
		{"data-dir", required_argument, NULL, 'd'},
		{"insecure-listen", required_argument, NULL, 'l'},
		{"port-file", required_argument, NULL, 'p'},
		{"kube-minor", required_argument, NULL, 'm'},
		{"history", required_argument, NULL, 'H'},
		{"request-timeout", required_argument, NULL, 'T'},
		{"max-watches", required_argument, NULL, 'W'},
		{"log-level", required_argument, NULL, 'L'},
		{"log-format", required_argument, NULL, 'F'},
		{"cluster-monitor-grace-period", required_argument, NULL, 1300},
		{"enable-no-execute-taint-eviction", optional_argument, NULL, 1301},
		{"no-execute-taint-eviction-purge-mode", required_argument, NULL, 1302},
		{"graceful-eviction-timeout", required_argument, NULL, 1303},
		{"default-not-ready-toleration-seconds", required_argument, NULL, 1304},
		{"default-unreachable-toleration-seconds", required_argument, NULL, 1305},
		{"feature-gates", required_argument, NULL, 1200},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool policy_preemption = false, priority_scheduling = false;
	struct agentapi_config acfg = {0};
	struct failover_config fcfg = {.not_ready_toleration_s = -1, .unreachable_toleration_s = -1};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 1200:
			if (parse_feature_gates(optarg, &policy_preemption, &priority_scheduling) < 0)
				return 2;
			break;
		case 'd': data_dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'p': port_file = optarg; break;
		case 'm': minor = optarg; break;
		case 'H':
			if (num_parse_ll(optarg, 100, LLONG_MAX, &history) < 0) {
				fprintf(stderr, "atoll-hub serve: --history must be a whole number of at least 100\n");
				return 2;
			}
			break;
		case 'T':
			if (time_parse_duration_ms(optarg, &timeout_ms) < 0 || timeout_ms < 1000) {
				fprintf(stderr, "atoll-hub serve: invalid --request-timeout %s (want a duration of at least 1s, e.g. 30s)\n", optarg);
				return 2;
			}
			break;
		case 'W':
			if (num_parse_ll(optarg, 1, INT_MAX, &max_watches) < 0) {
				fprintf(stderr, "atoll-hub serve: invalid --max-watches %s (want a whole number, at least 1)\n",
					optarg);
				return 2;
			}
			break;
		case 1000: sec.listen = optarg; break;
		case 1001: sec.cert_file = optarg; break;
		case 1002: sec.key_file = optarg; break;
		case 1003: sec.client_ca_file = optarg; break;
		case 1004: tls_port_file = optarg; break;
		case 1005:
		case 1006:
		case 1009:
		case 1010: {
			long long ms;
			if (time_parse_duration_ms(optarg, &ms) < 0 || ms < 100) {
				fprintf(stderr, "atoll-hub serve: invalid duration %s\n", optarg);
				return 2;
			}
			*(c == 1005 ? &sec.handshake_timeout_ms : c == 1006 ? &sec.header_timeout_ms
						 : c == 1010 ? &sec.first_byte_timeout_ms : &sec.check_interval_ms) = ms;
			break;
		}
		case 1100: backend = optarg; break;
		case 1101: etcd.servers = optarg; break;
		case 1102: etcd.cafile = optarg; break;
		case 1103: etcd.certfile = optarg; break;
		case 1104: etcd.keyfile = optarg; break;
		case 1105: etcd.prefix = optarg; break;
		case 1107: lease_id = optarg; break;
		case 1120:
			if (num_parse_int(optarg, 3, INT_MAX, &etcd.max_txn_ops) < 0) {
				fprintf(stderr, "atoll-hub serve: invalid --etcd-max-txn-ops %s (want a number, at least 3)\n",
					optarg);
				return 2;
			}
			break;
		case 1121:
			if (strcmp(optarg, "grpc") != 0 && strcmp(optarg, "json") != 0) {
				fprintf(stderr, "atoll-hub serve: unknown --etcd-api %s (want grpc or json)\n", optarg);
				return 2;
			}
			etcd.json_txn = strcmp(optarg, "json") == 0;
			break;
		case 1106: {
			long long ms;
			if (time_parse_duration_ms(optarg, &ms) < 0 || ms < 1000 || ms % 1000) {
				fprintf(stderr, "atoll-hub serve: invalid --leader-elect-lease-duration %s (want whole seconds, "
						"at least 1s)\n", optarg);
				return 2;
			}
			lease_s = (int)(ms / 1000);
			break;
		}
		case 1011:
			if (num_parse_int(optarg, 1, INT_MAX, &sec.max_pending_per_client) < 0) {
				fprintf(stderr, "atoll-hub serve: invalid --max-pending-per-client %s (want a whole number above 0)\n", optarg);
				return 2;
			}
			break;
		case 1007:
		case 1008:
			if (num_parse_int(optarg, 0, INT_MAX, c == 1007 ? &sec.max_conns : &sec.max_conns_per_client) < 0) {
				fprintf(stderr, "atoll-hub serve: invalid %s %s (want a whole number)\n",
					c == 1007 ? "--max-connections" : "--max-connections-per-client", optarg);
				return 2;
			}
			break;
		case 'L':
			if (log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "atoll-hub serve: unknown log level %s (want debug, info, warn or error)\n", optarg);
				return 2;
			}
			break;
		case 'F':
			if (log_parse_format(optarg, &fmt) < 0) {
				fprintf(stderr, "atoll-hub serve: unknown log format %s (want text or json)\n", optarg);
				return 2;
			}
			break;
		case 1300:
		case 1303: {
			long long ms;
			if (time_parse_duration_ms(optarg, &ms) < 0 || ms < 1000) {
				fprintf(stderr, "atoll-hub serve: invalid duration %s (want at least 1s, e.g. 40s)\n", optarg);
				return 2;
			}
			if (c == 1300)
				acfg.grace_ms = ms;
			else
				fcfg.eviction_timeout_s = ms / 1000;
			break;
		}
		case 1301:
			if (!optarg || strcmp(optarg, "true") == 0) {
				fcfg.no_eviction = false;
			} else if (strcmp(optarg, "false") == 0) {
				fcfg.no_eviction = true;
			} else {
				fprintf(stderr, "atoll-hub serve: invalid --enable-no-execute-taint-eviction=%s (want true or false)\n", optarg);
				return 2;
			}
			break;
		case 1302:
			if (strcmp(optarg, "Gracefully") != 0 && strcmp(optarg, "Directly") != 0 && strcmp(optarg, "Never") != 0) {
				fprintf(stderr, "atoll-hub serve: invalid --no-execute-taint-eviction-purge-mode %s (want Gracefully, Directly or Never)\n", optarg);
				return 2;
			}
			fcfg.purge_mode = optarg;
			break;
		case 1304:
		case 1305: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0) {
				fprintf(stderr, "atoll-hub serve: invalid toleration seconds %s (want a non-negative integer)\n", optarg);
				return 2;
			}
			*(c == 1304 ? &fcfg.not_ready_toleration_s : &fcfg.unreachable_toleration_s) = v;
			break;
		}
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (!data_dir || (!listen && !sec.listen)) {
		fprintf(stderr, "atoll-hub serve: --data-dir and --listen (HTTPS) or --insecure-listen are required\n\n");
		serve_usage(stderr);
		return 2;
	}
	if (strcmp(backend, "sqlite") != 0 && strcmp(backend, "etcd") != 0) {
		fprintf(stderr, "atoll-hub serve: unknown --store %s (want sqlite or etcd)\n", backend);
		return 2;
	}
	if ((strcmp(backend, "etcd") == 0) != (etcd.servers != NULL)) {
		fprintf(stderr, "atoll-hub serve: --etcd-servers goes with --store etcd, and --store etcd needs it\n");
		return 2;
	}
	if ((etcd.certfile != NULL) != (etcd.keyfile != NULL)) {
		fprintf(stderr, "atoll-hub serve: --etcd-certfile and --etcd-keyfile go together\n");
		return 2;
	}
	if (history < 100) {
		fprintf(stderr, "atoll-hub serve: --history must be at least 100\n");
		return 2;
	}
	log_setup("atoll-hub", level, fmt);
	listenguard_setup_process();
	if (sec.max_conns == 0)
		sec.max_conns = listenguard_default_max_conns();
	char maxc[16];
	snprintf(maxc, sizeof maxc, "%d", sec.max_conns);
	log_kv(LOG_INFO, "connection limit per listener", "max_connections", maxc, NULL);
	signal(SIGPIPE, SIG_IGN);
	char err[512];
	struct store *st = etcd.servers ? store_open_etcd(&etcd, err, sizeof err) : store_open_sqlite(data_dir, err, sizeof err);
	if (!st) {
		log_error("cannot open the store: %s", err);
		return 1;
	}
	loop = event_base_new();
	log_attach(loop); /* "(repeated N times)" when the window ends */
	if (etcd.servers)
		store_etcd_start_watch(st, loop);
	struct apiserver_config cfg = {.minor = minor, .component = "atoll-hub", .history = history,
				       .request_timeout_s = (int)(timeout_ms / 1000), .max_watches = (int)max_watches};
	char gitv[32];
	snprintf(gitv, sizeof gitv, "v1.%s.0", minor);
	cfg.git_version = gitv;
	struct apiserver *api = apiserver_new(loop, st, &cfg);
	/* Routes exist before anything listens. */
	struct statusfeed *feed = statusfeed_new(loop, api, st, NULL);
	hubmetrics_init(st);
	hubmetrics_register(api, feed);
	/* Karmada looks every 5 s; a short grace (tests) is looked at often
	 * enough to keep its meaning. */
	if (acfg.grace_ms > 0 && acfg.grace_ms < 15000)
		acfg.monitor_period_ms = acfg.grace_ms / 3 < 200 ? 200 : (int)(acfg.grace_ms / 3);
	failover_configure(&fcfg);
	/* On etcd, several hubs may share the store: the controllers run in
	 * the one the Lease elects (leader.h), started below. */
	struct controller *ctl = NULL;
	struct failover *fo = NULL;
	struct mesh_ctl *meshes = NULL;
	if (!etcd.servers) {
		ctl = controller_start(loop, st, apiserver_objects(api));
		controller_set_policy_preemption(ctl, policy_preemption);
		controller_set_priority_scheduling(ctl, priority_scheduling);
		fo = failover_start(loop, st, apiserver_objects(api));
		meshes = mesh_start(loop, st, apiserver_objects(api));
	}
	sec.data_dir = data_dir;
	int tls_port = 0;
	struct tlsauth *secure = tlsauth_start(loop, api, &sec, &tls_port, err, sizeof err);
	int port = !secure ? -1 : listen ? tlsauth_listen_insecure(secure, api, listen, err, sizeof err) : tls_port;
	if (port < 0) {
		log_error("%s", err);
		tlsauth_free(secure);
		failover_stop(fo);
		mesh_stop(meshes);
		controller_stop(ctl);
		statusfeed_free(feed);
		apiserver_free(api);
		store_close(st);
		hubmetrics_shutdown();
		log_detach();
		event_base_free(loop);
		return 1;
	}
	/* Handlers before the port file: whoever reads it may signal at once. */
	struct event *sigterm = evsignal_new(loop, SIGTERM, on_signal, NULL);
	struct event *sigint = evsignal_new(loop, SIGINT, on_signal, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	if (tls_port_file) {
		FILE *f = fopen(tls_port_file, "w");
		if (f) {
			fprintf(f, "%d\n", tls_port);
			fclose(f);
		}
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (f) {
			fprintf(f, "%d\n", port);
			fclose(f);
		}
	}
	struct agentapi *agents = agentapi_new(loop, api, st, &acfg);
	agentapi_set_authorizer(agents, auth_agentapi_hook, tlsauth_auth(secure));
	struct leader *leader = NULL;
	struct leading_ctx lc = {loop, st, api, agents, &ctl, &fo, &meshes, policy_preemption, priority_scheduling};
	if (etcd.servers) {
		agentapi_set_monitoring(agents, false);
		struct leader_config lcfg = {.duration_s = lease_s, .identity = lease_id};
		leader = leader_start(loop, st, &lcfg, on_leading, &lc);
	}
	char bound[320];
	if (sec.listen)
		log_kv(LOG_INFO, "serving HTTPS", "address", bound_address(sec.listen, tls_port, bound, sizeof bound), NULL);
	if (listen)
		log_kv(LOG_INFO, "serving the API", "address", bound_address(listen, port, bound, sizeof bound), "data-dir",
		       data_dir, NULL);
	event_base_dispatch(loop);
	if (leader) {
		failover_stop(fo); /* their last writes, while still fenced */
		mesh_stop(meshes);
		controller_stop(ctl);
		fo = NULL;
		meshes = NULL;
		ctl = NULL;
		leader_stop(leader);  /* releases the Lease */
		store_commit(st);
	}
	statusfeed_free(feed);
	agentapi_free(agents);
	failover_stop(fo);
	mesh_stop(meshes);
	controller_stop(ctl);
	apiserver_free(api);
	/* Closed connections' bufferevents are finalized by the loop; let it
	 * run them now (event_base_free would run them while walking its own
	 * queues), before the TLS server they point to goes. */
	event_base_loop(loop, EVLOOP_NONBLOCK);
	tlsauth_free(secure);
	bool lost = etcd.servers && store_etcd_lost(st);
	store_close(st);
	hubmetrics_shutdown();
	event_free(sigterm);
	event_free(sigint);
	log_detach();
	event_base_free(loop);
	kinds_shutdown();
	log_info("stopped");
	return lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	xalloc_tune();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("atoll-hub %s\n", ATOLL_VERSION);
		return 0;
	}
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "plan") == 0)
		return plan_main(argc - 1, argv + 1);
	if (strcmp(cmd, "init") == 0)
		return tlsauth_init_main(argc - 1, argv + 1);
	if (strcmp(cmd, "token") == 0)
		return tokens_main(argc - 1, argv + 1);
	if (strcmp(cmd, "store") == 0)
		return store_main(argc - 1, argv + 1);
	if (strcmp(cmd, "mesh") == 0)
		return mesh_main(argc - 1, argv + 1);
	fprintf(stderr, "atoll-hub: unknown command \"%s\"\n\n", cmd);
	usage(stderr);
	return 2;
}
