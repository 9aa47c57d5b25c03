#!/bin/sh
# Run the C decoder's tests against an AddressSanitizer + UndefinedBehaviorSanitizer build
# of forensics/_ctdecode.c (parsing an exact-size copy of each input, so that reading one
# byte past the end shows), with 20,000 random mutations instead of 4,000; tests/test_ctbuilder.py
# drives the Builder across files (dictionaries, rollback, limits, threads).
#
#   bash bench/ctdecode_asan.sh            # from the repository, after the README's install
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
INC=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
EXT=$($PY -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
gcc -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror \
    -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -DCTDECODE_TESTING -fPIC -shared -I"$INC" forensics/_ctdecode.c -o "$OUT/_ctdecode$EXT"
export FORENSICS_CTDECODE_BUILD="$OUT"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONMALLOC=malloc
export FORENSICS_MUTATIONS="${FORENSICS_MUTATIONS:-20000}"
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    $PY -m pytest -q -p no:cacheprovider tests/test_ctdecode.py tests/test_ctbuilder.py tests/test_records.py "$@"
