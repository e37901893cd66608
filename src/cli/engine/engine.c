/* Identity of libllm-eval-engine.so. The dispatcher checks that the engine it
 * loads was built from the same version as the executable: the engine resolves
 * util and registry symbols from the executable, so a mismatch would be
 * undefined behaviour rather than an error. */
const char lle_engine_version[] = LLE_VERSION "+" LLE_GIT_REV;
