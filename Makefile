# Atoll — build, test and run.
#   make            build everything into build/bin
#   make test       unit tests (cmocka) + end-to-end tests (pytest, real kubectl) + dashboard in headless Chromium
#                   (steps run side by side; TEST_JOBS=1: one after the other)
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   unit tests under valgrind
#   make fuzz       every libFuzzer target for FUZZ_TIME seconds each (default 60); make fuzz-smoke: a few seconds
#   make demo       start a hub and walk the seed with kubectl
#   make bench      benchmarks (print figures); make bench-fleet: 10,000 stand-in agents on one hub
#   make kubectl-matrix  kubectl's everyday verbs with kubectl 1.20, 1.27, 1.31, 1.32 and 1.33
#   make fault-agent  the agent with its member down for 60 s (CPU, log size, recovery)
#   make fault-failover  member loss, cluster and application failover with simulated members (~1 min)
#   make netns-test  members in network namespaces behind delay/fault proxies (latency, partitions, forward proxy)
#   make bench-failover  failover time at 3 and 100 real members, short tolerations (~2 min; FAILOVER_ROUNDS)
#   make deps       install missing Debian packages (as root) or print the apt-get line

CC      ?= cc
BUILD   ?= build
SAN     ?=
OPT     ?= -O2
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -g $(OPT) $(SAN) -Icommon -Iproto -Ihub -Isim -Iagent -I$(BUILD)/gen -MMD -MP
LDFLAGS += $(SAN)
LDLIBS  += -levent -levent_pthreads -lmbedtls -lmbedx509 -lmbedcrypto -lcurl -lcjson -lyaml -lsqlite3 -lprotobuf-c -lpthread -lm

DEB_PKGS = libevent-dev libmbedtls-dev libcurl4-openssl-dev libcjson-dev libyaml-dev \
           libsqlite3-dev libprotobuf-c-dev libcmocka-dev python3-pytest python3-yaml etcd-server clang \
           libclang-rt-14-dev valgrind python3-cryptography chromium chromium-driver nodejs npm \
           python3-pytest-xdist python3-kubernetes protobuf-c-compiler

LIB_SRC   := $(wildcard common/*.c proto/*.c)
HUB_SRC   := $(filter-out hub/main.c,$(wildcard hub/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/k8s_schema.o
HUB_OBJ   := $(HUB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/dashboard_html.o $(BUILD)/obj/gen/etcd_rpc.pb-c.o
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SIM_SRC   := $(wildcard sim/*.c)
AGENT_SRC := $(wildcard agent/*.c)
BINS      := $(BUILD)/bin/atoll-hub
ifneq ($(SIM_SRC),)
BINS      += $(BUILD)/bin/atoll-sim
endif
ifneq ($(AGENT_SRC),)
BINS      += $(BUILD)/bin/atoll-agent
endif

.PHONY: chaos-ha all deps test unit e2e e2e-tls e2e-etcd e2e-etcd-smoke browser asan valgrind clean demo bench check-deps fuzz fuzz-smoke \
        fuzz-build fuzz-run checksrc fault-failover bench-fleet netns-test bench-failover bench-tools
all: check-deps $(BINS) $(UNIT_BIN)

# Fails early with the exact apt-get line (or installs, when root) if a
# package the build or the tests need is missing.
check-deps:
	@./tests/tools/ensure-deps.sh $(DEB_PKGS)

deps:
	@ATOLL_INSTALL=1 ./tests/tools/ensure-deps.sh $(DEB_PKGS)

$(BUILD)/obj/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The dashboard page is compiled into atoll-hub (served at /dashboard).
$(BUILD)/gen/dashboard_html.c: hub/dashboard/index.html hub/dashboard/embed.sh
	@mkdir -p $(dir $@)
	sh hub/dashboard/embed.sh dashboard_html hub/dashboard/index.html > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/dashboard_html.o: $(BUILD)/gen/dashboard_html.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# etcd's Txn messages (hub/etcd/etcd_rpc.proto) as protobuf-c code, for the
# etcd store's Txns over gRPC (hub/etcd_grpc.c). Every hub object waits for
# the header (the dependency files know who includes it only after a build).
$(BUILD)/gen/etcd_rpc.pb-c.c $(BUILD)/gen/etcd_rpc.pb-c.h &: hub/etcd/etcd_rpc.proto | check-deps
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Ihub/etcd hub/etcd/etcd_rpc.proto

$(BUILD)/obj/gen/etcd_rpc.pb-c.o: $(BUILD)/gen/etcd_rpc.pb-c.c $(BUILD)/gen/etcd_rpc.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(HUB_SRC:%.c=$(BUILD)/obj/%.o) $(UNIT_BIN): | $(BUILD)/gen/etcd_rpc.pb-c.h

# The protobuf schema of the built-in kinds (proto/schema/k8s.schema) as C tables.
$(BUILD)/gen/k8s_schema.c: proto/schema/k8s.schema proto/schema/karmada.schema proto/schema/columns.schema proto/schema/gen_schema.awk
	@mkdir -p $(dir $@)
	awk -f proto/schema/gen_schema.awk proto/schema/k8s.schema proto/schema/karmada.schema proto/schema/columns.schema > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/k8s_schema.o: $(BUILD)/gen/k8s_schema.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libatoll.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libatollhub.a: $(HUB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/atoll-hub: $(BUILD)/obj/hub/main.o $(BUILD)/libatollhub.a $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/atoll-sim: $(SIM_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/libatollhub.a $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/atoll-agent: $(AGENT_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libatollhub.a $(BUILD)/libatoll.a | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libatollhub.a $(BUILD)/libatoll.a $(LDLIBS) -lcmocka

# Each binary's output (cmocka's report and the log lines of deliberate
# failures: injected disk I/O errors, refused handshakes) goes to
# $(BUILD)/tests/NAME.log and is shown only when the binary fails.
# UNIT_JOBS binaries run at once (no shared ports or files); test_tls,
# which mostly waits on its deadlines (~12 s), starts first.
UNIT_JOBS ?= 4
unit: all
	@rm -f $(UNIT_BIN:%=%.rc); printf '%s\n' $(filter %/test_tls,$(UNIT_BIN)) $(filter-out %/test_tls,$(UNIT_BIN)) | \
	  xargs -P $(UNIT_JOBS) -I{} sh -c 'ATOLL_TEST_DATA=tests/data {} > {}.log 2>&1; echo $$? > {}.rc'
	@set -e; for t in $(UNIT_BIN); do \
	  if [ "$$(cat $$t.rc 2>/dev/null)" = 0 ]; then \
	    echo "== $$t: $$(grep -E '^\[  PASSED  \]' $$t.log | sed 's/^\[  PASSED  \] //')"; \
	  else cat $$t.log; echo "== $$t FAILED (output above, also in $$t.log)"; exit 1; fi; done

# The mechanical part of CODE_STYLE.md (banned functions, whitespace, headers).
checksrc:
	@/usr/bin/python3 tests/tools/checksrc.py

# Tests mostly wait on processes, so they run in E2E_JOBS workers (pytest-xdist);
# every fixture uses free ports and its own temporary directory. Tests marked
# xdist_group run in one worker, one after the other. E2E_JOBS=0: one process.
E2E_JOBS ?= 4
E2E_PAR  := $(if $(filter 0,$(E2E_JOBS)),,-n $(E2E_JOBS) --dist loadgroup)
# Debian's kubectl 1.20 unpacked into build/kubectl-1.20 (never installed:
# it would replace the kubectl on PATH); tests/e2e/conftest.py finds it there.
.PHONY: kubectl-1.20
kubectl-1.20:
	@./tests/tools/ensure-kubectl-1.20.sh build/kubectl-1.20

e2e: all kubectl-1.20 $(BUILD)/bin/bench_fleet
	ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -x $(E2E_PAR) tests/e2e $(PYTEST_ARGS)

# kubectl's everyday verbs with 1.20, 1.27, 1.31, 1.32 and 1.33 (make test runs 1.20 and 1.33).
.PHONY: kubectl-matrix
kubectl-matrix: all kubectl-1.20
	ATOLL_KUBECTL_ALL=1 ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q $(E2E_PAR) \
	  tests/e2e/test_kubectl_versions.py $(PYTEST_ARGS)

# The dashboard in headless Chromium (playwright-core from the lockfile).
browser: all
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	ATOLL_BIN=$(abspath $(BUILD)/bin) node tests/browser/dashboard.test.js

# The quick checks at once; the plain end-to-end pass (4 workers, the HA chaos
# smoke among them) alone; then the TLS pass, the etcd smoke and the browser
# test at once (they mostly wait on hubs, agents and kubectl). Each target's
# output appears when it ends. TEST_JOBS=1: everything one after the other.
TEST_JOBS ?= 3
test: all
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -O checksrc fuzz-smoke unit
	@$(MAKE) --no-print-directory e2e
	@echo "== e2e-tls, e2e-etcd-smoke and browser (TEST_JOBS=$(TEST_JOBS) at once; output as each ends)"
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -O e2e-tls e2e-etcd-smoke browser

# The whole end-to-end suite with every hub on etcd (a session etcd member
# started by the tests; tests/e2e/etcd.py). Long: not part of make test,
# which runs the seed walkthrough on etcd (tests/e2e/test_store_etcd.py,
# its own etcd members, runs in make e2e).
e2e-etcd: all
	ATOLL_E2E_STORE=etcd ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -x $(E2E_PAR) tests/e2e $(PYTEST_ARGS)

# Several hubs on a three-member etcd under kill -9 of the leader every few
# seconds, one etcd member killed and brought back, one hub cut off etcd
# through TCP proxies (tests/e2e/chaos_ha.py; a 12 s version without the
# cut-off runs in tests/e2e/test_ha.py).
CHAOS_DURATION ?= 180
chaos-ha: all
	cd tests/e2e && ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 chaos_ha.py --duration $(CHAOS_DURATION)

e2e-etcd-smoke: all
	ATOLL_E2E_STORE=etcd ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -x \
		tests/e2e/test_seed_walkthrough.py $(PYTEST_ARGS)

# The whole end-to-end suite once more with every hub over TLS (init +
# --listen, kubectl with the generated admin.kubeconfig); test_tls.py ran above.
# Member loss, cluster failover (ClusterTaintPolicy, graceful eviction,
# purge modes, hub restart mid-eviction) and application failover, with
# three simulated members and agents (about a minute).
fault-failover: all
	ATOLL_FAULT=1 ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -x tests/e2e/test_failover.py $(PYTEST_ARGS)

# Only the transport-sensitive tests: tests/e2e/conftest.py deselects those listed in
# TRANSPORT_INDEPENDENT (why that loses no coverage: docs/benchmarks.md, "The test suite's wall time").
e2e-tls: all kubectl-1.20
	ATOLL_E2E_TLS=1 ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -x $(E2E_PAR) tests/e2e $(PYTEST_ARGS)

# The agent with its member's API down for 60 s while Works are removed, then
# the hub away (issue 10): CPU < 2%, a short log, deletions once the member is
# back. `make test` runs the same test with a 10 s window.
.PHONY: fault-agent
fault-agent: all
	ATOLL_FAULT_AGENT_SECONDS=60 ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -s \
	  tests/e2e/test_agent_retry.py $(PYTEST_ARGS)

# ---- fuzzing (libFuzzer; clang) ------------------------------------------------
# Targets are tests/fuzz/fuzz_*.c, built against the libraries compiled with
# -fsanitize=fuzzer-no-link,address,undefined in build/fuzz. Seeds and every
# crash turned regression input live in tests/fuzz/corpus/<target>/ and are
# replayed on each run; new inputs go to build/fuzz/corpus/<target>/.
FUZZ_TIME  ?= 60
FUZZ_SMOKE ?= 3
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

fuzz-build: check-deps
	$(MAKE) BUILD=build/fuzz CC=clang OPT=-O1 SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_NAMES:%=build/fuzz/fuzzers/fuzz_%)

$(BUILD)/fuzzers/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libatollhub.a $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-smoke: fuzz-build
	@$(MAKE) --no-print-directory fuzz-run FUZZ_TIME=$(FUZZ_SMOKE)

fuzz: fuzz-build
	@$(MAKE) --no-print-directory fuzz-run

# FUZZ_JOBS targets at a time, each for FUZZ_TIME seconds (one core each).
FUZZ_JOBS ?= 2
fuzz-run:
	@mkdir -p build/fuzz/artifacts; rm -f $(FUZZ_NAMES:%=build/fuzz/%.rc); printf '%s\n' $(FUZZ_NAMES) | \
	  xargs -P $(FUZZ_JOBS) -I{} sh -c 'mkdir -p build/fuzz/corpus/{}; \
	  build/fuzz/fuzzers/fuzz_{} -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	    -artifact_prefix=build/fuzz/artifacts/{}- build/fuzz/corpus/{} tests/fuzz/corpus/{} 2>build/fuzz/{}.log; \
	  echo $$? > build/fuzz/{}.rc'
	@set -e; for n in $(FUZZ_NAMES); do \
	  echo "== fuzz $$n for $(FUZZ_TIME)s: $$(grep -E '^Done [0-9]+ runs' build/fuzz/$$n.log | tail -1)"; \
	  [ "$$(cat build/fuzz/$$n.rc 2>/dev/null)" = 0 ] || \
	    { tail -40 build/fuzz/$$n.log; echo "fuzz $$n failed: crash input in build/fuzz/artifacts/"; exit 1; }; done

asan:
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

valgrind: all
	@set -e; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	  ATOLL_TEST_DATA=tests/data valgrind -q --error-exitcode=9 --leak-check=full $$t > $$t.valgrind.log 2>&1 || \
	  { cat $$t.valgrind.log; echo "== $$t FAILED under valgrind (output above)"; exit 1; }; done

# The load generators and benchmark programs, built without running them.
BENCH_TOOLS := $(addprefix $(BUILD)/bin/,bench_api bench_tls bench_sched bench_watch bench_fieldcheck bench_pblist bench_fleet)
bench-tools: all $(BENCH_TOOLS)

bench: all $(BUILD)/bin/bench_api $(BUILD)/bin/bench_tls $(BUILD)/bin/bench_sched $(BUILD)/bin/bench_watch \
       $(BUILD)/bin/bench_fieldcheck $(BUILD)/bin/bench_pblist
	$(BUILD)/bin/bench_fieldcheck
	/usr/bin/python3 tests/bench/bench_api.py --bin $(abspath $(BUILD)/bin)
	/usr/bin/python3 tests/bench/bench_tls.py --bin $(abspath $(BUILD)/bin)
	/usr/bin/python3 tests/bench/bench_protobuf.py --bin $(abspath $(BUILD)/bin) --client $(abspath $(BUILD)/bin/bench_pblist)
	$(BUILD)/bin/bench_sched --bindings 2000 --dir /dev/shm --budget 45
	$(BUILD)/bin/bench_sched --skip-sched --bindings 300 --dir /tmp --budget 30

$(BUILD)/bin/bench_tls: tests/bench/bench_tls.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< -lmbedtls -lmbedx509 -lmbedcrypto

$(BUILD)/bin/bench_api: tests/bench/bench_api.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< -levent

# Issue 16: a member's death -> its replicas ready elsewhere, 3 and 100 members with agents,
# grace 3 s and tolerations 2 s (Karmada's defaults: --grace 40s --toleration 300, ~6 min a round).
FAILOVER_ROUNDS ?= 3
bench-failover: all
	/usr/bin/python3 tests/bench/bench_failover.py --bin $(abspath $(BUILD)/bin) --rounds $(FAILOVER_ROUNDS)
	/usr/bin/python3 tests/bench/bench_failover.py --bin $(abspath $(BUILD)/bin) --clusters 100 --rounds $(FAILOVER_ROUNDS)

# Client side of protobuf vs JSON (issue 11), run by tests/bench/bench_protobuf.py --client.
$(BUILD)/bin/bench_pblist: tests/bench/bench_pblist.c $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Used by tests/bench/bench_agents.py (not run by `make bench`: minutes at 100 clusters).
$(BUILD)/bin/bench_watch: tests/bench/bench_watch.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< -levent -lcjson

# Stand-ins for N agents over TLS against one hub (issue 15; make bench-fleet, smoke in make test).
$(BUILD)/bin/bench_fleet: tests/bench/bench_fleet.c $(BUILD)/libatollhub.a $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/bench_fieldcheck: tests/bench/bench_fieldcheck.c $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/bench_sched: tests/bench/bench_sched.c $(BUILD)/libatollhub.a $(BUILD)/libatoll.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# 10,000 stand-in agents on one hub, then a restart (issue 15; minutes). Figures: docs/benchmarks.md.
FLEET_CLUSTERS ?= 10000
bench-fleet: all $(BUILD)/bin/bench_fleet
	$(BUILD)/bin/bench_fleet --clusters $(FLEET_CLUSTERS) --restart --budget 3600

# Members in their own network namespaces on region-like links (netem, or a delay-and-fault
# proxy where the kernel has none): seed walkthrough, write -> applied per region, partition
# and heal. Needs root and iproute2 (skips otherwise). Minutes.
netns-test: all
	ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -s tests/netns $(PYTEST_ARGS)

demo: all
	/usr/bin/python3 tests/tools/demo.py $(ARGS)

# The out-of-descriptors run of tests/e2e/test_netlimits.py at the issue's
# scale: a hub limited to 256 descriptors, 1000 idle connections, 30 s.
.PHONY: fault-net
fault-net: all
	ATOLL_FAULT_NET=1 ATOLL_BIN=$(abspath $(BUILD)/bin) /usr/bin/python3 -m pytest -q -x tests/e2e/test_netlimits.py $(PYTEST_ARGS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
