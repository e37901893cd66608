# The registry's tools: the synthetic lm-evaluation-harness tree generator
# used by tests/cli/t013x and bench/registry.sh.
GEN_TASK_TREE = $(BUILD)/tools/gen-task-tree

$(GEN_TASK_TREE): tools/gen-task-tree.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SAN_LDFLAGS) $(if $(SAN),-fsanitize=address$(comma)undefined) -o $@ $<

comma := ,
TEST_DEPS += $(GEN_TASK_TREE)
BENCH_DEPS += $(GEN_TASK_TREE)
