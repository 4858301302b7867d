# Sourced by tests/shell_units.rs after a rendered script (REDKUBE_LIB_ONLY=1): the test's
# outside world. The fake redis-cli and getent in tests/shell/bin answer from files under
# $STUBS; the real node_cli, resolve, timeout and tr run on top of them.

# No waiting; the sleeps are recorded.
sleep() { echo "sleep $*" >> "$STUBS/calls"; }
# How many times the script slept.
sleeps() { touch "$STUBS/calls"; grep -c '^sleep' "$STUBS/calls"; }

# reply HOST PORT ARGS... -- REPLY...: what `redis-cli -h HOST -p PORT ARGS...` prints, call
# after call (the last repeats). A REPLY is a file of $FIXTURES (or an absolute path), `=TEXT`
# for that text, -no-answer- for a refused connection, or -hang- for a server that never answers.
reply() {
  key=""
  while [ "$1" != -- ]; do key="$key $1"; shift; done
  shift
  key=$(printf '%s' "${key# }" | tr -c 'A-Za-z0-9.-' '_')
  rm -f "$STUBS/replies/$key".*
  n=0
  for r in "$@"; do
    n=$((n + 1))
    case "$r" in
      =*) printf '%s\n' "${r#=}" > "$STUBS/replies/$key.$n" ;;
      -no-answer- | -hang-) printf '%s\n' "$r" > "$STUBS/replies/$key.$n" ;;
      /*) cp "$r" "$STUBS/replies/$key.$n" ;;
      *) cp "$FIXTURES/$r" "$STUBS/replies/$key.$n" ;;
    esac
  done
}

# dns NAME IP: what getent resolves NAME to.
dns() { printf '%s\n' "$2" > "$STUBS/dns/$1"; }

# The DNS name of pod N of the profile (the scripts' own pod_host).
pod() { pod_host "$1"; }
