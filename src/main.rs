fn main() -> std::process::ExitCode {
    redkube::cli::main()
}
