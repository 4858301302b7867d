#!/usr/bin/env bash
# Independent judges of redkube's output: tools that redkube's own code and tests don't use, so
# a mistake shared by the renderer and its snapshots still gets caught.
#
#   .ci/judges.sh BINARY          (BINARY: a built redkube, e.g. target/debug/redkube)
#
# Every profiles/*.toml is rendered in both output forms:
#   stdout  `BINARY render P > file`  (one multi-document YAML stream)
#   folder  `BINARY render P -o DIR`  (one file per concern + kustomization.yaml)
# and both go through four gates:
#   1 kubernetes-validate  strict schema validation against several Kubernetes versions
#   2 kustomize            `kubectl kustomize` builds the folder (and equals the stdout form),
#                          and a typical user overlay (tests/kustomize/overlay) builds on it
#   3 checkov              zero failed checks; the only tolerated failure is CKV_K8S_43 (image
#                          digest) for a profile whose image reference has no @sha256: digest
#   4 yamllint             the committed .yamllint.yaml, strict (warnings fail too)
# Each run's time is printed, then per-gate totals, then a summary of the failures with their
# first lines. Exit status 0 only if every gate passed for every profile and form.
#
# The Python tools live in a venv (.venv-judges, or $JUDGES_VENV) installed from the pinned
# .ci/judges-requirements.txt on first use; CI starts on a clean machine. It is reused as long
# as the requirements file is unchanged. JUDGES_KEEP=1 keeps the work directory for debugging.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB="$REPO/.ci/lib/judges.py"
OVERLAY_FIXTURE="$REPO/tests/kustomize/overlay"
YAMLLINT_CONFIG="$REPO/.yamllint.yaml"
REQUIREMENTS="$REPO/.ci/judges-requirements.txt"
VENV="${JUDGES_VENV:-$REPO/.venv-judges}"

# Kubernetes versions to validate against: the oldest supported, the one redkube's k8s-openapi
# types come from, the newest. kubernetes-validate 1.37.0 ships schemas for 1.25 .. 1.37.
# JUDGES_K8S_VERSIONS="1.29 1.33 1.37" overrides the list (space-separated).
read -ra K8S_VERSIONS <<< "${JUDGES_K8S_VERSIONS:-1.29 1.33 1.37}"
# Profiles with `auth.password-env` need the variable at render time. The gates judge the
# manifests' shape, not the password, so a fixed dummy is used (long enough for redkube's
# minimum of 16 characters) and whatever the caller's environment holds is ignored.
DUMMY_PASSWORD="judges-dummy-password-not-a-secret"
# How many lines of a failure the final summary shows.
EXCERPT_LINES=20
# Upper bound, in seconds, on any one tool run (a render, a checkov scan, ...): a hang fails
# that gate instead of eating CI's budget. Normal runs take 0.1-4 s.
TOOL_TIMEOUT=300

usage() { echo "usage: $0 BINARY   (a built redkube, e.g. target/debug/redkube)" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
BIN=$1
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
[ -x "$BIN" ] || { echo "judges: $BIN is not an executable file" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redkube-judges.XXXXXX")
if [ "${JUDGES_KEEP:-0}" = 1 ]; then
  trap 'echo "judges: work directory kept: $WORK"' EXIT
else
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/logs"

# A notice that must not scroll by unnoticed in a CI log. Also repeated in the final summary.
NOTICES=()
loud() {
  NOTICES+=("$*")
  printf '\n%s\n!!! %s\n%s\n\n' "$(printf '!%.0s' {1..78})" "$*" "$(printf '!%.0s' {1..78})"
}

# ---- timing and bookkeeping ---------------------------------------------------------------
# EPOCHREALTIME (bash >= 5) is seconds with 6 decimals; strip the separator (locale-dependent)
# to get microseconds as an integer.
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
fmt_secs() { printf '%d.%02d' "$(($1 / 1000000))" "$((($1 % 1000000) / 10000))"; }

GATES=(render kubernetes-validate kustomize checkov yamllint)
declare -A GATE_US=() GATE_RUNS=()
for g in "${GATES[@]}"; do GATE_US[$g]=0; GATE_RUNS[$g]=0; done
FAILURES=()   # "gate|profile|form|log"
PASSES=0

# run_gate GATE PROFILE FORM COMMAND...: run one gate on one profile/form, its output into a log,
# timed. Gate functions report problems on stdout and return non-zero; with `set -e` suspended
# inside the `if` they must (and do) check every step's status themselves.
run_gate() {
  local gate=$1 profile=$2 form=$3
  shift 3
  local log="$WORK/logs/$gate.$profile.$form.log" t0 us status
  t0=$(now_us)
  if "$@" > "$log" 2>&1; then status=PASS; PASSES=$((PASSES + 1)); else status=FAIL; fi
  us=$(($(now_us) - t0))
  GATE_US[$gate]=$((GATE_US[$gate] + us))
  GATE_RUNS[$gate]=$((GATE_RUNS[$gate] + 1))
  printf '  %-4s  %-20s %-24s %-8s %6ss\n' "$status" "$gate" "$profile" "$form" "$(fmt_secs "$us")"
  if [ "$status" = FAIL ]; then
    FAILURES+=("$gate|$profile|$form|$log")
    return 1
  fi
}

# ---- the venv ------------------------------------------------------------------------------
setup_venv() {
  local stamp_file="$VENV/.judges-requirements.sha256" want
  want=$(sha256sum < "$REQUIREMENTS" | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/checkov" ] && [ -x "$VENV/bin/yamllint" ] &&
     [ -x "$VENV/bin/kubernetes-validate" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$want" ]; then
    echo "venv: $VENV is up to date with $(basename "$REQUIREMENTS")"
    return 0
  fi
  command -v python3 >/dev/null || { loud "python3 is missing: cannot install the judges' tools"; return 1; }
  # tomllib (profile-info) is standard library from 3.11 on.
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { loud "python3 >= 3.11 is required, found $(python3 --version 2>&1)"; return 1; }
  echo "venv: installing $(basename "$REQUIREMENTS") into $VENV (clean machine: ~30-60s)"
  # (Called under `if`, so set -e is off here: every step is checked, and the stamp that
  # marks the venv complete is written last.)
  rm -rf "$VENV"
  python3 -m venv "$VENV" || return 1
  # Bounded: a hung index must not eat CI's whole budget.
  timeout 900 "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
    -r "$REQUIREMENTS" || return 1
  echo "$want" > "$stamp_file"
}

# ---- rendering -----------------------------------------------------------------------------
# render_form PROFILE_PATH OUT FORM: FORM "stdout" writes OUT as a file, "folder" as a directory.
render_form() {
  local profile=$1 out=$2 form=$3 info env_name
  info=$("$VENV/bin/python" "$LIB" profile-info "$profile") || { echo "$info"; return 1; }
  env_name=$(sed -n 's/^password_env=//p' <<< "$info")
  local -a cmd=(timeout "$TOOL_TIMEOUT" env)
  [ -n "$env_name" ] && cmd+=("$env_name=$DUMMY_PASSWORD")
  cmd+=("$BIN" render "$profile")
  if [ "$form" = stdout ]; then
    "${cmd[@]}" > "$out" || { echo "exit status $? from: $BIN render $profile"; return 1; }
    [ -s "$out" ] || { echo "rendered nothing"; return 1; }
  else
    "${cmd[@]}" -o "$out" || { echo "exit status $? from: $BIN render $profile -o DIR"; return 1; }
    [ -f "$out/kustomization.yaml" ] || { echo "no kustomization.yaml in the folder"; ls -la "$out"; return 1; }
  fi
}

# The manifest files of a rendered folder: everything but the kustomization, which is not a
# Kubernetes object (gate 2 judges it).
folder_manifests() {
  find "$1" -type f \( -name '*.yaml' -o -name '*.yml' \) \
    ! -name kustomization.yaml ! -name kustomization.yml | sort
}

# ---- gate 1: kubernetes-validate ------------------------------------------------------------
KV_VERSIONS=()
resolve_k8s_versions() {
  local -a shipped
  mapfile -t shipped < <("$VENV/bin/python" "$LIB" k8s-versions)
  [ "${#shipped[@]}" -gt 0 ] || { loud "kubernetes-validate reports no schema versions at all"; return 1; }
  local oldest=${shipped[0]} newest=${shipped[-1]} v use
  echo "kubernetes-validate $("$VENV/bin/kubernetes-validate" --version) ships schemas for $oldest .. $newest"
  for v in "${K8S_VERSIONS[@]}"; do
    use=$v
    if ! printf '%s\n' "${shipped[@]}" | grep -qxF "$v"; then
      # Never let the tool pick silently: it quietly falls back to an older schema for a newer
      # request, and errors on an older one. Say loudly which schema stands in.
      if [ "$(printf '%s\n%s\n' "$v" "$newest" | sort -V | tail -n1)" = "$v" ]; then
        use=$newest
      else
        use=$oldest
      fi
      loud "kubernetes-validate ships no schemas for Kubernetes $v: validating against $use instead"
    fi
    printf '%s\n' "${KV_VERSIONS[@]}" | grep -qxF "$use" || KV_VERSIONS+=("$use")
  done
  echo "validating against Kubernetes ${KV_VERSIONS[*]}"
}

# gate_validate FILE...: strict schemas, every document validated against every version.
# kubernetes-validate exits 0 when it only *warns* (an apiVersion removed from that Kubernetes
# version, or a kind it has no schema for), so its exit status is not enough: every output line
# must be an INFO "passed" line, any WARN (any case), ERROR or FATAL line fails, and the count of
# passed lines must be documents x versions, so nothing is skipped in silence.
gate_validate() {
  local raw="$WORK/kv.out" rc=0 docs expected passed
  local -a args=(--strict)
  for v in "${KV_VERSIONS[@]}"; do args+=(-k "$v"); done
  docs=$("$VENV/bin/python" "$LIB" count-docs "$@") || { echo "$docs"; return 1; }
  timeout "$TOOL_TIMEOUT" "$VENV/bin/kubernetes-validate" "${args[@]}" "$@" > "$raw" 2>&1 || rc=$?
  expected=$((docs * ${#KV_VERSIONS[@]}))
  passed=$(grep -c '^INFO .* passed for resource ' "$raw" || true)
  if [ "$rc" -ne 0 ] || grep -qv '^INFO ' "$raw" || [ "$passed" -ne "$expected" ]; then
    grep -v '^INFO ' "$raw" || true
    echo "exit status $rc; $passed of $expected document validations passed" \
      "($docs documents x ${#KV_VERSIONS[@]} versions)"
    return 1
  fi
  echo "$docs documents valid against Kubernetes ${KV_VERSIONS[*]} (strict)"
}

# ---- gate 2: kustomize -----------------------------------------------------------------------
have_kubectl() {
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "kubectl is not installed: the kustomize gate cannot run (it needs \`kubectl kustomize\`)"
    return 1
  fi
}

# kustomize_build DIR OUT: build, treating any stderr output (kustomize's deprecation warnings)
# as a failure, since everything built here is ours.
kustomize_build() {
  local err="$WORK/kustomize.err"
  if ! timeout "$TOOL_TIMEOUT" kubectl kustomize "$1" > "$2" 2> "$err"; then
    cat "$err"; echo "kubectl kustomize $1 failed"; return 1
  fi
  if [ -s "$err" ]; then cat "$err"; echo "kubectl kustomize $1 printed warnings"; return 1; fi
}

# gate_kustomize_folder FOLDER STDOUT_FILE BUILD_OUT: the folder builds, and holds exactly the
# objects of the stdout form (a file missing from kustomization.yaml would vanish on apply -k).
gate_kustomize_folder() {
  have_kubectl || return 1
  kustomize_build "$1" "$3" || return 1
  "$VENV/bin/python" "$LIB" same-objects "$2" "$3"
}

# gate_kustomize_overlay FOLDER BASE_BUILD TREE: the overlay fixture, with the rendered folder
# copied to the ../base it refers to, builds and does what it says (see check-overlay).
gate_kustomize_overlay() {
  local folder=$1 base_build=$2 tree=$3
  have_kubectl || return 1
  [ -s "$base_build" ] || { echo "the folder itself did not build; see the folder row"; return 1; }
  rm -rf "$tree" && mkdir -p "$tree"
  cp -R "$folder" "$tree/base"
  cp -R "$OVERLAY_FIXTURE" "$tree/overlay"
  kustomize_build "$tree/overlay" "$tree/overlay.yaml" || return 1
  "$VENV/bin/python" "$LIB" check-overlay "$base_build" "$tree/overlay.yaml" "$tree/overlay"
}

# ---- gate 3: checkov -------------------------------------------------------------------------
# One checkov process per profile and form, never one scan of everything: checkov links a
# NetworkPolicy to pods by labels alone, ignoring namespaces and files, so in a combined scan one
# profile's NetworkPolicy could cover another profile's pods (CKV2_K8S_6) and hide a failure.
#
# gate_checkov TARGET ALLOWED: TARGET a file (-f) or a folder (-d); ALLOWED the comma-separated
# check ids whose failures are tolerated ("" or CKV_K8S_43, decided per profile by
# profile-info: tolerated only when the profile's image reference has no @sha256: digest).
# Nothing is passed to --skip-check, ever: the exception is applied to checkov's full report.
gate_checkov() {
  local target=$1 allowed=$2 report="$WORK/checkov.json" err="$WORK/checkov.err" rc=0 mode=-f
  if [ -d "$target" ]; then
    mode=-d
    # checkov reads .checkov.yaml from the scanned folder: a rendered one could skip checks.
    if compgen -G "$target/.checkov.y*ml" > /dev/null; then
      echo "the rendered folder contains a checkov config file"; return 1
    fi
  fi
  # Isolated: checkov also takes config from $PWD/.checkov.yaml, ~/.checkov.yaml and
  # environment variables (CKV_SKIP_CHECK, CKV_FRAMEWORK, ...; HELM_NAMESPACE even makes
  # CKV_K8S_21 "default namespace" pass). An empty environment and a fresh HOME/cwd rule that
  # out. --skip-download and no update check: no network.
  mkdir -p "$WORK/checkov-home"
  (cd "$WORK/checkov-home" &&
    timeout "$TOOL_TIMEOUT" env -i PATH="$PATH" HOME="$WORK/checkov-home" LANG=C.UTF-8 \
      CKV_SKIP_PACKAGE_UPDATE_CHECK=true \
      "$VENV/bin/checkov" --framework kubernetes --skip-download --output json \
      "$mode" "$target" > "$report" 2> "$err") || rc=$?
  # 0: nothing failed, 1: some check failed; anything else is checkov itself failing.
  if [ "$rc" -gt 1 ]; then tail -n 20 "$err"; echo "checkov exited with status $rc"; return 1; fi
  "$VENV/bin/python" "$LIB" checkov-verdict "$report" "$allowed"
}

# ---- gate 4: yamllint ------------------------------------------------------------------------
gate_yamllint() {
  timeout "$TOOL_TIMEOUT" "$VENV/bin/yamllint" --strict --format parsable --config-file "$YAMLLINT_CONFIG" "$@" ||
    { echo "yamllint: problems above (config: .yamllint.yaml, --strict)"; return 1; }
  echo "yamllint: $# file(s) clean"
}

# ---- main ------------------------------------------------------------------------------------
echo "== redkube judges: $BIN"
t_setup=$(now_us)
if ! setup_venv; then
  loud "could not install the judges' Python tools into $VENV"
  exit 1
fi
echo "venv ready in $(fmt_secs $(($(now_us) - t_setup)))s:" \
  "checkov $("$VENV/bin/checkov" --version 2>/dev/null | tail -n1)," \
  "$("$VENV/bin/yamllint" --version)," \
  "kubernetes-validate $("$VENV/bin/kubernetes-validate" --version)"
if command -v kubectl >/dev/null 2>&1; then
  echo "kubectl: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"
else
  loud "kubectl is NOT installed: gate 2 (kustomize) fails for every profile"
fi
resolve_k8s_versions || exit 1

mapfile -t PROFILES < <(find "$REPO/profiles" -maxdepth 1 -type f -name '*.toml' | sort)
if [ "${#PROFILES[@]}" -eq 0 ]; then
  loud "no profiles/*.toml to judge"
  exit 1
fi
echo "profiles: ${#PROFILES[@]}"
printf '\n  %-4s  %-20s %-24s %-8s %7s\n' "" gate profile form time

for profile in "${PROFILES[@]}"; do
  name=$(basename "$profile" .toml)
  dir="$WORK/$name"
  mkdir -p "$dir"
  stdout_file="$dir/stdout.yaml"
  folder="$dir/folder"
  base_build="$dir/folder-built.yaml"

  # The digest exception, decided from the profile itself (see profile_info in judges.py).
  allowed=""
  if info=$("$VENV/bin/python" "$LIB" profile-info "$profile" 2> /dev/null) &&
     grep -qx 'image_pinned=false' <<< "$info"; then
    allowed=CKV_K8S_43
  fi

  rendered_stdout=0 rendered_folder=0
  run_gate render "$name" stdout render_form "$profile" "$stdout_file" stdout && rendered_stdout=1
  run_gate render "$name" folder render_form "$profile" "$folder" folder && rendered_folder=1

  if [ "$rendered_stdout" = 1 ]; then
    run_gate kubernetes-validate "$name" stdout gate_validate "$stdout_file" || true
    run_gate checkov "$name" stdout gate_checkov "$stdout_file" "$allowed" || true
    run_gate yamllint "$name" stdout gate_yamllint "$stdout_file" || true
  fi
  if [ "$rendered_folder" = 1 ]; then
    mapfile -t manifests < <(folder_manifests "$folder")
    mapfile -t all_yaml < <(find "$folder" -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
    run_gate kubernetes-validate "$name" folder gate_validate "${manifests[@]}" || true
    if [ "$rendered_stdout" = 1 ]; then
      run_gate kustomize "$name" folder gate_kustomize_folder "$folder" "$stdout_file" "$base_build" || true
    else
      run_gate kustomize "$name" folder kustomize_build "$folder" "$base_build" || true
    fi
    run_gate kustomize "$name" overlay gate_kustomize_overlay "$folder" "$base_build" "$dir/overlay-tree" || true
    run_gate checkov "$name" folder gate_checkov "$folder" "$allowed" || true
    run_gate yamllint "$name" folder gate_yamllint "${all_yaml[@]}" || true
  fi
  [ -z "$allowed" ] ||
    echo "        note: $name's image has no @sha256: digest: CKV_K8S_43 is tolerated for it"
done

# The repo's own YAML is judged by the same yamllint config.
run_gate yamllint "(repo)" fixtures gate_yamllint "$YAMLLINT_CONFIG" "$OVERLAY_FIXTURE"/*.yaml || true

# ---- summary ---------------------------------------------------------------------------------
echo
echo "== gate runtimes"
total_us=0
for g in "${GATES[@]}"; do
  printf '  %-20s %3d run(s) %8ss\n' "$g" "${GATE_RUNS[$g]}" "$(fmt_secs "${GATE_US[$g]}")"
  total_us=$((total_us + GATE_US[$g]))
done
printf '  %-20s %12s %8ss\n' total "" "$(fmt_secs "$total_us")"

for n in "${NOTICES[@]}"; do echo "!!! NOTICE: $n"; done

if [ "${#FAILURES[@]}" -gt 0 ]; then
  echo
  echo "== ${#FAILURES[@]} failed gate run(s)"
  for f in "${FAILURES[@]}"; do
    IFS='|' read -r gate profile form log <<< "$f"
    echo
    echo "-- $gate / $profile / $form"
    head -n "$EXCERPT_LINES" "$log" | sed 's/^/   | /'
    lines=$(wc -l < "$log")
    [ "$lines" -le "$EXCERPT_LINES" ] || echo "   | ... ($((lines - EXCERPT_LINES)) more lines)"
  done
  echo
  echo "judges: $PASSES passed, ${#FAILURES[@]} failed"
  exit 1
fi
echo
echo "judges: $PASSES passed, 0 failed"
