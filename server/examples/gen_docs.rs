//! Writes the .deb's generated man pages and shell completions into the directory given as the
//! only argument: `gatehouse.8` and one page per subcommand (`gatehouse-user-add.8`, …) generated
//! from the CLI's clap definitions (`gatehouse_server::cli::Cli`), so `--help`, the pages and
//! completion never disagree; `gatehouse.bash` and `_gatehouse` (zsh) from the same definitions.
//! The pages of the programs without a clap parser (gatehoused, gatehouse-tasks, gatehouse-keys,
//! gatehouse-sftp), of the modules (pam_gatehouse, libnss_gatehouse) and of the configuration
//! file (gatehouse.toml(5)) are hand-written roff in `docs/man/`, which `packaging/build-deb.sh`
//! copies beside these. It runs this before `cargo deb`:
//! `cargo run --release --locked -p gatehouse-server --example gen_docs -- DIR`.
//!
//! A command's `after_help` becomes sections: a paragraph starting "Example" goes to EXAMPLES
//! (kept as typed, not filled), one starting "Exit status:" to EXIT STATUS, any other one
//! continues the DESCRIPTION.
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Inline, Roff};
use clap_mangen::Man;
use std::io::Write;
use std::path::Path;

/// Every page is in section 8: all the programs are in /usr/sbin.
const SECTION: &str = "8";
/// The `.TH` manual name (the centre of the page header).
const MANUAL: &str = "gatehouse";
/// What `roff` puts at the top of every rendering; kept once per page.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: gen_docs DIR");
        std::process::exit(2);
    };
    if let Err(e) = generate(Path::new(dir)) {
        eprintln!("gen_docs: {e}");
        std::process::exit(1);
    }
}

fn generate(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut cli = gatehouse_server::cli::Cli::command();
    // Completion follows the real parser (the `help` subcommand included).
    clap_complete::generate_to(Shell::Bash, &mut cli, "gatehouse", dir)?;
    clap_complete::generate_to(Shell::Zsh, &mut cli, "gatehouse", dir)?;
    // Pages: `help` would be a page of its own; the same text is in every page anyway.
    // (A fresh command: completion generation has already added the `help` subcommands.)
    let mut cli = gatehouse_server::cli::Cli::command().disable_help_subcommand(true);
    cli.build();
    cli_pages(&cli, None, dir)
}

fn source() -> String {
    format!("gatehouse {}", env!("CARGO_PKG_VERSION"))
}

/// A cross reference: `name(8)`.
fn xref(name: &str) -> [Inline; 2] {
    [bold(name), roman(format!("({SECTION})"))]
}

fn write_page(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(dir.join(format!("{name}.{SECTION}")))?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

/// The page of `cmd` (already built, so its display name is `gatehouse-user-add`), then its
/// subcommands' pages.
fn cli_pages(cmd: &clap::Command, parent: Option<&str>, dir: &Path) -> std::io::Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_string();
    let man = Man::new(cmd.clone()).section(SECTION).source(source()).manual(MANUAL);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;

    let extra = after_help(cmd);
    let mut roff = Roff::default();
    for para in &extra.notes {
        roff.control("PP", []);
        for line in para {
            roff.text([roman(line.as_str())]);
        }
    }
    if parent.is_none() {
        top_description(&mut roff);
    }
    roff.to_writer(&mut out)?;

    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }

    let mut roff = Roff::default();
    if parent.is_none() {
        top_sections(&mut roff);
    } else if !extra.exit.is_empty() {
        roff.control("SH", ["EXIT STATUS"]);
        for line in &extra.exit {
            roff.text([roman(line.as_str())]);
        }
    }
    if !extra.examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        preformatted(&mut roff, &extra.examples);
    }
    if parent.is_none() {
        top_see_also(&mut roff);
    }
    if let Some(parent) = parent {
        roff.control("SH", ["SEE ALSO"]);
        let mut refs: Vec<Inline> = xref(parent).into();
        if parent != "gatehouse" {
            refs.push(roman(", "));
            refs.extend(xref("gatehouse"));
        }
        roff.text(refs);
    }
    roff.to_writer(&mut out)?;
    write_page(dir, &name, &once_preamble(&out))?;

    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        cli_pages(sub, Some(&name), dir)?;
    }
    Ok(())
}

/// Keeps the apostrophe preamble once, at the top (each `render_*` call starts with it).
fn once_preamble(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out).replace(PREAMBLE, "");
    format!("{PREAMBLE}{text}")
}

/// A command's `after_help`, split by kind of paragraph.
#[derive(Default)]
struct AfterHelp {
    notes: Vec<Vec<String>>,
    exit: Vec<String>,
    examples: Vec<String>,
}

fn after_help(cmd: &clap::Command) -> AfterHelp {
    let mut parts = AfterHelp::default();
    let Some(text) = cmd.get_after_help() else { return parts };
    let text = text.to_string();
    for para in text.split("\n\n") {
        let lines: Vec<String> = para.lines().map(str::to_string).collect();
        let Some(first) = lines.first() else { continue };
        if first.starts_with("Example") {
            parts.examples.extend(lines[1..].iter().map(|l| l.trim_start().to_string()));
        } else if let Some(rest) = first.strip_prefix("Exit status:") {
            parts.exit.push(rest.trim_start().to_string());
            parts.exit.extend_from_slice(&lines[1..]);
        } else {
            parts.notes.push(lines);
        }
    }
    parts
}

/// Lines kept as they are, indented, in a no-fill block.
fn preformatted<S: AsRef<str>>(roff: &mut Roff, lines: &[S]) {
    roff.control("PP", []);
    roff.control("RS", ["4"]);
    roff.control("nf", []);
    for line in lines {
        roff.text([roman(line.as_ref())]);
    }
    roff.control("fi", []);
    roff.control("RE", []);
}

/// A `.TP` item: a bold tag and its text.
fn item(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(tag)]);
    roff.text([roman(text)]);
}

fn top_description(roff: &mut Roff) {
    roff.control("PP", []);
    roff.text([roman(
        "The command works on the database directly, through the same store code as the daemon, so it does not \
         need gatehoused running; gatehoused notices every change and updates the NSS snapshot within a second. \
         Every command either succeeds completely or changes nothing. Users and groups are named by name or by \
         their UUID. Each command has a page of its own, named after it: ",
    )]);
    let mut refs: Vec<Inline> = xref("gatehouse-user-add").into();
    refs.push(roman(" for "));
    refs.push(bold("gatehouse user add"));
    refs.push(roman("."));
    roff.text(refs);
}

fn top_sections(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "0 on success. 2 on an error, with one line on standard error; nothing has been changed. \
         1 from check when a decision denies, and from status when a part is not in place. \
         141 when standard output is closed early (as by SIGPIPE).",
    )]);
    roff.control("SH", ["ENVIRONMENT"]);
    item(roff, "GATEHOUSE_CONFIG", "The configuration file to read instead of /etc/gatehouse/gatehouse.toml.");
    roff.control("SH", ["FILES"]);
    item(
        roff,
        "/etc/gatehouse/gatehouse.toml",
        "The configuration: database, home_base, root_prefixes, id range, protocols, password and lockout \
         settings. Every key has a default; a missing file means the defaults. See gatehouse.toml(5).",
    );
    item(roff, "/var/lib/gatehouse/gatehouse.db", "The default SQLite database.");
}

fn top_see_also(roff: &mut Roff) {
    roff.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for (i, name) in
        ["gatehoused", "gatehouse-tasks", "gatehouse-keys", "gatehouse-sftp", "pam_gatehouse", "libnss_gatehouse"]
            .iter()
            .enumerate()
    {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.extend(xref(name));
    }
    refs.push(roman(", "));
    refs.push(bold("gatehouse.toml"));
    refs.push(roman("(5), "));
    refs.push(bold("nsswitch.conf"));
    refs.push(roman("(5), "));
    refs.push(bold("pam-auth-update"));
    refs.push(roman("(8), "));
    refs.push(bold("sshd_config"));
    refs.push(roman("(5)"));
    roff.text(refs);
    roff.control("PP", []);
    roff.text([roman("/usr/share/doc/gatehouse/README.md, /usr/share/doc/gatehouse/docs/admin-guide.md")]);
}
