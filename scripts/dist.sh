#!/usr/bin/env bash
# The shipped binary: the `dist` profile (fat LTO, one codegen unit), then its debug info and
# symbols moved to `dss-lake.debug` beside it. The binary keeps a `.gnu_debuglink` to that file,
# so a backtrace names our functions, files and lines wherever the two sit together; without the
# file, a panic still names its own file and line. Prints both sizes.
#   scripts/dist.sh [OUT_DIR]     (default target/ship)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --profile dist --locked --bin dss-lake
out="${1:-target/ship}"
mkdir -p "$out"
# A copy, never in place: cargo's file is a hard link to its own artifact, which must keep its
# debug info for the next run to split again.
cp --remove-destination "${CARGO_TARGET_DIR:-target}/dist/dss-lake" "$out/dss-lake"
cd "$out"
objcopy --only-keep-debug dss-lake dss-lake.debug
strip --strip-all dss-lake
objcopy --add-gnu-debuglink=dss-lake.debug dss-lake
ls -l dss-lake dss-lake.debug
