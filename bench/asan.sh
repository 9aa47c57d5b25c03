#!/bin/sh
# Build one of the package's C extensions with AddressSanitizer + UndefinedBehaviorSanitizer
# and run pytest against that build (tests/conftest.py puts it first on forensics' path).
#
#   sh bench/asan.sh MODULE [gcc flags ...] -- [pytest arguments ...]
#
# bench/ctdecode_asan.sh and bench/edges_asan.sh say which tests, for the two extensions.
set -eu
cd "$(dirname "$0")/.."
MODULE=$1
shift
FLAGS=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do FLAGS="$FLAGS $1"; shift; done
[ $# -gt 0 ] && shift
PY=${PY:-.venv/bin/python}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
INC=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
EXT=$($PY -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
# the module's C files: MODULE.c and any MODULE_*.c beside it
SOURCES="forensics/$MODULE.c"
for extra in forensics/"$MODULE"_*.c; do
    if [ -e "$extra" ]; then SOURCES="$SOURCES $extra"; fi
done
# shellcheck disable=SC2086 # FLAGS and SOURCES are words on purpose
gcc -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror \
    -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    $FLAGS -fPIC -shared -I"$INC" $SOURCES -o "$OUT/$MODULE$EXT"
export FORENSICS_CTDECODE_BUILD="$OUT"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONMALLOC=malloc
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    $PY -m pytest -q -p no:cacheprovider "$@"
