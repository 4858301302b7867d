#!/usr/bin/env bash
# Generate the benchmark profiles: the bundled cluster profiles with only `masters` changed.
#
#   bash bench/gen-profiles.sh OUTDIR MASTERS...
#
# writes OUTDIR/nfs-PODS.toml and OUTDIR/claim-PODS.toml for each MASTERS (PODS = MASTERS x 2,
# one replica per master). The NFS profile's path uses `{ordinal}`, so it renders one
# PersistentVolume per pod: the part of the output that grows with the cluster. The claim
# profile uses a StorageClass through volumeClaimTemplates, so its output hardly grows.
#
# The bundled profiles are the base so the benchmark follows them as they change; every edit
# is checked, so a change that breaks the substitution fails loudly instead of benchmarking
# the wrong thing.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:?usage: gen-profiles.sh OUTDIR MASTERS...}
shift
[ "$#" -gt 0 ] || { echo "gen-profiles.sh: no MASTERS given" >&2; exit 2; }
mkdir -p "$out"

die() { echo "gen-profiles.sh: $*" >&2; exit 1; }

# gen BASE-PROFILE KIND MASTERS: prints the file it wrote.
gen() {
    local base=$1 kind=$2 masters=$3 file
    file=$out/$kind-$((masters * 2)).toml
    sed -e "s/^masters = [0-9]*$/masters = $masters/" \
        -e 's/{ordinal+1}/{ordinal}/' "$base" >"$file"
    grep -qx "masters = $masters" "$file" || die "$base: no \`masters = N\` line to replace"
    grep -qx "replicas-per-master = 1" "$file" || die "$base: expected replicas-per-master = 1"
    grep -qx "kind = \"$kind\"" "$file" || die "$base: expected storage kind = \"$kind\""
    if [ "$kind" = nfs ]; then
        grep -q '^path = ".*{ordinal}' "$file" || die "$base: the NFS path has no {ordinal}"
    fi
    echo "$file"
}

for masters in "$@"; do
    [[ $masters =~ ^[0-9]+$ ]] || die "not a number of masters: $masters"
done
# All NFS sizes, then all claim sizes: the order of the rows in the results.
for masters in "$@"; do gen profiles/cluster-nfs.toml nfs "$masters"; done
for masters in "$@"; do gen profiles/cluster-storageclass.toml claim "$masters"; done
