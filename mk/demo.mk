# `make demo`: the README's first command. Builds everything, generates the
# tiny model, and evaluates it on the demo tasks (data written by the project,
# in examples/demo/data). No network, no ../shared.
.PHONY: demo
demo: all $(BUILD)/models/tiny.gguf
	$(BUILD)/llm-eval --include-path examples/demo run --data-dir examples/demo/data \
		--model-path $(BUILD)/models/tiny.gguf --tasks demo --output $(BUILD)/demo-results --log-samples
	@echo
	@echo "The model has random weights: its scores are at chance level, as they should be."
	@echo "Results and per-sample logs: $(BUILD)/demo-results/tiny/"
