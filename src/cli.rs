//! The command line. Exit codes: 0 ok, 1 invalid profile, 2 usage or I/O error.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::diagnostics::ProfileDiagnostic;
use crate::output::{write_folder, KUSTOMIZATION};
use crate::profile::load::{load_file, process_env};
use crate::profile::{Mode, Profile, StorageKind};
use crate::render::{kustomization, render};
use crate::{model, starter};

/// `eprintln!` without its panic: a closed stderr (`2>&- `, a reader that went away) must not
/// turn an outcome into exit code 101. The exit code still tells it.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_INVALID: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "redkube",
    version,
    about = "Render production-grade Kubernetes manifests for Redis from one TOML profile"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a profile: multi-document YAML to stdout, or one file per concern with -o.
    Render {
        profile: PathBuf,
        /// Write a folder (a kustomize base) instead of stdout.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Overwrite files in DIR that redkube did not write.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Check profiles without rendering anything.
    Validate {
        #[arg(required = true)]
        profiles: Vec<PathBuf>,
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
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    run(cli.command)
}

fn run(command: Command) -> i32 {
    match command {
        Command::Render {
            profile,
            output,
            force,
        } => render_command(&profile, output.as_deref(), force),
        Command::Validate { profiles } => validate_command(&profiles),
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
            print_stdout([starter::starter_profile(mode, storage).as_str()])
        }
        Command::Schema => {
            let schema = schemars::schema_for!(Profile);
            let text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
            print_stdout([text.as_str(), "\n"])
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "redkube", &mut std::io::stdout());
            EXIT_OK
        }
    }
}

fn print_stdout<'a>(pieces: impl IntoIterator<Item = &'a str>) -> i32 {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = pieces
        .into_iter()
        .try_for_each(|p| out.write_all(p.as_bytes()))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => EXIT_OK,
        // A closed pipe (`redkube render … | head`) is not worth a panic.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            say!("error: writing to stdout: {e}");
            EXIT_USAGE
        }
    }
}

fn report_warnings(warnings: Vec<ProfileDiagnostic>) {
    for w in warnings {
        say!("{:?}", miette::Report::new(w));
    }
}

/// Load and validate, printing diagnostics; `Err` carries the exit code.
fn load(path: &Path) -> Result<model::Model, i32> {
    match load_file(path, &process_env) {
        Err(e) => {
            say!("error: cannot read {}: {e}", path.display());
            Err(EXIT_USAGE)
        }
        Ok(Err(errors)) => {
            say!("{:?}", miette::Report::new(errors));
            Err(EXIT_INVALID)
        }
        Ok(Ok(loaded)) => {
            report_warnings(loaded.warnings);
            Ok(model::Model::resolve(&loaded.profile, loaded.env_password))
        }
    }
}

fn render_command(profile: &Path, output: Option<&Path>, force: bool) -> i32 {
    let model = match load(profile) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let documents = render(&model);
    match output {
        // One write per concern: no second copy of the whole stream.
        None => print_stdout(documents.iter().map(|d| d.yaml.as_str())),
        Some(dir) => {
            let mut files: Vec<(&str, String)> = documents
                .iter()
                .map(|d| (d.concern.file_name(), d.yaml.clone()))
                .collect();
            files.push((KUSTOMIZATION, kustomization(&documents)));
            match write_folder(dir, &files, force) {
                Ok(()) => {
                    say!("wrote {} files to {}", files.len(), dir.display());
                    EXIT_OK
                }
                Err(e) => {
                    say!("error: {e}");
                    EXIT_USAGE
                }
            }
        }
    }
}

fn validate_command(profiles: &[PathBuf]) -> i32 {
    let mut code = EXIT_OK;
    for path in profiles {
        match load(path) {
            Ok(_) => say!("{}: ok", path.display()),
            Err(c) => code = code.max(c),
        }
    }
    code
}
