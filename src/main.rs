//! The `wsgi-tutor` binary: parse the command line and hand over to the library.

use clap::Parser;

// The web server allocates a little per request (headers, bodies, futures); mimalloc's
// thread-local free lists make that markedly cheaper than glibc's malloc under load.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = wsgi_tutor::cli::Cli::parse();
    wsgi_tutor::run(cli)
}
