//! The `wsgi-tutor` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = wsgi_tutor::cli::Cli::parse();
    wsgi_tutor::run(cli)
}
