# agent-metrics: `make test` installs what is missing, then builds, checks formatting and runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export DOTNET_NOLOGO := 1
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1
# Test servers keep their data here, on tmpfs when there is one; hack/reap.sh sweeps it.
export AGENT_METRICS_TEST_ROOT ?= $(if $(wildcard /dev/shm),/dev/shm,$(or $(TMPDIR),/tmp))/agent-metrics-test

SOLUTION := AgentMetrics.Operator.sln
RESULTS := artifacts/test-results
PHASE := hack/phase.sh

# The sidecar as it ships: one native executable compiled ahead of time (NativeAOT) for linux-x64. Tests and benchmarks run this.
SIDECAR_PUBLISHED := artifacts/sidecar/agent-metrics-sidecar
export AGENT_METRICS_SIDECAR ?= $(CURDIR)/$(SIDECAR_PUBLISHED)
# The kubectl plugin as it ships: one self-contained, trimmed file; on PATH, kubectl runs it as `kubectl agentmetrics`.
CLI_PUBLISHED := artifacts/cli/kubectl-agentmetrics
export AGENT_METRICS_CLI ?= $(CURDIR)/$(CLI_PUBLISHED)
# The operator as its image ships it: self-contained for linux-x64, run in-cluster on a local node.
OPERATOR_PUBLISHED := artifacts/operator/agent-metrics-operator
# The OCI image archives a local node imports (pause, the operator, the sidecar, an example agent); built without Docker.
IMAGES := artifacts/images
export AGENT_METRICS_IMAGES ?= $(CURDIR)/$(IMAGES)
# Where hack/install-deps.sh recorded the Kubernetes binaries it built (the pause program among them).
KUBE_BIN_RECORD := $${AGENT_METRICS_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/agent-metrics}/bin-dir

.PHONY: help deps build publish-sidecar publish-operator publish-cli images format lint test demo golden bench-runtime bench-sidecar bench-webhook bench-lag bench-fleet bench-dashboards clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

deps: ## Install Debian packages and build the Kubernetes binaries (cached)
	@$(PHASE) "install dependencies" hack/install-deps.sh

build: ## Build the solution
	@$(PHASE) "build" dotnet build $(SOLUTION) -c Release --nologo -v quiet

publish-sidecar: ## Publish the sidecar as it ships (NativeAOT, one native executable) to artifacts/sidecar
	@$(PHASE) "publish the sidecar" dotnet publish src/Sidecar -c Release -r linux-x64 --nologo -v quiet -o artifacts/sidecar

publish-operator: ## Publish the operator as its image ships it (self-contained) to artifacts/operator
	@$(PHASE) "publish the operator" dotnet publish src/Operator -c Release -r linux-x64 --nologo -v quiet -o artifacts/operator

publish-cli: ## Publish the kubectl plugin (self-contained, trimmed, one file) to artifacts/cli/kubectl-agentmetrics
	@$(PHASE) "publish the kubectl plugin" dotnet publish src/Cli -c Release -r linux-x64 --nologo -v quiet -o $(dir $(CLI_PUBLISHED))

images: deps publish-sidecar publish-operator ## Build the local node's OCI image archives into artifacts/images, without Docker
	@$(PHASE) "images" hack/build-images.sh $(dir $(SIDECAR_PUBLISHED)) $(dir $(OPERATOR_PUBLISHED)) "$$(cat "$(KUBE_BIN_RECORD)")" $(IMAGES)

format: ## Format the code in place
	@dotnet format $(SOLUTION)

lint: ## Fail when the code is not `dotnet format` clean
	@$(PHASE) "format check" dotnet format $(SOLUTION) --verify-no-changes --no-restore

test: deps build lint publish-sidecar publish-operator publish-cli images ## Run every test against real servers
	@$(PHASE) "stop what earlier runs left" hack/reap.sh sweep "$(AGENT_METRICS_TEST_ROOT)"
	@rm -rf $(RESULTS)
	@$(PHASE) "tests" dotnet test $(SOLUTION) -c Release --no-build --nologo \
		--results-directory $(RESULTS) --logger trx --logger "console;verbosity=normal" \
		--blame-hang-timeout 10m --blame-hang-dump-type none; \
	status=$$?; hack/test-summary.sh $(RESULTS) || status=1; exit $$status
	@$(PHASE) "no test process left running" hack/check-leftovers.sh

AGENTS ?= 20
DEMO_ROOT := $(if $(wildcard /dev/shm),/dev/shm,$(or $(TMPDIR),/tmp))/agent-metrics-demo

demo: deps build images ## Run everything locally, on a real node, with a fleet of AGENTS (default 20) agent pods; Ctrl-C stops it all
	@hack/reap.sh sweep "$(DEMO_ROOT)"
	@AGENT_METRICS_TEST_ROOT="$(DEMO_ROOT)" dotnet demo/AgentMetrics.Demo/bin/Release/net10.0/agent-metrics-demo.dll --agents $(AGENTS)

golden: build ## Rewrite generated files (docs/metrics.md, renderer and dashboard golden files) from the code
	@AGENT_METRICS_UPDATE_GOLDEN=1 dotnet test tests/AgentMetrics.Api.Tests -c Release --no-build --nologo -v quiet
	@AGENT_METRICS_UPDATE_GOLDEN=1 dotnet test tests/AgentMetrics.Rendering.Tests -c Release --no-build --nologo -v quiet

bench-runtime: deps ## Benchmark the controller runtime with 5000 objects (writes bench/results/)
	@$(PHASE) "controller-runtime benchmark" hack/bench-runtime.sh 5000

bench-sidecar: deps ## Benchmark the sidecar: recording, exposition, ingestion, memory, push lag, scrapes end to end beside its peers (writes bench/results/)
	@$(PHASE) "sidecar benchmark" hack/bench-sidecar.sh 1000

bench-webhook: deps ## Benchmark the injection webhook at 200 admissions/s and the flag's flip time (writes bench/results/)
	@$(PHASE) "webhook benchmark" hack/bench-webhook.sh 200 30

bench-lag: deps publish-sidecar ## The lag report: event to queryable, push and scrape at 1 s, 1000 events each (writes bench/results/)
	@$(PHASE) "lag report" hack/bench-lag.sh 1000

bench-fleet: deps ## The operator with 5000 agent pods, 1000 definitions and 5000 streams; pushes of 1000 and 5000 agents into VictoriaMetrics and Prometheus (writes bench/results/)
	@$(PHASE) "fleet benchmark" hack/bench-fleet.sh 5000 1000 10

bench-dashboards: deps ## Every dashboard query against a real Prometheus holding 50, 500 and 5000 agents' history: time and samples per query (writes bench/results/)
	@$(PHASE) "dashboards benchmark" hack/bench-dashboards.sh 50,500,5000 10

clean: ## Remove build output
	@rm -rf artifacts src/*/bin src/*/obj tests/*/bin tests/*/obj bench/*/bin bench/*/obj
