fn main() {
    std::process::exit(redkube::cli::main());
}
