//! `gatehouse`: the admin CLI. See `gatehouse --help`.
use clap::Parser;

fn main() {
    let cli = gatehouse_server::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatehouse: error: cannot start the runtime: {e}");
            std::process::exit(2);
        }
    };
    let code = rt.block_on(gatehouse_server::cli::main(cli));
    std::process::exit(code);
}
