//! The profile parser never panics: mutated TOML (huge numbers, deep nesting, invalid UTF-8,
//! empty files, spliced profiles, wrong types) ends in a clean error or a valid render.
//!
//! A deterministic mutation fuzzer with a fixed time budget: `REDKUBE_FUZZ_SECONDS` (default 5;
//! CI uses 60) and `REDKUBE_FUZZ_SEED`. Every input goes through the library under
//! `catch_unwind`; a sample also goes through the binary, whose exit code must be 0, 1 or 2,
//! never 101 (panic) or a signal. A crashing input is saved under `target/fuzz-crashes/`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const HOSTILE_VALUES: &[&str] = &[
    "99999999999999999999999999",
    "-1",
    "4294967296",
    "65536",
    "0",
    "1e308",
    "-inf",
    "nan",
    "0x7fffffff",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"x\"",
    "1.5",
    "1979-05-27T07:32:00Z",
    "\"{ordinal}\"",
    "\"\\u0000\"",
    "\"\u{1F600}\"",
];

fn corpus() -> Vec<Vec<u8>> {
    let mut files = bundled_profiles();
    let invalid = root().join("tests/invalid");
    files.extend(
        std::fs::read_dir(invalid)
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut input = rng.pick(corpus).clone();
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(10) {
            0 => {
                let start = rng.below(len);
                let end = (start + rng.below(64)).min(len);
                input.drain(start..end);
            }
            1 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            2 => {
                // Replace the value after some `=` with a hostile one.
                let eqs: Vec<usize> = input
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'=')
                    .map(|(i, _)| i)
                    .collect();
                if !eqs.is_empty() {
                    let at = *rng.pick(&eqs) + 1;
                    let end = input[at..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(input.len(), |p| at + p);
                    let value = format!(" {}", rng.pick(HOSTILE_VALUES));
                    input.splice(at..end, value.into_bytes());
                }
            }
            3 => {
                let lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
                let line = rng.pick(&lines).to_vec();
                let at = rng.below(len + 1);
                let mut dup = line;
                dup.push(b'\n');
                input.splice(at..at, dup);
            }
            4 => {
                let depth = 1 + rng.below(5000);
                let (open, close) = if rng.below(2) == 0 {
                    ("[", "]")
                } else {
                    ("{a=", "}")
                };
                let text = format!("\nx = {}{}\n", open.repeat(depth), close.repeat(depth));
                input.extend(text.into_bytes());
            }
            5 => input.truncate(rng.below(len + 1)),
            6 => input.clear(),
            7 => {
                let other = rng.pick(corpus);
                let cut = rng.below(other.len() + 1);
                input.extend_from_slice(&other[cut..]);
            }
            8 => input.extend_from_slice(b"\n[[scheduling.tolerations]]\noperator = \"Exists\"\n"),
            _ => {
                let header = format!("\n[{}]\n", "a.".repeat(1 + rng.below(300)) + "b");
                input.extend(header.into_bytes());
            }
        }
    }
    input
}

enum Outcome {
    Rendered,
    Rejected,
    TooLarge,
}

fn through_library(input: &[u8]) -> Outcome {
    let loaded = match redkube::profile::load_bytes("fuzz.toml", input.to_vec(), &test_env) {
        Ok(l) => l,
        Err(e) => {
            assert!(
                !e.errors.is_empty(),
                "a rejection carries at least one error"
            );
            // Rendering the diagnostics must not panic either.
            let _ = format!("{:?}", miette::Report::new(e));
            return Outcome::Rejected;
        }
    };
    if loaded.pods() > 2000 {
        return Outcome::TooLarge;
    }
    let rendering = redkube::render_loaded(loaded).expect("templates render every valid profile");
    assert!(!redkube::render::to_stream(&rendering.documents).is_empty());
    Outcome::Rendered
}

fn save_crash(input: &[u8], n: usize) -> std::path::PathBuf {
    let dir = root().join("target/fuzz-crashes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("crash-{n}.toml"));
    std::fs::write(&path, input).unwrap();
    path
}

fn through_binary(input: &[u8], scratch: &std::path::Path) -> Option<String> {
    let file = scratch.join("p.toml");
    std::fs::write(&file, input).unwrap();
    let out_dir = scratch.join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_redkube"))
        .args([
            "render",
            file.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
            "--force",
        ])
        .env("REDIS_PASSWORD", TEST_PASSWORD)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0..=2) => None,
        other => Some(format!(
            "exit {other:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

#[test]
fn mutated_profiles_never_panic() {
    let seconds: u64 = std::env::var("REDKUBE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("REDKUBE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    let corpus = corpus();
    let mut rng = Rng(seed | 1);
    let scratch = tempfile::tempdir().unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut rendered, mut rejected, mut large, mut binary_runs) = (0, 0, 0, 0, 0);
    let mut crashes = Vec::new();

    // Fixed edge cases first, then mutations until the budget is spent.
    let mut fixed: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\xff\xfe\x00".to_vec(),
        b"mode = \"cluster\"\n\xc3".to_vec(),
        format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        format!("[{}]", vec!["a"; 10_000].join(".")).into_bytes(),
        b"masters = 99999999999999999999999999999".to_vec(),
    ];
    fixed.reverse();
    while Instant::now() < deadline || !fixed.is_empty() {
        let input = fixed.pop().unwrap_or_else(|| mutate(&mut rng, &corpus));
        runs += 1;
        match catch_unwind(AssertUnwindSafe(|| through_library(&input))) {
            Ok(Outcome::Rendered) => rendered += 1,
            Ok(Outcome::Rejected) => rejected += 1,
            Ok(Outcome::TooLarge) => large += 1,
            Err(_) => crashes.push(format!(
                "library panic: {}",
                save_crash(&input, runs).display()
            )),
        }
        if runs % 50 == 1 {
            binary_runs += 1;
            if let Some(failure) = through_binary(&input, scratch.path()) {
                crashes.push(format!(
                    "{failure} for {}",
                    save_crash(&input, runs).display()
                ));
            }
        }
    }
    println!(
        "fuzz: {runs} inputs in {seconds}s (seed {seed:#x}): {rendered} rendered, {rejected} rejected, \
         {large} valid but too large to render here, {binary_runs} through the binary"
    );
    assert!(crashes.is_empty(), "{}", crashes.join("\n"));
    assert!(
        rendered > 0 && rejected > 0,
        "the fuzzer must reach both outcomes"
    );
}
