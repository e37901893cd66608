#!/bin/sh
# tools/mkgguf: the same options and seed give a byte-identical file, another
# seed a different one, and the weights are pinned: a digest of the tensor
# data of one small configuration is fixed here, so a change of compiler,
# machine or sanitizer that changed a single weight would fail (the digest
# leaves out the header, which holds the vocabulary copied from `make deps`).
. "$(dirname "$0")/lib.sh"
MKGGUF=$BUILD/tools/mkgguf
VOCAB=$TOP/deps/llama/vocab/ggml-vocab-llama-spm.gguf
SMALL="--layers 1 --embd 32 --heads 2 --kv-heads 1 --ff 48 --ctx 64 --vocab $VOCAB"

# data_digest FILE OFFSET: sha256 of the bytes from OFFSET on.
data_digest() { tail -c +$(($2 + 1)) "$1" | sha256sum | cut -d' ' -f1; }
# offset_of: the "data at N" of the last expect's summary line.
offset_of() { sed -n 's/.*data at \([0-9]*\)$/\1/p' "$OUT"; }

expect "generate seed 7" 0 "$MKGGUF" $SMALL --seed 7 -o "$T/a.gguf"
expect "generate seed 7 again" 0 "$MKGGUF" $SMALL --seed 7 -o "$T/b.gguf"
check "same seed, byte-identical files" cmp "$T/a.gguf" "$T/b.gguf"
expect "generate seed 8" 0 "$MKGGUF" $SMALL --seed 8 -o "$T/c.gguf"
check "another seed, another file" sh -c "! cmp -s '$T/a.gguf' '$T/c.gguf'"
check "same size whatever the seed" sh -c "test \$(wc -c <'$T/a.gguf') -eq \$(wc -c <'$T/c.gguf')"

expect "pinned f32 weights" 0 "$MKGGUF" $SMALL --seed 1 -o "$T/p32.gguf"
off=$(offset_of)
got=$(data_digest "$T/p32.gguf" "$off")
check "f32 data digest is the pinned one ($got)" test "$got" = "29f4cae8638b71175ab40c763912982fb73d1d4d87901365d70170ef16c76329"
expect "pinned f16 weights" 0 "$MKGGUF" $SMALL --seed 1 --type f16 -o "$T/p16.gguf"
off=$(offset_of)
got=$(data_digest "$T/p16.gguf" "$off")
check "f16 data digest is the pinned one ($got)" test "$got" = "f0e1a1d5b47391f794388990c20c7617301d1a2e643c46822c1db147b902c048"

# The model `make` builds for the tests is the generator's output too, with
# the options mk/gguf.mk gives it.
TINY_ARGS=$(sed -n 's/^TINY_GGUF_ARGS *= *//p' "$TOP/mk/gguf.mk")
check "the test model exists" test -s "$BUILD/models/tiny.gguf"
check "mk/gguf.mk has TINY_GGUF_ARGS" test -n "$TINY_ARGS"
expect "tiny regenerated with the make rule's options" 0 "$MKGGUF" $TINY_ARGS --vocab "$VOCAB" -o "$T/tiny.gguf"
check "equals \$BUILD/models/tiny.gguf" cmp "$T/tiny.gguf" "$BUILD/models/tiny.gguf"
done_testing
