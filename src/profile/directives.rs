//! The redis.conf directives of the supported Redis versions, as data: each directive's names,
//! how Redis reads its arguments, whether it may repeat, and the first version that knows it.
//!
//! The table is Redis 7.0's `static_configs` (every `CONFIG GET *` parameter of 7.0.15, plus the
//! hidden test knobs), the directives only a file can hold (`include`, `rename-command`,
//! `loadmodule`, `user`), the names 7.0 still accepts and ignores, and what 7.2 and 7.4 added.
//! Valkey 7.2 is Redis 7.2.4; Valkey 8.0 keeps every one of these names. Ranges and grammars are
//! those of Redis 7.0's `config.c`, checked against a running `redis-server` 7.0.15 (the unit
//! tests below keep that server's answers); where a later version narrowed a range
//! (`maxmemory-samples`), the narrower one is used.
//!
//! [`split_args`] splits a value the way Redis splits a configuration line (`sdssplitargs`), and
//! [`check_args`] reads the arguments the way the directive's setter does, so a value that
//! passes here is one the server accepts.

use std::fmt;

use super::quantity::parse_redis_memory;

/// A Redis release line, major and minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub(crate) u8, pub(crate) u8);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

pub(crate) const V7_0: Version = Version(7, 0);
pub(crate) const V7_2: Version = Version(7, 2);
pub(crate) const V7_4: Version = Version(7, 4);

/// How Redis reads a directive's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `yes` or `no` (any case).
    Bool,
    /// A decimal integer as Redis's `string2ll` reads it: an optional `-`, no `+`, no leading
    /// zero, no unit.
    Int { min: i64, max: i64 },
    /// An octal integer (`unixsocketperm`).
    Octal { max: i64 },
    /// A memory size: a whole number with an optional unit `b`, `k`, `kb`, `m`, `mb`, `g`, `gb`.
    Memory { min: u64, max: u64 },
    /// A memory size, or a percentage of `maxmemory` written `N%` (`maxmemory-clients`).
    MemoryOrPercent,
    /// One of these words (any case).
    Enum(&'static [&'static str]),
    /// One or more of these words (any case), as separate arguments.
    Flags(&'static [&'static str]),
    /// Any one argument; `""` is the empty string.
    Text,
    /// A host name: letters, digits, `-` and `.`, or `""`.
    Hostname,
    /// `proc-title-template`: text with `{variables}`.
    ProcTitle,
    /// `notify-keyspace-events`: event class letters.
    KeyspaceEvents,
    /// `save`: pairs of seconds and changes, or `""`.
    SavePoints,
    /// `client-output-buffer-limit`: groups of class, hard limit, soft limit, soft seconds.
    ClientOutputBufferLimit,
    /// `oom-score-adj-values`: three integers from -2000 to 2000.
    OomScoreAdjValues,
    /// `latency-tracking-info-percentiles`: numbers from 0 to 100, or nothing.
    Percentiles,
    /// `bind`: up to 16 addresses.
    Addresses,
    /// `replicaof`: a host and a port, or `no one`.
    ReplicaOf,
    /// `rename-command`: a command and its new name (`""` removes the command).
    RenameCommand,
    /// `loadmodule`: a path and the module's arguments.
    Module,
    /// `include`: one path.
    Include,
    /// `user`: a name and ACL rules.
    User,
    /// Accepted with one argument, and ignored (names 7.0 dropped).
    Ignored,
}

/// Where a directive comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A configuration parameter: `CONFIG GET` lists it.
    Config,
    /// A parameter `CONFIG GET *` hides: a knob of Redis's own test suite.
    Hidden,
    /// Only a configuration file can hold it; it is no parameter.
    FileOnly,
    /// Accepted and ignored since 7.0.
    Deprecated,
}

/// One directive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Directive {
    /// The name `CONFIG GET` reports.
    pub(crate) name: &'static str,
    /// Other names of the same setting (`slave-*` for `replica-*`, old encodings).
    pub(crate) aliases: &'static [&'static str],
    pub(crate) kind: Kind,
    /// Whether one file may hold it on several lines, each adding to the setting (a list value
    /// in `extra-config`); for the others a later line replaces an earlier one.
    pub(crate) repeat: bool,
    /// The first Redis version that knows it (7.0 for everything 7.0 has).
    pub(crate) since: Version,
    pub(crate) class: Class,
}

impl Directive {
    /// Every name of this directive, the canonical one first.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

const fn d(name: &'static str, kind: Kind) -> Directive {
    Directive {
        name,
        aliases: &[],
        kind,
        repeat: false,
        since: V7_0,
        class: Class::Config,
    }
}

impl Directive {
    const fn alias(self, aliases: &'static [&'static str]) -> Self {
        Directive { aliases, ..self }
    }
    const fn since(self, since: Version) -> Self {
        Directive { since, ..self }
    }
    const fn repeat(self) -> Self {
        Directive {
            repeat: true,
            ..self
        }
    }
    const fn class(self, class: Class) -> Self {
        Directive { class, ..self }
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const MB: u64 = 1024 * 1024;
const LONG_MAX_U: u64 = i64::MAX as u64;

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn mem(min: u64, max: u64) -> Kind {
    Kind::Memory { min, max }
}

const BOOL: Kind = Kind::Bool;
const TEXT: Kind = Kind::Text;
/// `no`, `yes`, `local`: who may use a protected command or configuration.
const PROTECTED_ACTION: Kind = Kind::Enum(&["no", "yes", "local"]);
const SHUTDOWN_FLAGS: Kind = Kind::Flags(&["default", "save", "nosave", "now", "force"]);

/// Every directive of Redis 7.0, 7.2 and 7.4, in the order of Redis's `config.c`.
pub(crate) const DIRECTIVES: &[Directive] = &[
    // Yes/no.
    d("rdbchecksum", BOOL),
    d("daemonize", BOOL),
    d("io-threads-do-reads", BOOL),
    d("always-show-logo", BOOL),
    d("protected-mode", BOOL),
    d("rdbcompression", BOOL),
    d("rdb-del-sync-files", BOOL),
    d("activerehashing", BOOL),
    d("stop-writes-on-bgsave-error", BOOL),
    d("set-proc-title", BOOL),
    d("dynamic-hz", BOOL),
    d("lazyfree-lazy-eviction", BOOL),
    d("lazyfree-lazy-expire", BOOL),
    d("lazyfree-lazy-server-del", BOOL),
    d("lazyfree-lazy-user-del", BOOL),
    d("lazyfree-lazy-user-flush", BOOL),
    d("repl-disable-tcp-nodelay", BOOL),
    d("repl-diskless-sync", BOOL),
    d("aof-rewrite-incremental-fsync", BOOL),
    d("no-appendfsync-on-rewrite", BOOL),
    d("cluster-require-full-coverage", BOOL),
    d("rdb-save-incremental-fsync", BOOL),
    d("aof-load-truncated", BOOL),
    d("aof-use-rdb-preamble", BOOL),
    d("aof-timestamp-enabled", BOOL),
    d("cluster-replica-no-failover", BOOL).alias(&["cluster-slave-no-failover"]),
    d("replica-lazy-flush", BOOL).alias(&["slave-lazy-flush"]),
    d("replica-serve-stale-data", BOOL).alias(&["slave-serve-stale-data"]),
    d("replica-read-only", BOOL).alias(&["slave-read-only"]),
    d("replica-ignore-maxmemory", BOOL).alias(&["slave-ignore-maxmemory"]),
    d("jemalloc-bg-thread", BOOL),
    d("activedefrag", BOOL),
    d("syslog-enabled", BOOL),
    d("cluster-enabled", BOOL),
    d("appendonly", BOOL),
    d("cluster-allow-reads-when-down", BOOL),
    d("cluster-allow-pubsubshard-when-down", BOOL),
    d("crash-log-enabled", BOOL),
    d("crash-memcheck-enabled", BOOL),
    d("use-exit-on-panic", BOOL).class(Class::Hidden),
    d("disable-thp", BOOL),
    d("cluster-allow-replica-migration", BOOL),
    d("replica-announced", BOOL),
    d("latency-tracking", BOOL),
    d("aof-disable-auto-gc", BOOL),
    d("replica-ignore-disk-write-errors", BOOL),
    d("hide-user-data-from-log", BOOL).since(V7_4),
    // Strings.
    d("aclfile", TEXT),
    d("unixsocket", TEXT),
    d("pidfile", TEXT),
    d("replica-announce-ip", TEXT).alias(&["slave-announce-ip"]),
    d("masteruser", TEXT),
    d("cluster-announce-ip", TEXT),
    d("cluster-config-file", TEXT),
    d("cluster-announce-hostname", Kind::Hostname),
    d("cluster-announce-human-nodename", TEXT).since(V7_2),
    d("syslog-ident", TEXT),
    d("dbfilename", TEXT),
    d("appendfilename", TEXT),
    d("appenddirname", TEXT),
    d("server_cpulist", TEXT),
    d("bio_cpulist", TEXT),
    d("aof_rewrite_cpulist", TEXT),
    d("bgsave_cpulist", TEXT),
    d("ignore-warnings", TEXT),
    d("proc-title-template", Kind::ProcTitle),
    d("bind-source-addr", TEXT),
    d("logfile", TEXT),
    d("locale-collate", TEXT).since(V7_2),
    d("masterauth", TEXT),
    d("requirepass", TEXT),
    // Enumerations.
    d(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
    ),
    d(
        "syslog-facility",
        Kind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
    ),
    d(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
    ),
    // `nothing` is 7.2's (see NEWER_VALUES).
    d(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
    ),
    d(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
    ),
    d("appendfsync", Kind::Enum(&["everysec", "always", "no"])),
    d(
        "oom-score-adj",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
    ),
    d(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
    ),
    d(
        "sanitize-dump-payload",
        Kind::Enum(&["no", "yes", "clients"]),
    ),
    d("enable-protected-configs", PROTECTED_ACTION),
    d("enable-debug-command", PROTECTED_ACTION),
    d("enable-module-command", PROTECTED_ACTION),
    d(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
    ),
    d(
        "propagation-error-behavior",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
    ),
    d("shutdown-on-sigint", SHUTDOWN_FLAGS),
    d("shutdown-on-sigterm", SHUTDOWN_FLAGS),
    // Integers.
    d("databases", int(1, INT_MAX)),
    d("port", int(0, 65535)),
    d("io-threads", int(1, 128)),
    d("auto-aof-rewrite-percentage", int(0, INT_MAX)),
    d("cluster-replica-validity-factor", int(0, INT_MAX)).alias(&["cluster-slave-validity-factor"]),
    d("list-max-listpack-size", int(INT_MIN, INT_MAX)).alias(&["list-max-ziplist-size"]),
    d("tcp-keepalive", int(0, INT_MAX)),
    d("cluster-migration-barrier", int(0, INT_MAX)),
    d("active-defrag-cycle-min", int(1, 99)),
    d("active-defrag-cycle-max", int(1, 99)),
    d("active-defrag-threshold-lower", int(0, 1000)),
    d("active-defrag-threshold-upper", int(0, 1000)),
    d("lfu-log-factor", int(0, INT_MAX)),
    d("lfu-decay-time", int(0, INT_MAX)),
    d("replica-priority", int(0, INT_MAX)).alias(&["slave-priority"]),
    d("repl-diskless-sync-delay", int(0, INT_MAX)),
    // 7.0 takes up to INT_MAX; Valkey 8 caps it at 64 (the eviction pool is 16).
    d("maxmemory-samples", int(1, 64)),
    d("maxmemory-eviction-tenacity", int(0, 100)),
    d("timeout", int(0, INT_MAX)),
    d("replica-announce-port", int(0, 65535)).alias(&["slave-announce-port"]),
    d("tcp-backlog", int(0, INT_MAX)),
    d("cluster-port", int(0, 65535)),
    d("cluster-announce-bus-port", int(0, 65535)),
    d("cluster-announce-port", int(0, 65535)),
    d("cluster-announce-tls-port", int(0, 65535)),
    d("repl-timeout", int(1, INT_MAX)),
    d("repl-ping-replica-period", int(1, INT_MAX)).alias(&["repl-ping-slave-period"]),
    d("list-compress-depth", int(0, INT_MAX)),
    d("rdb-key-save-delay", int(INT_MIN, INT_MAX)).class(Class::Hidden),
    d("key-load-delay", int(INT_MIN, INT_MAX)).class(Class::Hidden),
    d("active-expire-effort", int(1, 10)),
    d("hz", int(0, INT_MAX)),
    d("min-replicas-to-write", int(0, INT_MAX)).alias(&["min-slaves-to-write"]),
    d("min-replicas-max-lag", int(0, INT_MAX)).alias(&["min-slaves-max-lag"]),
    d("watchdog-period", int(0, INT_MAX)).class(Class::Hidden),
    d("shutdown-timeout", int(0, INT_MAX)),
    d("repl-diskless-sync-max-replicas", int(0, INT_MAX)),
    d("maxclients", int(1, UINT_MAX)),
    d("unixsocketperm", Kind::Octal { max: 0o777 }),
    d("socket-mark-id", int(0, UINT_MAX)),
    d("max-new-connections-per-cycle", int(1, 1000)).since(V7_4),
    d("max-new-tls-connections-per-cycle", int(1, 1000)).since(V7_4),
    d("active-defrag-max-scan-fields", int(1, LONG_MAX)),
    d("slowlog-max-len", int(0, LONG_MAX)),
    d("acllog-max-len", int(0, LONG_MAX)),
    d("busy-reply-threshold", int(0, LONG_MAX)).alias(&["lua-time-limit"]),
    d("cluster-node-timeout", int(0, LONG_MAX)),
    d("slowlog-log-slower-than", int(-1, LONG_MAX)),
    d("latency-monitor-threshold", int(0, LONG_MAX)),
    d("proto-max-bulk-len", mem(MB, LONG_MAX_U)),
    d("stream-node-max-entries", int(0, LONG_MAX)),
    d("repl-backlog-size", mem(1, LONG_MAX_U)),
    d("maxmemory", mem(0, u64::MAX)),
    d("cluster-link-sendbuf-limit", mem(0, u64::MAX)),
    d("hash-max-listpack-entries", int(0, LONG_MAX)).alias(&["hash-max-ziplist-entries"]),
    d("set-max-intset-entries", int(0, LONG_MAX)),
    d("set-max-listpack-entries", int(0, LONG_MAX)).since(V7_2),
    d("set-max-listpack-value", int(0, LONG_MAX)).since(V7_2),
    d("zset-max-listpack-entries", int(0, LONG_MAX)).alias(&["zset-max-ziplist-entries"]),
    d("active-defrag-ignore-bytes", mem(1, LONG_MAX_U)),
    d("hash-max-listpack-value", mem(0, LONG_MAX_U)).alias(&["hash-max-ziplist-value"]),
    d("stream-node-max-bytes", mem(0, LONG_MAX_U)),
    d("zset-max-listpack-value", mem(0, LONG_MAX_U)).alias(&["zset-max-ziplist-value"]),
    d("hll-sparse-max-bytes", mem(0, LONG_MAX_U)),
    d("tracking-table-max-keys", int(0, LONG_MAX)),
    d("client-query-buffer-limit", mem(MB, LONG_MAX_U)),
    d("maxmemory-clients", Kind::MemoryOrPercent),
    d("repl-backlog-ttl", int(0, LONG_MAX)),
    d("auto-aof-rewrite-min-size", mem(0, LONG_MAX_U)),
    d("loading-process-events-interval-bytes", int(1024, INT_MAX)).class(Class::Hidden),
    // TLS (the official image is built with it; so is Debian's).
    d("tls-port", int(0, 65535)),
    d("tls-session-cache-size", int(0, INT_MAX)),
    d("tls-session-cache-timeout", int(0, INT_MAX)),
    d("tls-cluster", BOOL),
    d("tls-replication", BOOL),
    d("tls-auth-clients", Kind::Enum(&["no", "yes", "optional"])),
    d("tls-prefer-server-ciphers", BOOL),
    d("tls-session-caching", BOOL),
    d("tls-cert-file", TEXT),
    d("tls-key-file", TEXT),
    d("tls-key-file-pass", TEXT),
    d("tls-client-cert-file", TEXT),
    d("tls-client-key-file", TEXT),
    d("tls-client-key-file-pass", TEXT),
    d("tls-dh-params-file", TEXT),
    d("tls-ca-cert-file", TEXT),
    d("tls-ca-cert-dir", TEXT),
    d("tls-protocols", TEXT),
    d("tls-ciphers", TEXT),
    d("tls-ciphersuites", TEXT),
    // Special grammars.
    d("dir", TEXT),
    d("save", Kind::SavePoints).repeat(),
    d("client-output-buffer-limit", Kind::ClientOutputBufferLimit).repeat(),
    d("oom-score-adj-values", Kind::OomScoreAdjValues),
    d("notify-keyspace-events", Kind::KeyspaceEvents),
    d("bind", Kind::Addresses),
    d("replicaof", Kind::ReplicaOf).alias(&["slaveof"]),
    d("latency-tracking-info-percentiles", Kind::Percentiles),
    // Only a file holds these.
    d("include", Kind::Include).repeat().class(Class::FileOnly),
    d("rename-command", Kind::RenameCommand)
        .repeat()
        .class(Class::FileOnly),
    d("user", Kind::User).repeat().class(Class::FileOnly),
    d("loadmodule", Kind::Module)
        .repeat()
        .class(Class::FileOnly),
    // Accepted and ignored since 7.0.
    d("list-max-ziplist-entries", Kind::Ignored).class(Class::Deprecated),
    d("list-max-ziplist-value", Kind::Ignored).class(Class::Deprecated),
    d("lua-replicate-commands", Kind::Ignored).class(Class::Deprecated),
];

/// Values that a later version added to a directive that older versions already had.
pub(crate) const NEWER_VALUES: &[(&str, &str, Version)] = &[("loglevel", "nothing", V7_2)];

/// The directive named `name` (any case; aliases count).
pub(crate) fn lookup(name: &str) -> Option<&'static Directive> {
    let lower = name.to_ascii_lowercase();
    DIRECTIVES.iter().find(|d| d.names().any(|n| n == lower))
}

/// The known name closest to an unknown one: Levenshtein distance at most 2 (and less than
/// half the name), or Jaro-Winkler above 0.8; the smallest distance wins.
pub(crate) fn closest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    DIRECTIVES
        .iter()
        .flat_map(Directive::names)
        .filter_map(|candidate| {
            let distance = strsim::levenshtein(&lower, candidate);
            let similarity = strsim::jaro_winkler(&lower, candidate);
            let near = distance <= 2 && distance * 2 < candidate.len();
            (near || similarity > 0.8).then_some((distance, similarity, candidate))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, name)| name)
}

/// Why a value is not what a directive takes: a message and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) message: String,
    pub(crate) help: String,
}

fn problem(message: impl Into<String>, help: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        help: help.into(),
    }
}

/// A value whose quotes Redis cannot pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuoteError {
    /// A `"` or `'` that is never closed.
    Unterminated(char),
    /// A closing quote followed by something other than a space.
    TextAfterQuote(char),
}

/// The arguments Redis reads from a directive's value, as `sdssplitargs` splits a line: blanks
/// separate arguments; `"…"` quotes with `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\a` and `\xHH`
/// escapes; `'…'` quotes with `\'`; a closing quote must end its argument.
pub(crate) fn split_args(value: &str) -> Result<Vec<String>, QuoteError> {
    let b = value.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Ok(args);
        }
        let mut current: Vec<u8> = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\' && at(i + 1) == b'x' && hex(at(i + 2)).is_some() {
                    if let (Some(hi), Some(lo)) = (hex(at(i + 2)), hex(at(i + 3))) {
                        current.push(hi * 16 + lo);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(i + 1) != 0 {
                    current.push(match at(i + 1) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    i += 2;
                    continue;
                }
                if c == b'"' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return Err(QuoteError::TextAfterQuote('"'));
                    }
                    i += 1;
                    break;
                }
                if c == 0 {
                    return Err(QuoteError::Unterminated('"'));
                }
                current.push(c);
                i += 1;
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    current.push(b'\'');
                    i += 2;
                    continue;
                }
                if c == b'\'' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return Err(QuoteError::TextAfterQuote('\''));
                    }
                    i += 1;
                    break;
                }
                if c == 0 {
                    return Err(QuoteError::Unterminated('\''));
                }
                current.push(c);
                i += 1;
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
                i += 1;
            }
        }
        args.push(String::from_utf8_lossy(&current).into_owned());
    }
}

/// C's `isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// An integer as `string2ll` reads it: `0`, or an optional `-` and digits without a leading
/// zero. `None` when the text is no such integer; an integer too large for `i64` is clamped,
/// so that a range check reports it.
fn redis_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let well_formed = text == "0"
        || (!digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0'));
    if !well_formed {
        return None;
    }
    Some(text.parse::<i64>().unwrap_or(if text.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn range_help(min: i64, max: i64) -> String {
    format!("a whole number from {min} to {max}")
}

const MEMORY_HELP: &str =
    "a whole number of bytes with an optional unit: `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, \
     `gb`, e.g. `64mb`";

impl Kind {
    /// Whether Redis reads several arguments, and splits a lone argument at its spaces
    /// (`save "900 1"` is `save 900 1`).
    fn multi_arg(self) -> bool {
        matches!(
            self,
            Kind::SavePoints
                | Kind::ClientOutputBufferLimit
                | Kind::OomScoreAdjValues
                | Kind::Addresses
                | Kind::ReplicaOf
                | Kind::Percentiles
                | Kind::Flags(_)
        )
    }
}

/// Whether `args`, split from a value of directive `d` (written `name`), are what `d` takes.
pub(crate) fn check_args(name: &str, d: &Directive, args: &[String]) -> Result<(), Problem> {
    let resplit;
    let args = match args {
        [lone] if d.kind.multi_arg() && !lone.is_empty() => {
            resplit = split_args(lone).map_err(|_| {
                problem(
                    format!("`{name}` has unbalanced quotes inside its quoted value"),
                    "write the arguments without the outer quotes",
                )
            })?;
            &resplit[..]
        }
        _ => args,
    };
    let one = || -> Result<&str, Problem> {
        match args {
            [only] => Ok(only.as_str()),
            [] => Err(problem(
                format!("`{name}` needs a value"),
                "write `\"\"` for an empty string",
            )),
            more => Err(problem(
                format!("`{name}` takes one argument, not {}", more.len()),
                "quote a value that has spaces: `\"a b\"`",
            )),
        }
    };
    match d.kind {
        Kind::Bool => {
            let v = one()?;
            if v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("no") {
                Ok(())
            } else {
                Err(problem(
                    format!("`{name}` takes `yes` or `no`, not `{v}`"),
                    "allowed values: `yes`, `no`",
                ))
            }
        }
        Kind::Int { min, max } => {
            let v = one()?;
            match redis_int(v) {
                None => Err(problem(
                    format!("`{name}` takes an integer, not `{v}`"),
                    format!(
                        "{} (no `+`, leading zero, fraction or unit)",
                        range_help(min, max)
                    ),
                )),
                Some(n) if n < min || n > max => Err(problem(
                    format!("`{name}` {v} is out of range"),
                    range_help(min, max),
                )),
                Some(_) => Ok(()),
            }
        }
        Kind::Octal { max } => {
            let v = one()?;
            let n = (!v.is_empty() && v.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                .then(|| i64::from_str_radix(v, 8).unwrap_or(i64::MAX));
            match n {
                None => Err(problem(
                    format!("`{name}` takes an octal number, not `{v}`"),
                    format!("octal digits 0-7, at most {max:o}, e.g. `700`"),
                )),
                Some(n) if n > max => Err(problem(
                    format!("`{name}` {v} is out of range"),
                    format!("an octal number from 0 to {max:o}"),
                )),
                Some(_) => Ok(()),
            }
        }
        Kind::Memory { min, max } => {
            let v = one()?;
            match parse_redis_memory(v) {
                None => Err(problem(
                    format!("`{name}` takes a memory size, not `{v}`"),
                    MEMORY_HELP,
                )),
                Some(n) if n < min || n > max => Err(problem(
                    format!("`{name}` {v} is out of range"),
                    format!("from {min} to {max} bytes; {MEMORY_HELP}"),
                )),
                Some(_) => Ok(()),
            }
        }
        Kind::MemoryOrPercent => {
            let v = one()?;
            let help = format!(
                "a memory size or a percentage of `maxmemory` from `0%` to `100%`; {MEMORY_HELP}"
            );
            if let Some(percent) = v.strip_suffix('%') {
                return match redis_int(percent) {
                    Some(p) if (0..=100).contains(&p) => Ok(()),
                    Some(_) => Err(problem(format!("`{name}` {v} is out of range"), help)),
                    None => Err(problem(
                        format!("`{name}` takes a memory size or a percentage, not `{v}`"),
                        help,
                    )),
                };
            }
            match parse_redis_memory(v) {
                Some(n) if n <= i64::MAX as u64 => Ok(()),
                Some(_) => Err(problem(format!("`{name}` {v} is out of range"), help)),
                None => Err(problem(
                    format!("`{name}` takes a memory size or a percentage, not `{v}`"),
                    help,
                )),
            }
        }
        Kind::Enum(values) => {
            let v = one()?;
            if values.iter().any(|a| a.eq_ignore_ascii_case(v)) {
                Ok(())
            } else {
                Err(problem(
                    format!("`{name}` does not take `{v}`"),
                    format!("allowed values: {}", quoted_list(values)),
                ))
            }
        }
        Kind::Flags(values) => {
            if args.is_empty() {
                return Err(problem(
                    format!("`{name}` needs a value"),
                    format!("one or more of: {}", quoted_list(values)),
                ));
            }
            if let Some(bad) = args
                .iter()
                .find(|a| !values.iter().any(|v| v.eq_ignore_ascii_case(a)))
            {
                return Err(problem(
                    format!("`{name}` does not take `{bad}`"),
                    format!(
                        "one or more of: {}, separated by spaces",
                        quoted_list(values)
                    ),
                ));
            }
            let has = |w: &str| args.iter().any(|a| a.eq_ignore_ascii_case(w));
            if has("save") && has("nosave") {
                return Err(problem(
                    format!("`{name}` cannot be both `save` and `nosave`"),
                    "keep one of them",
                ));
            }
            Ok(())
        }
        Kind::Text | Kind::Include => one().map(|_| ()),
        Kind::Hostname => {
            let v = one()?;
            if v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                Ok(())
            } else {
                Err(problem(
                    format!("`{name}` is not a host name: `{v}`"),
                    "letters, digits, `-` and `.` only",
                ))
            }
        }
        Kind::ProcTitle => {
            let v = one()?;
            check_proc_title(v).map_err(|why| {
                problem(
                    format!("`{name}` is not a valid template: {why}"),
                    "text with the variables {title}, {listen-addr}, {server-mode}, {port}, \
                     {tls-port}, {unixsocket}, {config-file}; `{{` and `}}` are literal braces; \
                     quote it when it has spaces",
                )
            })
        }
        Kind::KeyspaceEvents => {
            let v = one()?;
            const CLASSES: &str = "Ag$lshzxeKEtmdn";
            match v.chars().find(|c| !CLASSES.contains(*c)) {
                None => Ok(()),
                Some(c) => Err(problem(
                    format!("`{name}` has an unknown event class `{c}`"),
                    "event classes are the letters of `Ag$lshzxeKEtmdn` (K and/or E, and what \
                     to notify); `\"\"` turns notifications off",
                )),
            }
        }
        Kind::SavePoints => {
            let help = "pairs of seconds and changes, e.g. `3600 1 300 100`, or `\"\"` for none";
            if matches!(args, [one] if one.is_empty()) {
                return Ok(());
            }
            if args.is_empty() || args.len() % 2 == 1 {
                return Err(problem(format!("`{name}` takes pairs of numbers"), help));
            }
            match args
                .iter()
                .find(|p| p.parse::<i64>().map_or(true, |n| n < 0))
            {
                Some(bad) => Err(problem(
                    format!("`{name}` takes whole numbers, not `{bad}`"),
                    help,
                )),
                None => Ok(()),
            }
        }
        Kind::ClientOutputBufferLimit => {
            let help = "groups of four: class (`normal`, `replica`, `pubsub`), hard limit, soft \
                        limit, soft seconds; e.g. `replica 256mb 64mb 60`";
            if args.is_empty() || args.len() % 4 != 0 {
                return Err(problem(
                    format!("`{name}` takes groups of four arguments"),
                    help,
                ));
            }
            for group in args.chunks(4) {
                let class = &group[0];
                if !["normal", "slave", "replica", "pubsub"]
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(class))
                {
                    return Err(problem(
                        format!("`{name}` has no client class `{class}`"),
                        help,
                    ));
                }
                for limit in &group[1..3] {
                    if parse_redis_memory(limit).is_none() {
                        return Err(problem(
                            format!("`{name}` takes a memory size, not `{limit}`"),
                            help,
                        ));
                    }
                }
                let seconds = &group[3];
                if !seconds
                    .parse::<i64>()
                    .is_ok_and(|s| (0..=i64::from(i32::MAX)).contains(&s))
                {
                    return Err(problem(
                        format!("`{name}` takes whole soft seconds, not `{seconds}`"),
                        help,
                    ));
                }
            }
            Ok(())
        }
        Kind::OomScoreAdjValues => {
            let help = "three whole numbers from -2000 to 2000: master, replica, background child";
            if args.len() != 3 {
                return Err(problem(
                    format!("`{name}` takes three numbers, not {}", args.len()),
                    help,
                ));
            }
            match args
                .iter()
                .find(|a| !a.parse::<i64>().is_ok_and(|n| (-2000..=2000).contains(&n)))
            {
                Some(bad) => Err(problem(
                    format!("`{name}` takes numbers from -2000 to 2000, not `{bad}`"),
                    help,
                )),
                None => Ok(()),
            }
        }
        Kind::Percentiles => {
            if matches!(args, [one] if one.is_empty()) {
                return Ok(());
            }
            match args.iter().find(|a| {
                !a.parse::<f64>()
                    .is_ok_and(|p| !p.is_nan() && (0.0..=100.0).contains(&p))
            }) {
                Some(bad) => Err(problem(
                    format!("`{name}` takes percentiles from 0 to 100, not `{bad}`"),
                    "numbers separated by spaces, e.g. `50 99 99.9`; `\"\"` for none",
                )),
                None => Ok(()),
            }
        }
        Kind::Addresses => {
            if args.is_empty() || args.len() > 16 {
                Err(problem(
                    format!("`{name}` takes 1 to 16 addresses"),
                    "addresses separated by spaces",
                ))
            } else {
                Ok(())
            }
        }
        Kind::ReplicaOf => {
            let ok = match args {
                [host, port] => {
                    (host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one"))
                        || port.parse::<u16>().is_ok()
                }
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(problem(
                    format!("`{name}` takes a host and a port, or `no one`"),
                    "e.g. `10.0.0.1 6379`",
                ))
            }
        }
        Kind::RenameCommand => match args {
            [command, _] if !command.is_empty() => Ok(()),
            _ => Err(problem(
                format!("`{name}` takes a command and its new name"),
                "e.g. `FLUSHALL \"\"` removes FLUSHALL; `KEYS MY-KEYS` renames KEYS",
            )),
        },
        Kind::Module => {
            if args.first().is_some_and(|p| !p.is_empty()) {
                Ok(())
            } else {
                Err(problem(
                    format!("`{name}` takes a module path"),
                    "a path and the module's arguments",
                ))
            }
        }
        Kind::User => {
            if args.first().is_some_and(|u| !u.is_empty()) {
                Ok(())
            } else {
                Err(problem(
                    format!("`{name}` takes a user name and ACL rules"),
                    "e.g. `app on >secret ~* +@all`",
                ))
            }
        }
        // Redis skips these only with exactly one argument; otherwise the line is an error.
        Kind::Ignored => one().map(|_| ()),
    }
}

/// Redis's check of `proc-title-template`: `{name}` variables it knows, `{{`/`}}` escapes, and
/// something left once spaces are trimmed.
fn check_proc_title(template: &str) -> Result<(), String> {
    const VARIABLES: &[&str] = &[
        "title",
        "listen-addr",
        "server-mode",
        "port",
        "tls-port",
        "unixsocket",
        "config-file",
    ];
    if template.trim_matches(' ').is_empty() {
        return Err("it is empty".into());
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(literal) = after.strip_prefix('{') {
            rest = literal;
            continue;
        }
        let Some(close) = after.find('}') else {
            return Err("a `{` is not closed".into());
        };
        let variable = &after[..close];
        if !VARIABLES.contains(&variable) {
            return Err(format!("`{{{variable}}}` is no variable"));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `redis-cli CONFIG GET '*'` of Debian's redis-server 7.0.15 (sha 00000000, jemalloc,
    /// built with TLS): every parameter name it lists, aliases included. 192 names.
    const REDIS_7_0_15_PARAMETERS: &str = "\
        acl-pubsub-default aclfile acllog-max-len active-defrag-cycle-max \
        active-defrag-cycle-min active-defrag-ignore-bytes active-defrag-max-scan-fields \
        active-defrag-threshold-lower active-defrag-threshold-upper active-expire-effort \
        activedefrag activerehashing always-show-logo aof-disable-auto-gc aof-load-truncated \
        aof-rewrite-incremental-fsync aof-timestamp-enabled aof-use-rdb-preamble \
        aof_rewrite_cpulist appenddirname appendfilename appendfsync appendonly \
        auto-aof-rewrite-min-size auto-aof-rewrite-percentage bgsave_cpulist bind \
        bind-source-addr bio_cpulist busy-reply-threshold client-output-buffer-limit \
        client-query-buffer-limit cluster-allow-pubsubshard-when-down \
        cluster-allow-reads-when-down cluster-allow-replica-migration cluster-announce-bus-port \
        cluster-announce-hostname cluster-announce-ip cluster-announce-port \
        cluster-announce-tls-port cluster-config-file cluster-enabled cluster-link-sendbuf-limit \
        cluster-migration-barrier cluster-node-timeout cluster-port \
        cluster-preferred-endpoint-type cluster-replica-no-failover \
        cluster-replica-validity-factor cluster-require-full-coverage cluster-slave-no-failover \
        cluster-slave-validity-factor crash-log-enabled crash-memcheck-enabled daemonize \
        databases dbfilename dir disable-thp dynamic-hz enable-debug-command \
        enable-module-command enable-protected-configs hash-max-listpack-entries \
        hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value \
        hll-sparse-max-bytes hz ignore-warnings io-threads io-threads-do-reads \
        jemalloc-bg-thread latency-monitor-threshold latency-tracking \
        latency-tracking-info-percentiles lazyfree-lazy-eviction lazyfree-lazy-expire \
        lazyfree-lazy-server-del lazyfree-lazy-user-del lazyfree-lazy-user-flush lfu-decay-time \
        lfu-log-factor list-compress-depth list-max-listpack-size list-max-ziplist-size logfile \
        loglevel lua-time-limit masterauth masteruser maxclients maxmemory maxmemory-clients \
        maxmemory-eviction-tenacity maxmemory-policy maxmemory-samples min-replicas-max-lag \
        min-replicas-to-write min-slaves-max-lag min-slaves-to-write no-appendfsync-on-rewrite \
        notify-keyspace-events oom-score-adj oom-score-adj-values pidfile port \
        proc-title-template propagation-error-behavior protected-mode proto-max-bulk-len \
        rdb-del-sync-files rdb-save-incremental-fsync rdbchecksum rdbcompression \
        repl-backlog-size repl-backlog-ttl repl-disable-tcp-nodelay repl-diskless-load \
        repl-diskless-sync repl-diskless-sync-delay repl-diskless-sync-max-replicas \
        repl-ping-replica-period repl-ping-slave-period repl-timeout replica-announce-ip \
        replica-announce-port replica-announced replica-ignore-disk-write-errors \
        replica-ignore-maxmemory replica-lazy-flush replica-priority replica-read-only \
        replica-serve-stale-data replicaof requirepass sanitize-dump-payload save \
        server_cpulist set-max-intset-entries set-proc-title shutdown-on-sigint \
        shutdown-on-sigterm shutdown-timeout slave-announce-ip slave-announce-port \
        slave-ignore-maxmemory slave-lazy-flush slave-priority slave-read-only \
        slave-serve-stale-data slaveof slowlog-log-slower-than slowlog-max-len socket-mark-id \
        stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries supervised \
        syslog-enabled syslog-facility syslog-ident tcp-backlog tcp-keepalive timeout \
        tls-auth-clients tls-ca-cert-dir tls-ca-cert-file tls-cert-file tls-ciphers \
        tls-ciphersuites tls-client-cert-file tls-client-key-file tls-client-key-file-pass \
        tls-cluster tls-dh-params-file tls-key-file tls-key-file-pass tls-port \
        tls-prefer-server-ciphers tls-protocols tls-replication tls-session-cache-size \
        tls-session-cache-timeout tls-session-caching tracking-table-max-keys unixsocket \
        unixsocketperm zset-max-listpack-entries zset-max-listpack-value \
        zset-max-ziplist-entries zset-max-ziplist-value";

    fn all_names() -> Vec<&'static str> {
        DIRECTIVES.iter().flat_map(Directive::names).collect()
    }

    #[test]
    fn no_name_is_listed_twice() {
        let mut names = all_names();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name appears twice");
        for name in all_names() {
            assert_eq!(name, name.to_ascii_lowercase(), "{name} is not lower case");
        }
    }

    /// The table knows every parameter of 7.0.15, and every 7.0 parameter in the table is one
    /// that 7.0.15 lists (no misspelling): only hidden knobs, file-only and ignored directives,
    /// and what later versions added are absent from `CONFIG GET *`.
    #[test]
    fn the_table_matches_redis_7_0_15() {
        let server: Vec<&str> = REDIS_7_0_15_PARAMETERS.split_whitespace().collect();
        assert_eq!(server.len(), 192);
        let missing: Vec<_> = server.iter().filter(|n| lookup(n).is_none()).collect();
        assert!(missing.is_empty(), "unknown to the table: {missing:?}");
        let extra: Vec<_> = DIRECTIVES
            .iter()
            .filter(|d| d.class == Class::Config && d.since == V7_0)
            .flat_map(Directive::names)
            .filter(|n| !server.contains(n))
            .collect();
        assert!(extra.is_empty(), "not in 7.0.15: {extra:?}");
        let absent: Vec<_> = DIRECTIVES
            .iter()
            .filter(|d| d.class != Class::Config || d.since > V7_0)
            .flat_map(Directive::names)
            .filter(|n| server.contains(n))
            .collect();
        assert!(
            absent.is_empty(),
            "listed by 7.0.15 yet marked otherwise: {absent:?}"
        );
    }

    fn split(v: &str) -> Vec<String> {
        split_args(v).unwrap()
    }

    #[test]
    fn values_split_like_sdssplitargs() {
        assert_eq!(split("a  b"), ["a", "b"]);
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("\"\""), [""]);
        assert_eq!(split("\"a b\" c"), ["a b", "c"]);
        assert_eq!(split_args("'it''s'"), Err(QuoteError::TextAfterQuote('\'')));
        assert_eq!(split("'it\\'s'"), ["it's"]);
        assert_eq!(split(r#""\x41\n""#), ["A\n"]);
        assert_eq!(split(r#""\xZZ""#), ["xZZ"]);
        assert_eq!(split("foo\"bar baz\""), ["foobar baz"]);
        assert_eq!(split_args("\"open"), Err(QuoteError::Unterminated('"')));
        assert_eq!(split_args("'open"), Err(QuoteError::Unterminated('\'')));
        assert_eq!(split_args("\"5\"x"), Err(QuoteError::TextAfterQuote('"')));
        assert_eq!(split_args("foo\"bar"), Err(QuoteError::Unterminated('"')));
        assert_eq!(
            split_args("\"trailing\\"),
            Err(QuoteError::Unterminated('"'))
        );
    }

    /// One line of redis.conf, checked as redkube checks an `extra-config` entry.
    fn accepts(line: &str) -> bool {
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        let d = lookup(name).unwrap_or_else(|| panic!("{name} is unknown"));
        split_args(value).is_ok_and(|args| check_args(name, d, &args).is_ok())
    }

    /// What redis-server 7.0.15 answered for each line (started with the line as its whole
    /// configuration file): redkube agrees, or is stricter where noted.
    #[test]
    fn values_are_read_as_redis_7_0_15_reads_them() {
        let accepted = [
            "tcp-keepalive 5",
            "tcp-keepalive \"5\"",
            "tcp-keepalive '5'",
            "shutdown-on-sigterm \"nosave now\"",
            "shutdown-on-sigint \"nosave  now\"",
            "oom-score-adj-values \"0 200 800\"",
            "oom-score-adj-values \"0  200 800\"",
            "client-output-buffer-limit \"normal 0 0 0\"",
            "latency-tracking-info-percentiles \"50 99\"",
            "replicaof \"no one\"",
            "shutdown-on-sigterm nosave now",
            "shutdown-on-sigterm default now",
            "shutdown-on-sigterm force",
            "lua-replicate-commands yes",
            "list-max-ziplist-entries 5",
            "appendfsync EVERYSEC",
            "activerehashing YES",
            "maxmemory-clients 10%",
            "maxmemory-clients 0%",
            "maxmemory-clients 10mb",
            "hash-max-listpack-value 1kb",
            "unixsocketperm 777",
            "unixsocketperm 0777",
            "unixsocketperm 0",
            "proc-title-template \"foo\"",
            "proc-title-template \"{listen-addr}\"",
            "proc-title-template \"a}b\"",
            "proc-title-template \"{{title}}\"",
            "proc-title-template \"{port}{tls-port}{unixsocket}{config-file}{server-mode}\"",
            "notify-keyspace-events KEAn",
            "notify-keyspace-events \"\"",
            "notify-keyspace-events gg",
            "notify-keyspace-events '$'",
            "latency-tracking-info-percentiles 50 99 99.9",
            "latency-tracking-info-percentiles \"\"",
            "latency-tracking-info-percentiles",
            "latency-tracking-info-percentiles 1e1",
            "oom-score-adj-values 0 200 800",
            "oom-score-adj-values -2000 0 2000",
            "oom-score-adj-values 0 0 +1",
            "oom-score-adj-values 0 0 010",
            "client-output-buffer-limit normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60",
            "client-output-buffer-limit slave 0 0 0 slave 1 1 1",
            "client-output-buffer-limit pubsub 1mb 0 010",
            "client-output-buffer-limit pubsub 1mb 0 +10",
            "bind-source-addr 10.0.0.1",
            "bind-source-addr \"\"",
            "ignore-warnings ARM64-COW-BUG",
            "ignore-warnings \"\"",
            "syslog-ident \"\"",
            "rename-command FLUSHALL \"\"",
            "hz 1000",
            "hz 0",
            "repl-backlog-size 1mb",
            "proto-max-bulk-len 1mb",
            "maxmemory 1GB",
            "maxmemory 1b",
            "maxmemory 0010mb",
            "watchdog-period 0",
            "use-exit-on-panic no",
            "key-load-delay 0",
            "loading-process-events-interval-bytes 2048",
            "enable-debug-command local",
            "cluster-preferred-endpoint-type hostname",
            "list-max-listpack-size -6",
            "save \"900 1\"",
            "repl-diskless-load on-empty-db",
            "sanitize-dump-payload clients",
            "oom-score-adj absolute",
            "acl-pubsub-default allchannels",
            "propagation-error-behavior panic-on-replicas",
            "syslog-facility LOCAL7",
            "supervised auto",
            "tls-auth-clients optional",
            "slaveof no one",
            "dynamic-hz \"yes\"",
            "replica-announce-ip \"\"",
            "busy-reply-threshold 5000",
            "lua-time-limit 5000",
        ];
        // Redis accepts these too; redkube refuses them as nonsense it cannot read the same way.
        let stricter = [
            "maxmemory mb",                           // Redis: 0 bytes
            "latency-tracking-info-percentiles 0x10", // strtod reads hex
        ];
        let refused = [
            "tcp-keepalive 0300",
            "tcp-keepalive +5",
            "tcp-keepalive -0",
            "tcp-keepalive \"\"",
            "tcp-keepalive \"5\"x",
            "tcp-keepalive 99999999999",
            "tcp-keepalive 5 # comment",
            "timeout 1.5",
            "loglevel nosuch",
            "activerehashing 1",
            "maxmemory-clients 101%",
            "maxmemory-clients 1.5%",
            "stream-node-max-entries 1k",
            "unixsocketperm 778",
            "unixsocketperm 1000",
            "unixsocketperm -1",
            "proc-title-template \"{title} {nope}\"",
            "proc-title-template \"{title\"",
            "proc-title-template \"\"",
            "proc-title-template \" \"",
            "notify-keyspace-events KEz?",
            "notify-keyspace-events \"K E\"",
            "latency-tracking-info-percentiles 101",
            "latency-tracking-info-percentiles nan",
            "latency-tracking-info-percentiles 50 \"\"",
            "oom-score-adj-values 0 200 2001",
            "oom-score-adj-values 0 200",
            "oom-score-adj-values 0 0 0x1",
            "client-output-buffer-limit master 0 0 0",
            "client-output-buffer-limit normal 0 0",
            "client-output-buffer-limit NORMAL 1gb 0 -1",
            "client-output-buffer-limit pubsub 1.5mb 0 0",
            "syslog-ident",
            "syslog-ident a b",
            "io-threads 129",
            "databases 0",
            "repl-backlog-size 0",
            "proto-max-bulk-len 1000",
            "maxmemory 1.5gb",
            "maxmemory 1 gb",
            "active-expire-effort 11",
            "replica-announce-port 70000",
            "slowlog-log-slower-than -2",
            "list-compress-depth -1",
            "save 60",
            "shutdown-on-sigterm save nosave",
            "cluster-announce-hostname \"bad host\"",
            "replicaof 1.2.3.4 99999",
        ];
        for line in accepted.iter().filter(|l| !stricter.contains(l)) {
            assert!(
                accepts(line),
                "redkube refuses `{line}`, which Redis accepts"
            );
        }
        for line in stricter.iter().chain(&refused) {
            assert!(
                !accepts(line),
                "redkube accepts `{line}`, which Redis refuses"
            );
        }
    }

    /// No value makes the splitter or any directive's reader panic.
    #[test]
    fn hostile_values_never_panic() {
        let hostile = [
            "",
            " ",
            "\"",
            "'",
            "\\",
            "\"\\",
            "\"\\x",
            "\"\\x4",
            "\"\\xff\"",
            "{",
            "{{",
            "}",
            "{title",
            "{é}",
            "%",
            "-%",
            "99999999999999999999999%",
            "-",
            "-0",
            "0x",
            "1e999",
            "-1e999",
            "é",
            "\"é\"",
            "'\\'",
            "a \"b",
            "\"a b\" 'c d' e",
            "99999999999999999999999999999",
            "-99999999999999999999999999999",
            "77777777777777777777777",
            "18446744073709551616gb",
            "normal 0 0 0 replica",
            "replica 1 1 99999999999",
            "nan inf -inf",
            "\"\" \"\"",
        ];
        for d in DIRECTIVES {
            for v in hostile {
                if let Ok(args) = split_args(v) {
                    let _ = check_args(d.name, d, &args);
                }
            }
        }
        let _ = closest("");
        let _ = closest("é-é");
    }

    #[test]
    fn near_misses_find_their_directive() {
        assert_eq!(closest("tcp-keepalve"), Some("tcp-keepalive"));
        assert_eq!(closest("appendfsinc"), Some("appendfsync"));
        assert_eq!(closest("maxmemroy-samples"), Some("maxmemory-samples"));
        assert_eq!(closest("replica-priorty"), Some("replica-priority"));
        assert_eq!(closest("zzzz"), None);
        assert_eq!(closest("hq"), None);
    }

    #[test]
    fn newer_values_belong_to_known_enums() {
        for (name, value, since) in NEWER_VALUES {
            let d = lookup(name).unwrap();
            assert!(*since > d.since);
            assert!(matches!(d.kind, Kind::Enum(vs) | Kind::Flags(vs) if vs.contains(value)));
        }
    }
}
