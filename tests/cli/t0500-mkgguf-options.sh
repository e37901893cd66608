#!/bin/sh
# tools/mkgguf (the tiny-model generator): its command line. Every bad option
# is a usage error (exit 2) with a message naming it; unreadable inputs and
# unwritable outputs are I/O errors (exit 6) that leave no file behind.
. "$(dirname "$0")/lib.sh"
MKGGUF=$BUILD/tools/mkgguf
VOCAB=$TOP/deps/llama/vocab/ggml-vocab-llama-spm.gguf
# A small, quick shape for the cases that write a file.
SMALL="--layers 1 --embd 32 --heads 2 --ff 48"

expect "--help exits 0" 0 "$MKGGUF" --help && out_has "usage: mkgguf" && out_has "--kv-heads"
expect "no output is a usage error" 2 "$MKGGUF" && err_has "missing output file (-o OUT)"
expect "unknown long option" 2 "$MKGGUF" --frob -o "$T/x.gguf" && err_has "unknown option '--frob'"
expect "unknown short option" 2 "$MKGGUF" -z -o "$T/x.gguf" && err_has "unknown option '-z'"
expect "option without its value" 2 "$MKGGUF" -o "$T/x.gguf" --layers && err_has "option '--layers' needs a value"
expect "stray argument" 2 "$MKGGUF" -o "$T/x.gguf" extra && err_has "unexpected argument 'extra'"
expect "--layers 0" 2 "$MKGGUF" --layers 0 -o "$T/x.gguf" && err_has "option '--layers': '0' is not an integer in 1..4096"
expect "--embd not a number" 2 "$MKGGUF" --embd 6x4 -o "$T/x.gguf" && err_has "option '--embd': '6x4'"
expect "--seed negative" 2 "$MKGGUF" --seed -1 -o "$T/x.gguf" && err_has "option '--seed': '-1'"
expect "--seed too large" 2 "$MKGGUF" --seed 18446744073709551616 -o "$T/x.gguf" && err_has "option '--seed'"
expect "--type q4_0" 2 "$MKGGUF" --type q4_0 -o "$T/x.gguf" && err_has "option '--type': 'q4_0' is not f32 or f16"
expect "--embd not divisible by --heads" 2 "$MKGGUF" --embd 64 --heads 3 -o "$T/x.gguf" && err_has "--embd 64 is not a multiple of --heads 3"
expect "odd head size" 2 "$MKGGUF" --embd 36 --heads 4 -o "$T/x.gguf" && err_has "head size 9"
expect "--heads not divisible by --kv-heads" 2 "$MKGGUF" --heads 4 --kv-heads 3 -o "$T/x.gguf" && err_has "--heads 4 is not a multiple of --kv-heads 3"
check "usage errors wrote nothing" sh -c "! ls '$T'/x.gguf* 2>/dev/null"

expect "missing vocabulary" 6 "$MKGGUF" --vocab "$T/nope.gguf" -o "$T/x.gguf" && err_has "cannot read vocabulary '$T/nope.gguf'"
printf 'not a gguf file\n' >"$T/bad.gguf"
expect "vocabulary that is not GGUF" 6 "$MKGGUF" --vocab "$T/bad.gguf" -o "$T/x.gguf" && err_has "vocabulary '$T/bad.gguf': not a readable GGUF file"
expect "unwritable output" 6 "$MKGGUF" $SMALL --vocab "$VOCAB" -o "$T/no/such/dir/x.gguf" && err_has "cannot create '$T/no/such/dir/x.gguf.tmp'"

expect "--opt=value form and a summary line" 0 "$MKGGUF" --layers=1 --embd=32 --heads=2 --ff=48 --vocab="$VOCAB" -o "$T/ok.gguf" &&
	out_has "wrote '$T/ok.gguf':" && out_has "12 tensors, 32000 tokens" && err_empty
check "no temporary file is left" sh -c "test -s '$T/ok.gguf' && ! test -e '$T/ok.gguf.tmp'"
expect "-q prints nothing" 0 "$MKGGUF" -q $SMALL --vocab "$VOCAB" -o "$T/q.gguf"
check "-q output is empty" test ! -s "$OUT"
done_testing
