# hishamos-perf — see README.md. `make run` and `make test` are the front door.
GO      ?= go
BIN     := bin/hishamos-perf
PKGS    := ./...

.PHONY: setup build test run vet bench-seed bench-sandbox clean

## setup: install PostgreSQL, HypoPG and pg_qualstats where missing, and the Go modules
setup:
	@bash scripts/setup.sh
	@$(GO) mod download

## build: write bin/hishamos-perf
build:
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/hishamos-perf

## test: unit and integration tests against a real PostgreSQL (a sandbox per package)
test:
	$(GO) test -count=1 -timeout 30m $(PKGS)

## run: the main job on the embedded sandbox
run: setup build
	@$(BIN) sandbox up

## vet: go vet and gofmt
vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

## bench-seed: seed --scale medium beside pgbench -i -s 10 on the same server, rows/s and their ratio
bench-seed: build
	@bash scripts/bench-seed.sh

## bench-sandbox: cold start (initdb included) and warm start of the sandbox
bench-sandbox:
	$(GO) test -run '^$$' -bench 'ColdStart|WarmStart' -benchtime 5x ./internal/sandbox/

clean:
	rm -rf bin
