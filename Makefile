# obsgen: `make gen` compiles spec/ into generated/; `make test` runs every check.
# Both set themselves up: a .venv for Python, and (for test) the Debian packages with
# promtool, Prometheus, Alertmanager and the exporters when they are missing.

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
OBSGEN  := $(VENV)/bin/obsgen
STAMP   := $(VENV)/.installed
DEBS    := prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter victoria-metrics

.PHONY: gen test test-fast ci bootstrap.latest restore.sanity components.start ure.sync bridge.adaptive.start smoke session.restore dr.recover error-budget-burn-ok canary-quorum-pass dr-rehearsal-24h-pass backup.now restore.from lint obs-lint promql-unit alertmanager-unit debs fuzz bench bench.bridge autotune.bridge bench-reads rollout.preview targets.verify e2e.probe grafana.import.min alert.test reload up down sandbox.smoke clean help release release.tag

# The session env file of a deployment (SESSION_RESTORE.env.example), given on the command line
# (make smoke ENV=SESSION_RESTORE.env); empty: the sandbox's. An ENV exported by the shell (POSIX
# sh's startup file) is not one.
SESSION_ENV := $(if $(filter environment,$(origin ENV)),,$(ENV))
ENV_FLAG = $(if $(SESSION_ENV),--env $(SESSION_ENV))

# Empty: the CLI then reads PROMETHEUS_URL from the environment, else settings.prometheus_url.
PROMETHEUS_URL ?=
PROMETHEUS_FLAG = $(if $(PROMETHEUS_URL),--prometheus $(PROMETHEUS_URL))

help:
	@echo "make gen          compile spec/ into generated/ (creates .venv on first use)"
	@echo "make test         lint, pytest, gen --check, amtool, and make ci (installs what it needs)"
	@echo "make test-fast    the edit loop: lint, pytest without the stack modules, gen --check"
	@echo "make ci           the six L4 checks: obs-lint promql-unit sandbox.smoke error-budget-burn-ok"
	@echo "                  canary-quorum-pass dr-rehearsal-24h-pass"
	@echo "make backup.now   online snapshot of the runtime's SQLite state; restore.from SNAP=..."
	@echo "make lint         ruff check and format check"
	@echo "make fuzz         the spec property and loader fuzz tests with many more, new examples (FUZZ_EXAMPLES, FUZZ_RUNS)"
	@echo "make obs-lint     obsgen lint: the generated rules against the spec (exit 1 on findings)"
	@echo "make promql-unit  promtool check rules/config and the generated promtool tests"
	@echo "make alertmanager-unit  amtool check-config and the generated routing tests"
	@echo "make alert.test   real Alertmanager + local sink: each route delivers, grouped, ticket inhibited"
	@echo "make bench        generation (bundled spec, 1,000 and 10,000 SLOs), scrape latency, tick jitter,"
	@echo "                  the rules on vmalert vs promtool"
	@echo "make bench-reads  samples read per evaluation, obsgen vs Sloth, on a real Prometheus"
	@echo "make bench.bridge [SECONDS=900]  bridge tick jitter under 8 scrapers -> out/bench_bridge.log"
	@echo "make autotune.bridge  gain/tick/guard from the last bench into configs/bridge.yaml (then bench again)"
	@echo "make rollout.preview  [GO]/[HOLD]/[ROLLBACK] of every canary gate (PROMETHEUS_URL=...)"
	@echo "make targets.verify   every scrape job of the spec is up (PROMETHEUS_URL=...)"
	@echo "make e2e.probe    scrape p95 <= 150 ms per target, tick jitter p95 <= 25 ms (PROMETHEUS_URL=...)"
	@echo "make grafana.import.min  import lumen-min into Grafana (GRAFANA_URL, GRAFANA_TOKEN)"
	@echo "make reload       safe reload of a running Prometheus (PROMETHEUS_URL=...)"
	@echo "make up / down    the sandbox: runtime, Prometheus, Alertmanager, exporters on loopback"
	@echo "make bootstrap.latest  venv + Debian packages + gen + up + smoke (the seed's quickstart)"
	@echo "make smoke [ENV=...]   Prometheus/Alertmanager ready, components /readyz, every target up"
	@echo "make session.restore ENV=SESSION_RESTORE.env  restore.sanity, ure.sync, bridge.adaptive.start,"
	@echo "                  smoke, grafana.import.min; stops at the first failure"
	@echo "make restore.sanity ENV=...  the session restore's checks (obsgen restore check)"
	@echo "make ure.sync / bridge.adaptive.start [ENV=...]  start the URE sync daemon / bridge loop"
	@echo "make dr.recover SNAP=... ENV=...  /readyz 503 persisting -> restore -> restart -> smoke"
	@echo "make sandbox.smoke  the seed's sandbox-smoke-60s, and the init project end to end (part of make test)"
	@echo "make release VERSION=x.y.z[-rcN]  set the version, build sdist+wheel into dist/, smoke-test the wheel, CHANGELOG.md"
	@echo "make release.tag VERSION=...      annotated tag v<version> (clean tree, pyproject and changelog agree)"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

gen: $(STAMP)
	$(OBSGEN) gen

debs:
	@missing=""; for pkg in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The test files run two at a time, each one's report printed whole when it is done.
promql-unit: $(STAMP) debs
	promtool check rules --lint-fatal generated/prometheus/rules/*.yml
	promtool check config generated/prometheus/prometheus.yml
	@echo "promtool test rules generated/prometheus/tests/*.yml (two at a time)"
	@files=$$(ls generated/prometheus/tests/*.yml) && printf '%s\n' $$files \
	  | xargs -P 2 -I{} sh -c 'out=$$(promtool test rules "{}" 2>&1); status=$$?; printf "%s\n" "$$out"; exit $$status'

# Two pytest runs side by side: the modules that start whole stacks (the seed's
# sandbox-smoke-60s, the same chain on an `obsgen init` project, the session restore), one stack
# per module, each module on its own worker (they mostly wait for the sped-up clock), and every
# other test on three workers (pytest-xdist: tests pick free ports and temporary directories;
# three, not two: with the CLI runs forked from tests/cli_server.py the tests leave the cores
# idle often enough that a third worker gains 40 s on two cores; xdist's default --dist load, not
# loadgroup or loadscope: they deal the tests out one at a time, and a worker then sets a
# module's fixtures up again and again; see tests/conftest.py for the modules collected first).
# When the stack modules pass, `obsgen gen --check`, alertmanager-unit and `make ci` with
# PYTEST_RAN follow them while the other run goes on (its checks that pytest runs, sandbox.smoke,
# error-budget-burn-ok, dr-rehearsal-24h-pass, say so instead of running twice); their output is
# printed after the pytest run's, and `make test` fails when either fails.
SANDBOX_TESTS := tests/test_sandbox.py tests/test_sandbox_any_spec.py
STACK_TESTS := $(SANDBOX_TESTS) tests/test_session_restore.py
TEST_STARTED := $(shell date +%s)
test: $(STAMP) debs lint
	@status=0; stacks=$$(mktemp); checks=$$(mktemp); \
	{ $(VENV)/bin/pytest -q -n 3 --dist loadfile $(STACK_TESTS) > $$stacks 2>&1 \
	  && { $(OBSGEN) gen --check && $(MAKE) --no-print-directory alertmanager-unit \
	       && $(MAKE) --no-print-directory ci PYTEST_RAN=1; } > $$checks 2>&1; } & stack_pid=$$!; \
	$(VENV)/bin/pytest -q -n 3 $(addprefix --ignore=,$(STACK_TESTS)) || status=$$?; \
	wait $$stack_pid || status=$$?; echo "== the stack modules: $(STACK_TESTS)"; cat $$stacks; \
	echo "== gen --check, alertmanager-unit, make ci"; cat $$checks; \
	[ -s $$checks ] || echo "(not run: the stack modules failed)"; rm -f $$stacks $$checks; \
	elapsed=$$(( $$(date +%s) - $(TEST_STARTED) )); \
	echo "make test: $$([ $$status = 0 ] && echo passed || echo FAILED) in $$((elapsed / 60)) min $$((elapsed % 60)) s wall"; \
	exit $$status

# The edit loop: lint, every test but the stack modules, gen --check. CI runs `make test`.
test-fast: $(STAMP) debs lint
	$(VENV)/bin/pytest -q -n 3 $(addprefix --ignore=,$(STACK_TESTS))
	$(OBSGEN) gen --check

# `make test` runs a fixed sample of these; this runs many more (hypothesis picks them anew).
FUZZ_EXAMPLES ?= 200
FUZZ_RUNS ?= 5000
FUZZ_SEED ?= $(shell date +%s)
fuzz: $(STAMP) debs
	OBSGEN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) OBSGEN_FUZZ_RUNS=$(FUZZ_RUNS) OBSGEN_FUZZ_SEED=$(FUZZ_SEED) \
	  $(VENV)/bin/pytest -q -n 2 tests/test_spec_properties.py tests/test_fuzz_inputs.py

# The six checks of the L4 readiness report, in order (.github/workflows/observability.yml runs
# each as a job of the same name).
CI_CHECKS := obs-lint promql-unit sandbox.smoke error-budget-burn-ok canary-quorum-pass dr-rehearsal-24h-pass

ci: $(STAMP) debs
	@for check in $(CI_CHECKS); do \
	  echo "== $$check"; $(MAKE) --no-print-directory $$check || exit 1; \
	done

# Against PROMETHEUS_URL when given, else against the sandbox's real Prometheus.
error-budget-burn-ok: $(STAMP) debs
	@if [ -n "$(PROMETHEUS_URL)" ]; then $(OBSGEN) budget check --prometheus $(PROMETHEUS_URL); \
	elif [ -n "$(PYTEST_RAN)" ]; then echo "ran above in pytest: tests/test_sandbox.py -k budget"; \
	else $(VENV)/bin/pytest -q tests/test_sandbox.py -k budget; fi

# The gates' generated promtool tests: promotion, rollback and the K-of-N canary quorum.
canary-quorum-pass: $(STAMP) debs
	promtool test rules generated/prometheus/tests/*.gate.*.yml

dr-rehearsal-24h-pass: $(STAMP)
ifdef PYTEST_RAN
	@echo "ran above in pytest: tests/test_dr.py::test_dr_rehearse_passes (obsgen dr rehearse)"
else
	$(OBSGEN) dr rehearse
endif

backup.now: $(STAMP)
	$(OBSGEN) dr backup $(ENV_FLAG)

# make restore.from SNAP=20261122T010000.sqlite [ENV=SESSION_RESTORE.env]
restore.from: $(STAMP)
	@test -n "$(SNAP)" || { echo "usage: make restore.from SNAP=YYYYMMDDThhmmss.sqlite"; exit 2; }
	$(OBSGEN) dr restore $(SNAP) $(ENV_FLAG)

obs-lint: $(STAMP)
	$(OBSGEN) lint $(if $(GITHUB_ACTIONS),--format github) generated/

alertmanager-unit: $(STAMP) debs
	amtool check-config generated/alertmanager/alertmanager.yml
	$(OBSGEN) alert routes-test

alert.test: $(STAMP) debs
	$(VENV)/bin/pytest -q tests/test_alert_delivery.py

bench: $(STAMP) debs
	$(PY) benchmarks/gen_bench.py
	$(PY) benchmarks/runtime_bench.py
	$(PY) benchmarks/vmalert_compare.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache benchmarks/out

# The seed's flow: `make bench.bridge`, `make autotune.bridge`, then `make bench.bridge` again.
SECONDS ?= 900
bench.bridge: $(STAMP)
	$(OBSGEN) bench bridge --seconds $(SECONDS) --out out/bench_bridge.log

autotune.bridge: $(STAMP)
	$(OBSGEN) autotune bridge --bench out/bench_bridge.log --config configs/bridge.yaml

bench-reads: $(STAMP) debs
	$(PY) benchmarks/sample_reads.py

rollout.preview: $(STAMP)
	$(OBSGEN) gate decide $(PROMETHEUS_FLAG)

targets.verify: $(STAMP)
	$(OBSGEN) targets verify $(PROMETHEUS_FLAG)

# The seed's §7 latency budgets, measured against the running stack.
e2e.probe: $(STAMP)
	$(OBSGEN) probe $(PROMETHEUS_FLAG)

# GRAFANA_URL and GRAFANA_TOKEN (a service-account token) come from the environment.
grafana.import.min: $(STAMP)
	$(OBSGEN) grafana import --min $(ENV_FLAG)

# make reload PROMETHEUS_URL=http://127.0.0.1:9090 [RELOAD_CONFIG=/etc/prometheus/prometheus.yml]
reload: $(STAMP)
	$(OBSGEN) reload $(PROMETHEUS_FLAG) $(if $(RELOAD_CONFIG),--config $(RELOAD_CONFIG))

up: $(STAMP) debs
	$(OBSGEN) up

down: $(STAMP)
	$(OBSGEN) down $(ENV_FLAG)

# The seed's operator quickstart: everything installed, generated, started and smoke-tested.
bootstrap.latest: $(STAMP) debs
	$(MAKE) --no-print-directory gen
	$(MAKE) --no-print-directory up
	$(MAKE) --no-print-directory smoke

smoke: $(STAMP)
	$(OBSGEN) smoke $(ENV_FLAG)

# The seed's session restore (§1), in its order; make stops at the first failing step.
# components.start starts OBSGEN_COMPONENTS in their order: for the Lumen host's `ure bridge`,
# the seed's ure.sync then bridge.adaptive.start.
session.restore: $(STAMP) debs
	@test -n "$(SESSION_ENV)" || { echo "usage: make session.restore ENV=SESSION_RESTORE.env (see SESSION_RESTORE.env.example)"; exit 2; }
	$(MAKE) --no-print-directory restore.sanity ENV=$(SESSION_ENV)
	$(MAKE) --no-print-directory components.start ENV=$(SESSION_ENV)
	$(MAKE) --no-print-directory smoke ENV=$(SESSION_ENV)
	$(MAKE) --no-print-directory grafana.import.min ENV=$(SESSION_ENV)

restore.sanity: $(STAMP)
	@test -n "$(SESSION_ENV)" || { echo "usage: make restore.sanity ENV=SESSION_RESTORE.env"; exit 2; }
	$(OBSGEN) restore check --env $(SESSION_ENV)

components.start: $(STAMP)
	@test -n "$(SESSION_ENV)" || { echo "usage: make components.start ENV=SESSION_RESTORE.env"; exit 2; }
	$(OBSGEN) component start --all --env $(SESSION_ENV)

ure.sync: $(STAMP)
	$(OBSGEN) component start ure $(ENV_FLAG)

bridge.adaptive.start: $(STAMP)
	$(OBSGEN) component start bridge $(ENV_FLAG)

# The seed's failure flow (§5): make dr.recover SNAP=20261122T010000.sqlite ENV=SESSION_RESTORE.env
# [POLLS=3 EVERY=5]: /readyz must answer other than 200 at each of POLLS polls EVERY seconds apart.
POLLS ?= 3
EVERY ?= 5
dr.recover: $(STAMP)
	@test -n "$(SNAP)" -a -n "$(SESSION_ENV)" || { echo "usage: make dr.recover SNAP=YYYYMMDDThhmmss.sqlite|latest ENV=SESSION_RESTORE.env"; exit 2; }
	$(OBSGEN) dr recover $(SNAP) --env $(SESSION_ENV) --polls $(POLLS) --every $(EVERY)

# The seed's smoke on the bundled spec and the same chain on an `obsgen init` project, each
# module's stack on its own worker, side by side (both mostly wait for the sped-up clock).
sandbox.smoke: $(STAMP) debs
ifdef PYTEST_RAN
	@echo "ran above in pytest: $(SANDBOX_TESTS)"
else
	$(VENV)/bin/pytest -q -n 2 --dist loadfile $(SANDBOX_TESTS)
endif

# make release VERSION=1.9.5-rc1 (PEP 440: 1.9.5rc1), then commit, then make release.tag VERSION=1.9.5-rc1.
# The logic, and what each step checks, is in tools/release.py.
release: $(STAMP) debs
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z[-rcN]"; exit 2; }
	$(PY) tools/release.py build $(VERSION)

release.tag: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make release.tag VERSION=x.y.z[-rcN]"; exit 2; }
	$(PY) tools/release.py tag $(VERSION)
