//! Time spent inside the library for one render, without process start-up, file reading or
//! the write to stdout: `redkube::render_str` (parse, validate, resolve, build the typed
//! objects, serialize them) plus `redkube::render::to_stream` (the stdout form), in a loop.
//!
//! Used by `bench/run.sh`; run it by hand with
//!
//! ```text
//! cargo run --release --example render_loop -- [--min-iters N] [--max-iters N] [--seconds S] PROFILE...
//! ```
//!
//! For each profile it renders once untimed (warm-up, and a check that the profile is valid),
//! then renders until it has done at least `--min-iters` renders and spent `--seconds`, or has
//! done `--max-iters` renders, whichever comes first, so a run is bounded both ways. It prints
//! one tab-separated line per profile: `profile iters median_us min_us bytes`. The median is
//! the figure to compare (robust to a neighbour's build stealing a core now and then); the
//! minimum is the best case, closest to the cost of the work alone.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Options {
    min_iters: usize,
    max_iters: usize,
    budget: Duration,
    profiles: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        min_iters: 5,
        max_iters: 2000,
        budget: Duration::from_secs(1),
        profiles: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--min-iters" => o.min_iters = parse(&value("--min-iters")?)?,
            "--max-iters" => o.max_iters = parse(&value("--max-iters")?)?,
            "--seconds" => {
                o.budget = Duration::from_secs_f64(parse(&value("--seconds")?)?);
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => o.profiles.push(arg),
        }
    }
    if o.profiles.is_empty() {
        return Err(
            "usage: render_loop [--min-iters N] [--max-iters N] [--seconds S] PROFILE...".into(),
        );
    }
    // At least one timed render, and never fewer than asked for at the low end.
    o.min_iters = o.min_iters.max(1);
    o.max_iters = o.max_iters.max(o.min_iters);
    Ok(o)
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

/// One render as the CLI does it for stdout, returning the output length. The result is
/// dropped inside the timed region: freeing the objects is part of the cost of a render.
fn render_once(file: &str, text: &str) -> Result<usize, String> {
    // No `password-env` lookups: the benchmark profiles use a literal or an existing Secret.
    let rendering = redkube::render_str(file, text, &|_| None)
        .map_err(|e| format!("{:?}", miette::Report::new(e)))?;
    let stream = redkube::render::to_stream(&rendering.documents);
    Ok(black_box(stream).len())
}

fn bench(file: &str, o: &Options) -> Result<(usize, Duration, Duration, usize), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let bytes = render_once(file, &text)?;
    let mut times = Vec::with_capacity(o.min_iters);
    let started = Instant::now();
    while times.len() < o.max_iters && (times.len() < o.min_iters || started.elapsed() < o.budget) {
        let t = Instant::now();
        render_once(black_box(file), black_box(&text))?;
        times.push(t.elapsed());
    }
    times.sort_unstable();
    // Upper median for an even count: never flatters the result.
    Ok((times.len(), times[times.len() / 2], times[0], bytes))
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("profile\titers\tmedian_us\tmin_us\tbytes");
    for file in &o.profiles {
        match bench(file, &o) {
            Ok((iters, median, min, bytes)) => println!(
                "{file}\t{iters}\t{:.1}\t{:.1}\t{bytes}",
                median.as_secs_f64() * 1e6,
                min.as_secs_f64() * 1e6
            ),
            Err(e) => {
                eprintln!("error: {file}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
