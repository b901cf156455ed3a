//! `gatehouse-sftp`: see `gatehouse_sftp_hook::command`.
fn main() {
    std::process::exit(1);
}
