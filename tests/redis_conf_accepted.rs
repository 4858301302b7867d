//! A real `redis-server` starts on every redis.conf redkube renders: that of each bundled
//! profile, and that of `tests/fixtures/extra-config-all-kinds.toml`, which sets every kind of
//! `redis.extra-config` value redkube accepts. And every parameter that server lists in
//! `CONFIG GET *` is a directive redkube knows.
//!
//! Runs the `redis-server` and `redis-cli` on the PATH (Debian's 7.0 in CI). Without them the
//! test fails when `CI=true` and is skipped, loudly, elsewhere.
//!
//! Each server gets a temporary directory and a free port (and the bus port above it). The
//! rendered file names `dir /data`, a pod's volume, which Redis enters while it reads the file,
//! before any command-line override: that one line is pointed at the temporary directory; the
//! port, the bind address and the cluster's nodes.conf are overridden on the command line
//! (Redis reads those arguments after the file). Every wait is bounded.

mod common;

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;

const START_BUDGET: Duration = Duration::from_secs(5);
const CLI_BUDGET: Duration = Duration::from_secs(2);
const STOP_BUDGET: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(25);

/// Whether the cross-check can run; panics in CI when it cannot.
fn redis_installed() -> bool {
    let works = |bin: &str| {
        run_bounded(Command::new(bin).arg("--version"), CLI_BUDGET)
            .is_some_and(|o| o.status.success())
    };
    if works("redis-server") && works("redis-cli") {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "redis-server and redis-cli are required in CI for the redis.conf cross-check \
             (Debian: apt-get install redis-server)"
        );
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "\n********************************************************************\n\
         SKIPPED: redis_conf_accepted needs redis-server and redis-cli on the PATH\n\
         (Debian: apt-get install redis-server). Nothing was checked.\n\
         ********************************************************************\n"
    );
    false
}

/// Run a command to its end, or kill it after `budget`.
fn run_bounded(cmd: &mut Command, budget: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + budget;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().ok(),
            Ok(None) if Instant::now() < deadline => sleep(POLL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out = run_bounded(
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args),
        CLI_BUDGET,
    )?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A port whose cluster bus port (+10000) is free too, spread by process id and a counter so
/// parallel tests and test binaries rarely meet.
fn free_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let seed = std::process::id() as usize;
    for _ in 0..500 {
        let attempt = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20000 + (seed * 7919 + attempt * 613) % 25000;
        let port = port as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10000) {
            return port;
        }
    }
    panic!("no free port pair found");
}

/// A redis-server, stopped (and killed if need be) when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// Start on `conf`, and wait until it answers PING.
    fn start(label: &str, conf: &str, dir: &Path) -> Result<Server, String> {
        assert_eq!(
            conf.lines().filter(|l| *l == "dir /data").count(),
            1,
            "{label}: the rendered redis.conf should name `dir /data` once"
        );
        let conf: String = conf
            .lines()
            .map(|l| match l {
                "dir /data" => format!("dir \"{}\"\n", dir.display()),
                other => format!("{other}\n"),
            })
            .collect();
        let file = dir.join("redis.conf");
        fs::write(&file, conf).unwrap();
        let log = dir.join("redis.log");
        let port = free_port();
        let child = Command::new("redis-server")
            .arg(&file)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .arg("--cluster-config-file")
            .arg(dir.join("nodes.conf"))
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                fs::File::create(dir.join("redis.err")).unwrap(),
            ))
            .spawn()
            .map_err(|e| format!("{label}: cannot run redis-server: {e}"))?;
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + START_BUDGET;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{label}: redis-server exited ({status}) instead of starting:\n{}{}",
                    fs::read_to_string(&server.log).unwrap_or_default(),
                    fs::read_to_string(dir.join("redis.err")).unwrap_or_default()
                ));
            }
            if cli(port, &["ping"]).is_some_and(|r| r.trim() == "PONG") {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{label}: no PONG within {START_BUDGET:?}:\n{}",
                    fs::read_to_string(&server.log).unwrap_or_default()
                ));
            }
            sleep(POLL);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = cli(self.port, &["shutdown", "nosave"]);
        let deadline = Instant::now() + STOP_BUDGET;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `redis.conf` of each ConfigMap the profile renders.
fn rendered_confs(profile: &Path) -> Vec<String> {
    let stream = render_file(profile);
    let confs: Vec<String> = documents(&stream)
        .into_iter()
        .filter_map(|doc| {
            let value: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
            (value["kind"] == "ConfigMap")
                .then(|| value["data"]["redis.conf"].as_str().map(str::to_string))
                .flatten()
        })
        .collect();
    assert!(
        !confs.is_empty(),
        "{}: no redis.conf rendered",
        profile.display()
    );
    confs
}

#[test]
fn redis_starts_on_every_rendered_redis_conf() {
    if !redis_installed() {
        return;
    }
    let mut profiles = bundled_profiles();
    profiles.push(root().join("tests/fixtures/extra-config-all-kinds.toml"));
    let mut failures = Vec::new();
    let mut started = 0;
    for profile in &profiles {
        for conf in rendered_confs(profile) {
            let dir = tempfile::tempdir().unwrap();
            let label = stem(profile);
            match Server::start(&label, &conf, dir.path()) {
                Ok(server) => {
                    started += 1;
                    drop(server);
                }
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(started >= profiles.len(), "only {started} servers started");
}

/// Every parameter the installed server lists is a directive redkube knows (whatever else it
/// says about the value `x`): a name missing from redkube's table would be refused as unknown.
#[test]
fn redkube_knows_every_parameter_of_the_installed_redis() {
    if !redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start("empty", "dir /data\n", dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let reply = cli(server.port, &["config", "get", "*"]).expect("CONFIG GET * answered");
    drop(server);
    let names: Vec<&str> = reply.lines().step_by(2).filter(|l| !l.is_empty()).collect();
    assert!(
        names.len() > 150,
        "CONFIG GET * listed only {} names",
        names.len()
    );
    let mut unknown = Vec::new();
    for name in &names {
        let text = format!(
            "mode = \"cluster\"\nname = \"p\"\n[cluster]\nmasters = 3\n\
             [auth]\nexisting-secret = {{ name = \"a\" }}\n\
             [storage]\nkind = \"claim\"\nsize = \"1Gi\"\n\
             [redis.extra-config]\n\"{name}\" = \"x\"\n"
        );
        if let Err(e) = redkube::profile::load_str("p.toml", &text, &test_env) {
            if e.errors.iter().any(|d| {
                d.message.contains("is not a directive Redis knows")
                    || d.message.contains("is not a redis.conf directive name")
            }) {
                unknown.push(*name);
            }
        }
    }
    assert!(unknown.is_empty(), "redkube does not know: {unknown:?}");
}
