#!/bin/sh
# Run the C decoder's tests against an AddressSanitizer + UndefinedBehaviorSanitizer build
# of forensics/_ctdecode.c (parsing an exact-size copy of each input, so that reading one
# byte past the end shows), with 20,000 random mutations instead of 4,000; tests/test_ctbuilder.py
# drives the Builder across files (dictionaries, rollback, limits, threads).
#
#   bash bench/ctdecode_asan.sh            # from the repository, after the README's install
set -eu
export FORENSICS_MUTATIONS="${FORENSICS_MUTATIONS:-20000}"
exec sh "$(dirname "$0")/asan.sh" _ctdecode -DCTDECODE_TESTING -- \
    tests/test_ctdecode.py tests/test_ctbuilder.py tests/test_records.py "$@"
