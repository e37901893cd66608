/* Identity of libllm-eval-engine.so. The dispatcher checks that the engine it
 * loads matches the executable: the engine resolves util and registry symbols
 * from the executable, so a mismatch would be undefined behaviour rather than
 * an error. The identity is the release version and the interface version
 * between the two (LLE_ENGINE_ABI in cli/cmd.h), not the git revision: an
 * incremental build after a commit recompiles only some objects, and the two
 * sides would then disagree about a revision that changes nothing. */
#include "cli/cmd.h"

const char lle_engine_version[] = LLE_VERSION "/" LLE_ENGINE_ABI;
