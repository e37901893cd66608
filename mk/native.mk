# `make native-kernels`: ggml's CPU backend compiled for this machine
# (GGML_NATIVE=ON, as `make peers` builds llama.cpp's tools), as a backend the
# llamacpp plugin loads instead of the npm package's prebuilt variants.
#
# Only the CPU backend: the target ggml-cpu of the pinned llama.cpp source
# (the git bundle `make peers` extracts, the very commit the npm libraries
# were built from, so it speaks the ABI of the libggml-base.so the plugin
# already links), built as a dynamically loadable module (GGML_BACKEND_DL)
# without CUDA, Metal, Vulkan or OpenMP, in $(NATIVE_DIR)/, and copied to
# $(BUILD)/lib/llama/native/libggml-cpu.so, beside the plugin's llama
# libraries (its run path $ORIGIN/.. finds their libggml-base.so). The plugin
# loads it when it is there (docs/backends.md, "CPU kernels";
# LLM_EVAL_LLAMA_CPU=prebuilt ignores it); `make native-kernels-clean`
# removes it. Opt-in: not part of `make all`, `make test` or CI (several
# minutes on 2 cores), and never with LLAMA_PREFIX (that llama.cpp is the
# user's own build). Needs cmake, ninja and a C++ compiler
# (tools/install-deps.sh). Nothing here touches deps/.

PEERS_DIR   ?= build-peers
NATIVE_DIR  ?= build-native
NATIVE_JOBS ?= 2
NATIVE_SO    = $(BUILD)/lib/llama/native/libggml-cpu.so

.PHONY: native-kernels native-kernels-clean
ifdef LLAMA_PREFIX
native-kernels native-kernels-clean:
	@echo "make native-kernels: not with LLAMA_PREFIX (build that llama.cpp with GGML_NATIVE=ON instead)" >&2; exit 2
else
native-kernels: $(NATIVE_SO)

# ggml's CMake refuses GGML_NATIVE=ON with GGML_BACKEND_DL (a loadable
# backend carries a score function that checks the CPU's features, and with
# GGML_NATIVE it would not know which). So: GGML_NATIVE=OFF, each GGML_<ISA>
# option on where `cc -march=native` defines its macro (the features the
# score function then checks at load), and -march=native for the compiler,
# as GGML_NATIVE would pass it: the kernels compile as those of `make peers`.
# CMAKE_PLATFORM_NO_VERSIONED_SONAME: the module then needs libggml-base.so,
# the soname of the npm copy the plugin has loaded already, so the loader
# takes that one (a libggml-base.so.0 would be a second, unrelated copy with
# its own state); the run path $ORIGIN/.. finds it for a process that loads
# the module first.
NATIVE_ISA = SSE42:__SSE4_2__ F16C:__F16C__ FMA:__FMA__ BMI2:__BMI2__ AVX:__AVX__ AVX2:__AVX2__ \
	AVX_VNNI:__AVXVNNI__ AVX512:__AVX512F__+__AVX512CD__+__AVX512VL__+__AVX512DQ__+__AVX512BW__ \
	AVX512_VBMI:__AVX512VBMI__ AVX512_VNNI:__AVX512VNNI__ AVX512_BF16:__AVX512BF16__ \
	AMX_TILE:__AMX_TILE__ AMX_INT8:__AMX_INT8__ AMX_BF16:__AMX_BF16__

$(NATIVE_DIR)/.stamp: $(PEERS_DIR)/src/.stamp
	@[ "$$(uname -m)" = x86_64 ] || { echo "make native-kernels: x86-64 only" >&2; exit 2; }
	defs=$$(cc -march=native -dM -E -x c /dev/null) || exit 1; isa=; \
	for f in $(NATIVE_ISA); do v=ON; for m in $$(echo $${f#*:} | tr + ' '); do \
	  case "$$defs" in *"#define $$m 1"*) ;; *) v=OFF ;; esac; done; isa="$$isa -DGGML_$${f%%:*}=$$v"; done; \
	echo "native ISA:$$isa"; \
	cmake -S $(PEERS_DIR)/src -B $(NATIVE_DIR)/cmake -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON \
	  -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF $$isa \
	  -DCMAKE_C_FLAGS=-march=native -DCMAKE_CXX_FLAGS=-march=native \
	  -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_OPENMP=OFF \
	  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF \
	  -DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$$ORIGIN/..'
	cmake --build $(NATIVE_DIR)/cmake -j $(NATIVE_JOBS) --target ggml-cpu
	cp $(PEERS_DIR)/src/COMMIT $(NATIVE_DIR)/COMMIT
	@touch $@

$(NATIVE_SO): $(NATIVE_DIR)/.stamp $(BUILD)/lib/llama/.stamp
	@mkdir -p $(dir $@)
	cp $(NATIVE_DIR)/cmake/bin/libggml-cpu.so $@.tmp
	mv $@.tmp $@
	@echo "native CPU kernels: $@ (llama.cpp $$(cat $(NATIVE_DIR)/COMMIT))"

native-kernels-clean:
	rm -rf $(BUILD)/lib/llama/native

# `make install` takes it along when it was built (nothing otherwise).
.PHONY: install-native-kernels
install: install-native-kernels
install-native-kernels: install-llamacpp
	if [ -f $(NATIVE_SO) ]; then install -d $(DESTDIR)$(LIBDIR)/llama/native && \
	  install -m 755 $(NATIVE_SO) $(DESTDIR)$(LIBDIR)/llama/native/; fi
endif
