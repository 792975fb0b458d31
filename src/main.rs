fn main() -> std::process::ExitCode {
    backstop::cli::main()
}
