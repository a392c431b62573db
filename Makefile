# Thin wrappers; the Go tool does the work.
GO ?= go

# The test pipeline fails when go test does, not only when the report does.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: build test test-short bench fuzz

build:
	$(GO) build -o setu ./cmd/setu

# The whole suite: vet, then every test. PostgreSQL tests run when
# SETU_TEST_POSTGRES_DSN is set, large-corpus tests when SETU_CORPUS is set;
# otherwise they skip, and the report at the end counts the skipped tests by
# the reason they gave.
test:
	$(GO) vet ./...
	$(GO) build -o .setu-testreport ./cmd/setu-testreport
	$(GO) test -count=1 -timeout 30m -json ./... | ./.setu-testreport

# Quick loop while developing: slow tests skipped.
test-short:
	$(GO) test -short ./...

# Performance figures against baselines measured in the same run.
bench:
	$(GO) run ./cmd/setu-bench

fuzz:
	$(GO) test ./internal/stix -run '^$$' -fuzz FuzzParse -fuzztime 60s
	$(GO) test ./internal/stix -run '^$$' -fuzz FuzzReader -fuzztime 60s
	$(GO) test ./internal/stix/pattern -run '^$$' -fuzz FuzzParse -fuzztime 60s
	$(GO) test ./internal/match -run '^$$' -fuzz FuzzMatch -fuzztime 60s
	$(GO) test ./internal/taxii -run '^$$' -fuzz FuzzParseFilter -fuzztime 60s
	$(GO) test ./internal/taxiiserver -run '^$$' -fuzz FuzzNextToken -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzNDJSON -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzCSV -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzSTIX -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzZeekTSV -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzZeekJSON -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzEve -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzDetect -fuzztime 60s
	$(GO) test ./internal/event -run '^$$' -fuzz FuzzMapping -fuzztime 60s
	$(GO) test ./internal/federation -run '^$$' -fuzz FuzzDecodeProvenance -fuzztime 60s
