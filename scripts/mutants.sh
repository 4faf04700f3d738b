#!/usr/bin/env bash
# Mutation testing of the lake (dss-lake-lake) and the decoder (dss-lake-frame) with a pinned
# cargo-mutants: each crate's mutants are tested by that crate's own tests (unit and integration,
# no doctests; settings in .cargo/mutants.toml), then a summary per crate: mutants tested,
# caught, missed, timeouts, unviable, the score caught/(caught+missed) and every missed mutant.
# Not run by CI; a full run of both crates takes a while (README, "Mutation testing").
#
#   scripts/mutants.sh                           # both crates, frame first
#   scripts/mutants.sh --crate lake             # one crate (frame|lake|import; repeatable)
#   scripts/mutants.sh --crate frame --file crates/frame/src/time.rs   # one file
#   scripts/mutants.sh --crate lake --shard 0/4 # a quarter of the crate's mutants
#   scripts/mutants.sh --crate frame --list      # just list the mutants
#   scripts/mutants.sh --summary target/mutants/frame   # summarise a finished or partial run
#
#   scripts/mutants.sh --crate lake --target-dir target --file crates/lake/src/commit.rs
#                                                # reuse the test build already in target/
#
# Options of its own: --crate NAME, --out DIR (outputs go to DIR/<crate>/mutants.out; default
# target/mutants), --jobs N (default 2), --summary DIR, --target-dir DIR (build in DIR with the
# dev profile, one mutant at a time: the dependencies `cargo test` already built there are
# reused instead of built again in each worker's copy, which takes the better part of an hour).
# Everything else (--file, --re, --exclude, --shard, --list, -v, ...) is passed to `cargo mutants`. Env: MUTANTS_NICE (default 19).
# Exits 0 when the runs completed, whatever the score; non-zero when cargo-mutants could not run
# (for example, the tests fail on the unmutated tree).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="27.1.0"
tools="${DSS_LAKE_TOOLS:-$repo/target/tools}"
bin="$tools/bin/cargo-mutants"

# Counts and lists one mutants.out directory (or its parent); works on a run still in progress.
summarise() {
    local out="$1" name="${2:-$1}"
    [[ -d "$out/mutants.out" ]] && out="$out/mutants.out"
    if [[ ! -d "$out" ]]; then
        echo "no mutants.out in $1" >&2
        return 1
    fi
    count() { if [[ -f "$out/$1" ]]; then grep -c . "$out/$1" || true; else echo 0; fi; }
    local caught missed timeout unviable tested score
    caught="$(count caught.txt)"
    missed="$(count missed.txt)"
    timeout="$(count timeout.txt)"
    unviable="$(count unviable.txt)"
    tested=$((caught + missed + timeout + unviable))
    if ((caught + missed > 0)); then
        score="$(awk -v c="$caught" -v m="$missed" 'BEGIN { printf "%.1f%%", 100 * c / (c + m) }')"
    else
        score="n/a"
    fi
    echo "== $name: $tested mutants tested: $caught caught, $missed missed, $timeout timeout, $unviable unviable; score caught/(caught+missed) = $score"
    if [[ -s "$out/previously_caught.txt" ]]; then
        echo "   (--iterate: $(count previously_caught.txt) more were caught or unviable in the earlier run and not tested again)"
    fi
    if [[ -f "$out/mutants.json" ]]; then
        local total
        total="$(grep -c '"name":' "$out/mutants.json" || true)"
        ((total > tested)) && echo "   (run incomplete: $tested of $total mutants have an outcome)"
    fi
    if ((missed > 0)); then
        echo "   missed:"
        sort -t: -k1,1 -k2,2n "$out/missed.txt" | sed 's/^/   /'
    fi
    if ((timeout > 0)); then
        echo "   timeout:"
        sort -t: -k1,1 -k2,2n "$out/timeout.txt" | sed 's/^/   /'
    fi
}

crates=()
out_base="$repo/target/mutants"
jobs=2
summary_only=""
warm_target=""
list=""
shard=""
pass=()
while (($#)); do
    case "$1" in
        --crate) crates+=("$2"); shift 2 ;;
        --crate=*) crates+=("${1#*=}"); shift ;;
        --out) out_base="$2"; shift 2 ;;
        --out=*) out_base="${1#*=}"; shift ;;
        --jobs | -j) jobs="$2"; shift 2 ;;
        --jobs=*) jobs="${1#*=}"; shift ;;
        --summary) summary_only="$2"; shift 2 ;;
        --target-dir) warm_target="$2"; shift 2 ;;
        --target-dir=*) warm_target="${1#*=}"; shift ;;
        --shard) shard="$2"; pass+=("$1" "$2"); shift 2 ;;
        --shard=*) shard="${1#*=}"; pass+=("$1"); shift ;;
        --list) list=1; pass+=("$1"); shift ;;
        -h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) pass+=("$1"); shift ;;
    esac
done

if [[ -n "$summary_only" ]]; then
    summarise "$summary_only"
    exit
fi
((${#crates[@]})) || crates=(frame lake import)

# The pinned cargo-mutants, built once into target/tools (crates.io source; no prebuilt binary).
if [[ ! -x "$bin" || "$("$bin" mutants --version 2>/dev/null)" != "cargo-mutants $version" ]]; then
    echo "installing cargo-mutants $version into $tools" >&2
    nice -n "${MUTANTS_NICE:-19}" cargo install --locked --quiet cargo-mutants --version "$version" --root "$tools" >&2
fi

# Every copy cargo-mutants builds in must have its own target dir (in the copy): a shared
# CARGO_TARGET_DIR would have parallel builds of different mutants overwrite each other. With
# --target-dir there is one worker, so one shared dir is safe (the copy's crates build under
# their own paths; only the dependencies are shared).
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
if [[ -n "$warm_target" ]]; then
    export CARGO_TARGET_DIR="$(cd "$warm_target" && pwd)"
    jobs=1
    pass+=(--profile dev)
fi
cd "$repo"

summaries=()
failed=0
for crate in "${crates[@]}"; do
    case "$crate" in
        frame | dss-lake-frame) crate=frame; package=dss-lake-frame ;;
        lake | dss-lake-lake) crate=lake; package=dss-lake-lake ;;
        import | dss-lake-import) crate=import; package=dss-lake-import ;;
        *) echo "unknown crate $crate (frame, lake or import)" >&2; exit 2 ;;
    esac
    if [[ -n "$list" ]]; then
        "$bin" mutants --package "$package" "${pass[@]}"
        continue
    fi
    out="$out_base/$crate${shard:+-shard-${shard//\//-of-}}"
    mkdir -p "$out"
    echo "== $package: cargo mutants, output in $out/mutants.out" >&2
    start=$SECONDS
    rc=0
    nice -n "${MUTANTS_NICE:-19}" "$bin" mutants --package "$package" --jobs "$jobs" \
        --output "$out" "${pass[@]}" || rc=$?
    elapsed=$((SECONDS - start))
    # 2: some mutants missed, 3: some timed out; both are results. Others mean no usable run.
    case "$rc" in
        0 | 2 | 3) ;;
        *) echo "cargo mutants failed for $package (exit $rc)" >&2; failed=1 ;;
    esac
    summaries+=("$(summarise "$out" "$package" || true)
   run time: $((elapsed / 60))m$((elapsed % 60))s")
done

for s in "${summaries[@]}"; do
    echo
    echo "$s"
done
exit "$failed"
