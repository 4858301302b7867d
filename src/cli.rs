//! The command line. Every outcome maps to its exit code in [`Outcome::exit_code`]: 0 ok,
//! 1 invalid profile or a refused change (Kubernetes would refuse it, or it is a scale-in
//! that loses data), 2 usage or I/O error, 3 a redkube
//! bug.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::apply::{self, Objects};
use crate::output::{write_folder, OutputFile, KUSTOMIZATION};
use crate::profile::{self, load_file, process_env, Loaded, Mode, ProfileDiagnostic, StorageKind};
use crate::render::{kustomization, Concern};
use crate::{render_loaded, starter, Rendering};

/// `eprintln!` without its panic: a closed stderr (`2>&- `, a reader that went away) must not
/// turn an outcome into exit code 101. The exit code still tells it.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Ok,
    /// A profile was rejected; its errors were printed.
    Invalid,
    /// The new render changes what the API server refuses to update (immutable fields), or
    /// scales a Redis Cluster in without the retiring step; the refusals and their recipes
    /// were printed, and nothing was written.
    Refused,
    /// Bad arguments, or a file that could not be read or written.
    Usage,
    /// redkube failed on valid input (a template failed to render).
    Bug,
}

impl Outcome {
    fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Ok => 0,
            // A refusal is the profile's doing, like an invalid profile: the same code, so
            // scripts and CI keep one meaning for 1 ("fix the profile or force it").
            Outcome::Invalid | Outcome::Refused => 1,
            Outcome::Usage => 2,
            Outcome::Bug => 3,
        })
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "redkube",
    version,
    about = "Render production-grade Kubernetes manifests for Redis from one TOML profile"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a profile (`-` reads stdin): multi-document YAML to stdout, or one file per
    /// concern with -o. Over an earlier render in DIR, a change Kubernetes would refuse on
    /// apply (a claim template, a selector, …) or a cluster scale-in that skips the retiring
    /// step stops the write with exit 1 and a recipe.
    /// Stdout mode cannot see what is deployed: compare with `redkube diff`.
    Render {
        profile: PathBuf,
        /// Write a folder (a kustomize base) instead of stdout.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Overwrite files in DIR that redkube did not write, and write even when the change is
        /// refused (the refusals are printed as warnings).
        #[arg(long, requires = "output")]
        force: bool,
        /// Treat warnings as errors: exit 1 and write nothing.
        #[arg(long)]
        strict: bool,
    },
    /// What applying the profile's render onto an earlier render would do, object by object:
    /// created, changed (which fields), unchanged, left alone; pods that roll, Jobs that run,
    /// changes Kubernetes or the scale-in guard refuses (exit 1), RDB-format warnings. OLD is a folder from
    /// `render -o` or a file from `render > file`.
    Diff {
        /// The earlier render: a folder or a multi-document YAML file.
        old: PathBuf,
        /// The profile to render now (`-` reads stdin).
        profile: PathBuf,
        /// Treat the profile's warnings as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Check profiles without rendering anything (`-` reads stdin).
    Validate {
        #[arg(required = true)]
        profiles: Vec<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// Do not read `password-env` variables (for CI without the secret): everything else
        /// is checked.
        #[arg(long)]
        no_secrets: bool,
    },
    /// Print a commented starter profile.
    Init {
        #[arg(long, value_enum, default_value_t = ModeArg::Cluster)]
        mode: ModeArg,
        #[arg(long, value_enum, default_value_t = StorageArg::Claim)]
        storage: StorageArg,
    },
    /// Print the JSON Schema of the profile format.
    Schema,
    /// Print shell completions.
    Completions { shell: Shell },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Cluster,
    Sentinel,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StorageArg {
    Claim,
    Nfs,
    Ephemeral,
}

/// Parse arguments and run; returns the process exit code.
pub fn main() -> ExitCode {
    let outcome = match Cli::try_parse() {
        Ok(cli) => run(cli.command),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                Outcome::Usage
            } else {
                Outcome::Ok
            }
        }
    };
    outcome.exit_code()
}

fn run(command: Command) -> Outcome {
    match command {
        Command::Render {
            profile,
            output,
            force,
            strict,
        } => render_command(&profile, output.as_deref(), force, strict),
        Command::Diff {
            old,
            profile,
            strict,
        } => diff_command(&old, &profile, strict),
        Command::Validate {
            profiles,
            strict,
            no_secrets,
        } => validate_command(&profiles, strict, no_secrets),
        Command::Init { mode, storage } => {
            let mode = match mode {
                ModeArg::Cluster => Mode::Cluster,
                ModeArg::Sentinel => Mode::Sentinel,
            };
            let storage = match storage {
                StorageArg::Claim => StorageKind::Claim,
                StorageArg::Nfs => StorageKind::Nfs,
                StorageArg::Ephemeral => StorageKind::Ephemeral,
            };
            match starter::starter_profile(mode, storage) {
                Ok(text) => print_stdout([text.as_str()]),
                Err(e) => bug(&e),
            }
        }
        Command::Schema => match serde_json::to_string_pretty(&profile::json_schema()) {
            Ok(text) => print_stdout([text.as_str(), "\n"]),
            Err(e) => bug(&e),
        },
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "redkube", &mut std::io::stdout());
            Outcome::Ok
        }
    }
}

fn bug(e: &dyn std::fmt::Display) -> Outcome {
    say!("error: {e}\nThis is a bug in redkube; please report it with the profile.");
    Outcome::Bug
}

fn print_stdout<'a>(pieces: impl IntoIterator<Item = &'a str>) -> Outcome {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = pieces
        .into_iter()
        .try_for_each(|p| out.write_all(p.as_bytes()))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Outcome::Ok,
        // A closed pipe (`redkube render … | head`) is not worth a panic.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Ok,
        Err(e) => {
            say!("error: writing to stdout: {e}");
            Outcome::Usage
        }
    }
}

/// Print the warnings; under `--strict` they fail the command.
fn report_warnings(warnings: &[ProfileDiagnostic], strict: bool) -> Result<(), Outcome> {
    for w in warnings {
        say!("{:?}", miette::Report::new(w.clone()));
    }
    if strict && !warnings.is_empty() {
        say!(
            "error: {} warning(s) and --strict: nothing is written",
            warnings.len()
        );
        return Err(Outcome::Invalid);
    }
    Ok(())
}

/// What `password-env` reads: the process environment, or under `validate --no-secrets` a
/// stand-in that passes the password checks (the variable itself is not needed).
fn env_lookup(no_secrets: bool) -> impl Fn(&str) -> Option<String> {
    move |name| {
        if no_secrets {
            Some("x".repeat(32))
        } else {
            process_env(name)
        }
    }
}

/// Read a profile from a file, or from stdin for `-`.
fn read_profile(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::io::Result<Result<Loaded, profile::ProfileErrors>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)?;
        return Ok(profile::load_bytes("<stdin>", bytes, env));
    }
    load_file(path, env)
}

/// Load and resolve, printing the profile's errors.
fn load(path: &Path, no_secrets: bool) -> Result<Loaded, Outcome> {
    match read_profile(path, &env_lookup(no_secrets)) {
        Err(e) => {
            say!("error: cannot read {}: {e}", path.display());
            Err(Outcome::Usage)
        }
        Ok(Err(errors)) => {
            say!("{:?}", miette::Report::new(errors));
            Err(Outcome::Invalid)
        }
        Ok(Ok(loaded)) => Ok(loaded),
    }
}

/// Load and render, printing warnings; nothing is written unless this succeeds.
fn render_profile(path: &Path, strict: bool) -> Result<Rendering, Outcome> {
    let rendering = render_loaded(load(path, false)?).map_err(|e| bug(&e))?;
    report_warnings(&rendering.warnings, strict)?;
    Ok(rendering)
}

fn render_command(profile: &Path, output: Option<&Path>, force: bool, strict: bool) -> Outcome {
    let documents = match render_profile(profile, strict) {
        Ok(r) => r.documents,
        Err(outcome) => return outcome,
    };
    let Some(dir) = output else {
        // One write per concern: no second copy of the whole stream.
        return print_stdout(documents.iter().map(|d| d.yaml.as_str()));
    };
    if let Err(outcome) = check_earlier_render(profile, dir, &documents, force, strict) {
        return outcome;
    }
    let mut files: Vec<OutputFile<'_>> = documents
        .iter()
        .map(|d| OutputFile {
            name: d.concern.file_name(),
            content: d.yaml.clone(),
            secret: d.concern == Concern::Secret,
        })
        .collect();
    files.push(OutputFile {
        name: KUSTOMIZATION,
        content: kustomization(&documents),
        secret: false,
    });
    match write_folder(dir, &files, force) {
        Ok(summary) => {
            let mut line = format!(
                "{}: {} file(s) written, {} unchanged",
                dir.display(),
                summary.written.len(),
                summary.unchanged.len()
            );
            if !summary.removed.is_empty() {
                line += &format!(
                    "; removed {} from an earlier render",
                    summary.removed.join(", ")
                );
            }
            say!("{line}");
            if files.iter().any(|f| f.secret) {
                warn_secret_in_folder(dir);
            }
            Outcome::Ok
        }
        Err(e) => {
            say!("error: {e}");
            Outcome::Usage
        }
    }
}

/// Compare the new render with the one redkube wrote in `dir` before replacing it: warn about
/// version changes, and stop on a change the API server would refuse or a scale-in that
/// skips the retiring step (unless `--force`). Runs
/// before the first byte is written, so a refusal leaves the folder as it was. Under
/// `--strict` the version warnings fail it too, like every other warning.
fn check_earlier_render(
    profile: &Path,
    dir: &Path,
    documents: &[crate::render::Rendered],
    force: bool,
    strict: bool,
) -> Result<(), Outcome> {
    let old = match Objects::earlier_render_in(dir) {
        Ok(old) => old,
        Err(e) if force => {
            say!("warning: {e}; --force: writing without comparing with the earlier render");
            return Ok(());
        }
        Err(e) => {
            say!(
                "error: {e}\nThe earlier render in {} cannot be compared with the new one; \
                 --force writes without the comparison",
                dir.display()
            );
            return Err(Outcome::Usage);
        }
    };
    if old.is_empty() {
        return Ok(());
    }
    let new = Objects::from_rendered(documents).map_err(|e| bug(&e))?;
    // The folder still holds the earlier render after a refusal: the recipe writes it first.
    let apply = format!(
        "redkube render {} -o {} --force && kubectl apply -k {}",
        profile.display(),
        dir.display(),
        dir.display()
    );
    let apply_checked = format!(
        "redkube render {} -o {} && kubectl apply -k {}",
        profile.display(),
        dir.display(),
        dir.display()
    );
    let plan = apply::plan(&old, &new, &apply, &apply_checked);
    for note in &plan.versions {
        say!("warning: {note}");
    }
    if strict && !plan.versions.is_empty() {
        say!(
            "error: {} warning(s) and --strict: nothing is written",
            plan.versions.len()
        );
        return Err(Outcome::Invalid);
    }
    if !plan.is_refused() {
        return Ok(());
    }
    let level = if force { "warning" } else { "error" };
    if !plan.refusals.is_empty() {
        say!(
            "{level}: Kubernetes would refuse {} change(s) of this render over the one in {}:\n{}",
            plan.refusals.len(),
            dir.display(),
            plan.refusals_text("  ").trim_end()
        );
    }
    if !plan.guards.is_empty() {
        say!(
            "{level}: redkube refuses {} change(s) of this render over the one in {} \
             (Kubernetes accepts them; the scale-in guard does not):\n{}",
            plan.guards.len(),
            dir.display(),
            plan.guards_text("  ").trim_end()
        );
    }
    if force {
        if !plan.refusals.is_empty() {
            say!("warning: --force: writing anyway; apply the recipe above, or the apply fails");
        } else {
            say!(
                "warning: --force: writing anyway; applying it deletes the pods above the new \
                 count with whatever they hold"
            );
        }
        return Ok(());
    }
    say!("error: nothing is written; follow the recipe, or --force to write anyway");
    Err(Outcome::Refused)
}

/// `redkube diff OLD PROFILE`: the plan on stdout; exit 1 when Kubernetes (or the scale-in
/// guard) would refuse it.
fn diff_command(old: &Path, profile: &Path, strict: bool) -> Outcome {
    let documents = match render_profile(profile, strict) {
        Ok(r) => r.documents,
        Err(outcome) => return outcome,
    };
    let old_objects = match Objects::read(old) {
        Ok(o) => o,
        Err(e) => {
            say!("error: {e}");
            return Outcome::Usage;
        }
    };
    if old_objects.is_empty() {
        say!(
            "warning: {} holds no Kubernetes objects: everything shows as created",
            old.display()
        );
    }
    let new = match Objects::from_rendered(&documents) {
        Ok(n) => n,
        Err(e) => return bug(&e),
    };
    let apply = format!("redkube render {} | kubectl apply -f -", profile.display());
    let plan = apply::plan(&old_objects, &new, &apply, &apply);
    let title = format!(
        "redkube diff {} {}: what kubectl apply of the new render does over the earlier one",
        old.display(),
        profile.display()
    );
    match print_stdout([plan.report(&title).as_str()]) {
        Outcome::Ok if plan.is_refused() => Outcome::Refused,
        outcome => outcome,
    }
}

/// A folder is usually committed: say that the Secret would go with it, and what is safe.
fn warn_secret_in_folder(dir: &Path) {
    let secret = dir.join(Concern::Secret.file_name());
    say!(
        "warning: {} holds the password (written mode 0600). If this folder goes to Git, the \
         password goes with it, and a password read from the environment changes the Secret on \
         every render without any pod noticing. For GitOps use `auth.existing-secret` and create \
         the Secret out of band (kubectl, Sealed Secrets, External Secrets).",
        secret.display()
    );
}

fn validate_command(profiles: &[PathBuf], strict: bool, no_secrets: bool) -> Outcome {
    let mut worst = Outcome::Ok;
    for path in profiles {
        let outcome = match load(path, no_secrets)
            .and_then(|loaded| report_warnings(&loaded.warnings, strict))
        {
            Ok(()) => {
                let note = if no_secrets {
                    " (password-env variables not read)"
                } else {
                    ""
                };
                say!("{}: ok{note}", path.display());
                Outcome::Ok
            }
            Err(outcome) => outcome,
        };
        worst = worst.max(outcome);
    }
    worst
}
