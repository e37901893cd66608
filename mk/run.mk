# Rules of the run area (llm-eval run's tests and benchmark).
#
#   $(BUILD)/models/tiny-chat.gguf   the tiny model with a chat template (chatml)
#                                    stored in the GGUF, for --apply-chat-template
#                                    tests (tests/cli/t0810-run-more.sh)   -> TEST_DEPS
# It reuses mk/gguf.mk's generator, vocabulary and tiny arguments.

TINY_CHAT_GGUF = $(GGUF_MODELS)/tiny-chat.gguf

TEST_DEPS += $(TINY_CHAT_GGUF)

$(TINY_CHAT_GGUF): $(MKGGUF) $(GGUF_VOCAB_SPM)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(MKGGUF) -q $(TINY_GGUF_ARGS) --chat-template chatml --vocab $(GGUF_VOCAB_SPM) -o $@
