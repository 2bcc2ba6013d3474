# Each target sets itself up on a fresh machine: a virtual environment with the package (editable) and its dev tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Node 20 is past jsii's support date; without this every CDK run prints a large banner.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
CDK := npx --yes aws-cdk@2

.PHONY: synth test test-engine test-lowest lint typecheck bench deploy-local clean

# constraints.txt pins the tested versions, so snapshots and checks do not move with new releases.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

synth: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(CDK) synth --quiet

LINTED := constructs lambda tests bench app.py
TYPED := constructs/cdk_bedrock_customization lambda/bedrock_custom_resource lambda/bedrock_single_function

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy $(TYPED)

# Two workers, one test file each at a time (module fixtures such as the built wheel run once): about half
# the time of one on a 2-core machine. PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= 2
test: $(STAMP) lint typecheck
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist loadfile

# ministack in a virtual environment of its own: it pins its own botocore, and runs Python functions with its own
# interpreter, so boto3 is installed beside it.
ENGINE_VENV := $(VENV)/ministack
$(ENGINE_VENV)/.installed: tests/engine/ministack-requirements.txt
	$(PYTHON) -m venv $(ENGINE_VENV)
	$(ENGINE_VENV)/bin/pip install --quiet -r tests/engine/ministack-requirements.txt
	touch $@

# End to end on ministack, an engine nobody here wrote, with the real CDK CLI and the Bedrock emulator (tests/engine).
test-engine: $(STAMP) $(ENGINE_VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" MINISTACK_PYTHON="$(CURDIR)/$(ENGINE_VENV)/bin/python" CDK="$(CDK)" \
		$(BIN)/pytest -m engine tests/engine

# The library at the lowest versions pyproject.toml declares (each dependency pinned at its bound, the rest
# resolved by pip), in a virtual environment of its own: a bound it does not work at fails here. The dev extra's
# test runner, linter and type checker are at their bounds too, and lint and type-check the code there.
LOWEST_VENV := $(VENV)/lowest
$(LOWEST_VENV)/.installed: $(STAMP) tests/lowest/lowest_requirements.py
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/pip install --quiet --upgrade pip
	$(BIN)/python tests/lowest/lowest_requirements.py > $(LOWEST_VENV)/requirements.txt
	$(LOWEST_VENV)/bin/pip install --quiet -r $(LOWEST_VENV)/requirements.txt
	$(LOWEST_VENV)/bin/pip install --quiet --no-deps -e .
	$(BIN)/python tests/lowest/lowest_requirements.py --tools > $(LOWEST_VENV)/tools.txt
	$(LOWEST_VENV)/bin/pip install --quiet -r $(LOWEST_VENV)/tools.txt
	touch $@

# The second run's tests take their reference, the Bedrock service model, from the installed botocore: at its bound
# it is older than the model the library ships, so they read that one, as the deployed handler does (AWS_DATA_PATH).
LOWEST_PYTEST := PATH="$(CURDIR)/$(LOWEST_VENV)/bin:$$PATH" $(LOWEST_VENV)/bin/pytest -p no:cacheprovider
test-lowest: $(LOWEST_VENV)/.installed
	$(LOWEST_VENV)/bin/ruff check $(LINTED)
	$(LOWEST_VENV)/bin/ruff format --check $(LINTED)
	$(LOWEST_VENV)/bin/mypy --cache-dir $(LOWEST_VENV)/mypy-cache $(TYPED)
	$(LOWEST_PYTEST) -m lowest tests/lowest
	AWS_DATA_PATH="$(CURDIR)/lambda/bedrock_custom_resource/botocore_data" $(LOWEST_PYTEST) \
		tests/construct/test_token_counts.py tests/construct/test_validate_token_counts.py \
		tests/construct/test_models_file.py tests/construct/test_models_file_copies.py \
		tests/construct/test_models_file_evaluations.py tests/construct/test_models_file_open_weights.py \
		tests/construct/test_models_file_properties.py \
		tests/handler/test_loss_curves.py tests/handler/test_status.py tests/test_emulate_bedrock.py

bench: $(STAMP)
	$(BIN)/python bench/bench.py

# A local rehearsal of the example app's create, update and delete: not AWS (see the README).
deploy-local: $(STAMP)
	$(BIN)/cdk-bedrock-customization rehearse

clean:
	rm -rf cdk.out build dist *.egg-info
