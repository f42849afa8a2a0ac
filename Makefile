# QuanNex Metrics Integrity Gate and GameDay harness.
# Run `make help` for the targets.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X github.com/quannex/gameday/gate/build.Version=$(VERSION) \
             -X github.com/quannex/gameday/gate/build.Commit=$(COMMIT)
IMAGE     ?= quannex/gate:local
BENCH_DURATION ?= 10s

.PHONY: help build test unit kube-assets scenarios lint bench run gameday smoke image fuzz clean mutants man

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build bin/gate, bin/stressor (static), bin/gameday and bin/gatebench
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/gate ./cmd/gate
	CGO_ENABLED=0 $(GO) build -o bin/stressor ./cmd/stressor
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/gameday ./cmd/gameday
	$(GO) build -o bin/gatebench ./cmd/gatebench

lint: ## gofmt and go vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: ## lint, unit and integration tests, then the GameDay suites (each one's time at the end); fails if any stage fails
	@t=$$(date +%s); failed=""; \
	$(MAKE) --no-print-directory lint || failed="$$failed lint"; a=$$(date +%s); \
	$(MAKE) --no-print-directory unit || failed="$$failed unit"; b=$$(date +%s); \
	$(MAKE) --no-print-directory scenarios || failed="$$failed scenarios"; c=$$(date +%s); \
	echo "make test: lint $$((a-t))s, unit $$((b-a))s, scenarios $$((c-b))s"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi

kube-assets: ## the Kubernetes tests' kube-apiserver (built once, ~10 min) and Chaos Mesh CRDs, cached under ~/.cache/quannex-gameday
	@bash tools/kube-apiserver.sh >/dev/null
	@bash tools/chaos-mesh-crds.sh >/dev/null

unit: kube-assets ## every package but the GameDay suites, with the race detector (fuzz seed corpora included)
	@# -parallel: the harness's GameDays on the process target wait on alerts,
	@# so they run side by side; the CPU spike's test is not parallel.
	$(GO) test -race -count=1 -timeout 30m -parallel 8 $$($(GO) list ./... | grep -v /scenarios)
	@# The audit log's memory bound is measured without the race detector
	@# (which skews heap figures and takes minutes): its file is built !race.
	$(GO) test -count=1 -run '^TestMemoryDoesNotGrowWithTheLog$$' ./gate/audit

GINKGO ?= $(GO) run github.com/onsi/ginkgo/v2/ginkgo
SCENARIO_PROCS ?= 4

scenarios: ## the Ginkgo GameDay suites side by side (the CPU spike alone): three scenarios in containers, the process target, three fleet GameDays
	$(GINKGO) -p --procs=$(SCENARIO_PROCS) --timeout=60m -v ./scenarios

gameday: build ## run the three built-in GameDays (container target, or process where Docker is absent)
	./bin/gameday run $(or $(SCENARIOS),cpu-spike io-glitch latency)

mutants: ## the mutant matrix: broken gates, stressor, rules and faults must each turn their check red, rows side by side
	$(GO) test -tags mutants -count=1 -timeout 30m -parallel 12 -v ./harness/mutants/

fuzz: ## run each fuzz target for 30s
	$(GO) test -run '^$$' -fuzz '^FuzzParseAuthorization$$' -fuzztime 30s ./gate/auth
	$(GO) test -run '^$$' -fuzz '^FuzzParseList$$' -fuzztime 30s ./gate/auth
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 30s ./gate/snapshot
	$(GO) test -run '^$$' -fuzz '^FuzzParseLine$$' -fuzztime 30s ./gate/audit

bench: build ## gate vs bare promhttp under vegeta at 50, 200, 500 req/s and max rate, over TLS vs exporter-toolkit's server, with a 10 MiB payload; plus the Go benchmark
	./bin/gatebench -duration $(BENCH_DURATION)
	$(GO) test -run '^$$' -bench BenchmarkLive -benchtime 3s ./gate

SMOKE_PORT ?= 3917

smoke: build ## start a local gate on 127.0.0.1:3917 (SMOKE_PORT=), run the 5-check smoke pack against it, stop it
	@dir=$$(mktemp -d); tok=$$(head -c 18 /dev/urandom | base64 | tr '+/' '-_'); adm=$$(head -c 18 /dev/urandom | base64 | tr '+/' '-_'); \
	METRICS_TOKENS="smoke:$$tok" METRICS_RATE_LIMITS="smoke=600/min,admin=600/min" GATE_ADMIN_TOKEN="$$adm" \
	  ./bin/gate serve --web.listen-address 127.0.0.1:$(SMOKE_PORT) --cache-dir $$dir/cache --audit-log $$dir/audit/audit.jsonl \
	  --enable-fault-injection --log-file $$dir/gate.log & pid=$$!; \
	for i in $$(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:$(SMOKE_PORT)/readyz 2>/dev/null && break; sleep 0.1; done; \
	start=$$(date +%s%N); \
	(umask 077; echo "$$tok" > $$dir/token; echo "$$adm" > $$dir/admin.token); \
	./bin/gameday smoke --url http://127.0.0.1:$(SMOKE_PORT) --token-file $$dir/token --admin-token-file $$dir/admin.token; rc=$$?; \
	echo "make smoke: $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; \
	kill $$pid; wait $$pid; rm -rf $$dir; exit $$rc

run: build ## start a local gate on :3000 with a fresh token (printed) and the admin API
	@token=$${METRICS_TOKENS:-dev:$$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}; \
	admin=$${GATE_ADMIN_TOKEN:-$$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}; \
	echo "gate: metrics token (name:token): $$token"; \
	echo "gate: try  curl -sS -D- -H \"Authorization: Bearer $${token#*:}\" http://localhost:3000/metrics | head -20"; \
	echo "gate:      curl -sS -H \"Authorization: Bearer $${token#*:}\" http://localhost:3000/metrics/selftest"; \
	echo "gate: admin token: $$admin"; \
	METRICS_TOKENS="$$token" GATE_ADMIN_TOKEN="$$admin" ./bin/gate serve --enable-fault-injection

man: build ## man pages for gate and gameday in bin/man/ (from the definitions --help prints)
	@mkdir -p bin/man
	./bin/gate --help-man > bin/man/gate.1
	./bin/gameday --help-man > bin/man/gameday.1
	@echo "man -l bin/man/gameday.1"

image: ## build the FROM-scratch gate image used by the container target
	mkdir -p bin/linux
	CGO_ENABLED=0 GOOS=linux $(GO) build -ldflags "$(LDFLAGS)" -o bin/linux/gate ./cmd/gate
	CGO_ENABLED=0 GOOS=linux $(GO) build -o bin/linux/stressor ./cmd/stressor
	cp fixtures/gate/Dockerfile bin/linux/Dockerfile
	docker build -q -t $(IMAGE) bin/linux

clean: ## remove build output and local state
	rm -rf bin .cache audit
