# Ledgerline: the two commands (and a few helpers). Each installs what is missing first.
.PHONY: run run-cluster test test-cluster bench lint bootstrap clean

run: bootstrap
	.venv/bin/python deploy/run.py

# make run on a local Kafka cluster: 3 brokers (9092-9094) and 3 controllers (docs/operations.md).
run-cluster: bootstrap
	.venv/bin/python deploy/run.py --kafka-cluster 3

test:
	bash deploy/test.sh -m "not cluster" $(ARGS)

# The 3-broker cluster tests (tests/test_kafka_cluster.py, tests/test_cluster_faults.py): a few minutes
# of their own, so `make test` stays within its budget; .ci/run runs both.
test-cluster:
	bash deploy/test.sh -m cluster $(ARGS)

bench: bootstrap
	bash bench/run.sh

lint: bootstrap
	.venv/bin/ruff check shared services tests deploy bench
	.venv/bin/ruff format --check shared services tests deploy bench
	.venv/bin/mypy shared/ledgerline_shared services/invoicing/ledgerline_invoicing services/rendering/ledgerline_rendering services/notification/ledgerline_notification services/export/ledgerline_export services/backoffice/ledgerline_backoffice deploy/gateway_config.py deploy/ledgerline_stack.py deploy/run_config.py deploy/run.py deploy/prometheus_config.py deploy/demo
	.venv/bin/lint-imports

bootstrap:
	bash deploy/bootstrap.sh

clean:
	rm -rf var/test var/run
