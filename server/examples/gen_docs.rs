//! Writes the .deb's man pages and shell completions into the directory given as the only
//! argument: `gatehouse.8` and one page per subcommand (`gatehouse-user-add.8`, …) generated
//! from the CLI's clap definitions (`gatehouse_server::cli::Cli`), so `--help`, the pages and
//! completion never disagree; `gatehouse.bash` and `_gatehouse` (zsh) from the same
//! definitions; and short pages for the four programs without a clap parser (gatehoused,
//! gatehouse-tasks, gatehouse-keys, gatehouse-sftp), written here as text because they take no
//! options worth generating. `packaging/build-deb.sh` runs it before `cargo deb`:
//! `cargo run --release --locked -p gatehouse-server --example gen_docs -- DIR`.
//!
//! A command's `after_help` becomes sections: a paragraph starting "Example" goes to EXAMPLES
//! (kept as typed, not filled), one starting "Exit status:" to EXIT STATUS, any other one
//! continues the DESCRIPTION.
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
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
    cli_pages(&cli, None, dir)?;
    for page in daemon_pages() {
        write_page(dir, page.name, &page.render())?;
    }
    Ok(())
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
         settings. Every key has a default; a missing file means the defaults.",
    );
    item(roff, "/var/lib/gatehouse/gatehouse.db", "The default SQLite database.");
}

fn top_see_also(roff: &mut Roff) {
    roff.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for (i, name) in ["gatehoused", "gatehouse-tasks", "gatehouse-keys", "gatehouse-sftp"].iter().enumerate() {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.extend(xref(name));
    }
    refs.push(roman(", "));
    refs.push(bold("nsswitch.conf"));
    refs.push(roman("(5), "));
    refs.push(bold("pam-auth-update"));
    refs.push(roman("(8), "));
    refs.push(bold("sshd_config"));
    refs.push(roman("(5)"));
    roff.text(refs);
    roff.control("PP", []);
    roff.text([roman("/usr/share/doc/gatehouse/README.md")]);
}

/// One paragraph of a hand-written page.
enum Para {
    /// Filled text.
    Text(&'static str),
    /// A tagged item (`.TP`).
    Item(&'static str, &'static str),
    /// Lines kept as typed.
    Pre(&'static [&'static str]),
    /// Cross references, `name(section)`.
    SeeAlso(&'static [(&'static str, &'static str)]),
}

/// A page for a program that has no clap parser.
struct Page {
    name: &'static str,
    about: &'static str,
    /// The argument lines after the name, one synopsis line each ("" for none).
    synopsis: &'static [&'static str],
    sections: &'static [(&'static str, &'static [Para])],
}

impl Page {
    fn render(&self) -> String {
        let mut roff = Roff::default();
        let src = source();
        roff.control("TH", [self.name, SECTION, "", src.as_str(), MANUAL]);
        roff.control("SH", ["NAME"]);
        roff.text([roman(format!("{} - {}", self.name, self.about))]);
        roff.control("SH", ["SYNOPSIS"]);
        for (i, args) in self.synopsis.iter().enumerate() {
            if i > 0 {
                roff.control("br", []);
            }
            if args.is_empty() {
                roff.text([bold(self.name)]);
            } else {
                roff.text([bold(self.name), roman(" "), italic(*args)]);
            }
        }
        for (heading, paras) in self.sections {
            roff.control("SH", [*heading]);
            for (i, p) in paras.iter().enumerate() {
                match p {
                    Para::Text(t) => {
                        if i > 0 {
                            roff.control("PP", []);
                        }
                        roff.text([roman(*t)]);
                    }
                    Para::Item(tag, text) => item(&mut roff, tag, text),
                    Para::Pre(lines) => preformatted(&mut roff, lines),
                    Para::SeeAlso(refs) => {
                        let mut inl = Vec::new();
                        for (j, (n, s)) in refs.iter().enumerate() {
                            if j > 0 {
                                inl.push(roman(", "));
                            }
                            inl.push(bold(*n));
                            inl.push(roman(format!("({s})")));
                        }
                        roff.text(inl);
                    }
                }
            }
        }
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = roff.to_writer(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

const CONFIG_ITEM: Para = Para::Item(
    "/etc/gatehouse/gatehouse.toml",
    "The configuration (GATEHOUSE_CONFIG overrides the path). A missing file means the defaults.",
);
const SOCKET_ITEM: Para =
    Para::Item("/run/gatehouse/socket", "gatehoused's socket, a fixed path; the answers come from the database.");

/// The pages of gatehoused, gatehouse-tasks, gatehouse-keys and gatehouse-sftp: what their
/// `main`s and DESIGN.md say they do.
fn daemon_pages() -> [Page; 4] {
    [
        Page {
            name: "gatehoused",
            about: "the gatehouse daemon behind pam_gatehouse.so, gatehouse-keys and gatehouse-sftp",
            synopsis: &[""],
            sections: &[
                (
                    "DESCRIPTION",
                    &[
                        Para::Text(
                            "gatehoused runs as the system user gatehouse and owns the gatehouse database. It answers \
                             the PAM module pam_gatehouse.so, gatehouse-keys(8) and gatehouse-sftp(8) over \
                             /run/gatehouse/socket, writes the NSS snapshot /var/lib/gatehouse/nss.db that \
                             libnss_gatehouse.so.2 maps, and writes a new snapshot within a second of any change to \
                             the database, whoever made it (the gatehouse CLI, SQL, another host). It asks \
                             gatehouse-tasks(8) to create users' root folders.",
                        ),
                        Para::Text(
                            "It takes no arguments. On start it reads the configuration, opens the database and \
                             refuses a schema that is not current (run gatehouse db migrate first), binds its socket \
                             (directory 0755, socket 0666: who may ask what is decided per request from the caller's \
                             SO_PEERCRED credentials), tells systemd it is ready when NOTIFY_SOCKET is set \
                             (Type=notify), and serves until SIGTERM or SIGINT. Logs go to standard error, which \
                             systemd sends to the journal.",
                        ),
                        Para::Text(
                            "The package's unit gatehoused.service starts it. Without systemd (containers, CI), \
                             start both daemons as root with:",
                        ),
                        Para::Pre(&[
                            "install -d -o gatehouse -g gatehouse /run/gatehouse",
                            "gatehouse-tasks &",
                            "runuser -u gatehouse -- gatehoused &",
                        ]),
                    ],
                ),
                (
                    "SIGNALS",
                    &[
                        Para::Item("SIGTERM, SIGINT", "Stop serving, remove the socket and exit."),
                        Para::Item(
                            "SIGHUP",
                            "Re-read and check the configuration and log whether it is valid. Changes take effect \
                             at the next start.",
                        ),
                    ],
                ),
                (
                    "EXIT STATUS",
                    &[Para::Text("0 after SIGTERM or SIGINT; 1 when it cannot start (the reason is logged).")],
                ),
                (
                    "ENVIRONMENT",
                    &[
                        Para::Item("GATEHOUSE_CONFIG", "The configuration file to read instead of the default."),
                        Para::Item("NOTIFY_SOCKET", "Set by systemd; readiness is sent there."),
                    ],
                ),
                (
                    "FILES",
                    &[
                        CONFIG_ITEM,
                        Para::Item("/var/lib/gatehouse/gatehouse.db", "The default SQLite database."),
                        Para::Item(
                            "/var/lib/gatehouse/nss.db",
                            "The NSS snapshot (0644, public fields only), replaced by rename.",
                        ),
                        SOCKET_ITEM,
                        Para::Item("/run/gatehouse/tasks.socket", "gatehouse-tasks' socket."),
                    ],
                ),
                (
                    "SEE ALSO",
                    &[Para::SeeAlso(&[
                        ("gatehouse", "8"),
                        ("gatehouse-tasks", "8"),
                        ("gatehouse-keys", "8"),
                        ("gatehouse-sftp", "8"),
                        ("nsswitch.conf", "5"),
                        ("pam-auth-update", "8"),
                    ])],
                ),
            ],
        },
        Page {
            name: "gatehouse-tasks",
            about: "the root helper that creates and removes gatehouse users' root folders",
            synopsis: &[""],
            sections: &[
                (
                    "DESCRIPTION",
                    &[
                        Para::Text(
                            "gatehouse-tasks does the few things gatehouse needs root for, on request from \
                             gatehoused(8): it creates a user's root folder under an allowed prefix (home_base or \
                             root_prefixes in the configuration) with the user as owner, never changing the owner of \
                             a directory that exists, and removes a root for gatehouse user del --remove-files, \
                             never one that is shared or outside the prefixes.",
                        ),
                        Para::Text(
                            "When vsftpd configs are generated (ftp_servers, or vsftpd installed), it also writes \
                             and removes the per-user files in vsftpd_user_config_dir (default \
                             /etc/vsftpd/gatehouse, which the admin creates): root-owned, mode 0644, with \
                             local_root and write_enable, written atomically.",
                        ),
                        Para::Text(
                            "It takes no arguments, must run as root, and reads the configuration once at start. It \
                             listens on /run/gatehouse/tasks.socket: mode 0660, owner root, group gatehouse when that \
                             group exists, else 0600 root:root. Whatever the mode, only root and the user gatehouse \
                             may ask (checked with SO_PEERCRED on every connection). One request per connection, one \
                             log line per request on standard error (the journal under systemd).",
                        ),
                        Para::Text(
                            "It needs only CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE and CAP_KILL, and no network; \
                             the package's unit gatehouse-tasks.service keeps it to those. Without systemd, start it \
                             as root before gatehoused (see gatehoused(8)).",
                        ),
                    ],
                ),
                ("SIGNALS", &[Para::Item("SIGTERM, SIGINT", "Stop, remove the socket and exit.")]),
                (
                    "EXIT STATUS",
                    &[Para::Text(
                        "0 after SIGTERM or SIGINT; 1 when it cannot start (not root, bad configuration, socket \
                         error; the reason is logged).",
                    )],
                ),
                (
                    "ENVIRONMENT",
                    &[Para::Item("GATEHOUSE_CONFIG", "The configuration file to read instead of the default.")],
                ),
                ("FILES", &[CONFIG_ITEM, Para::Item("/run/gatehouse/tasks.socket", "Its socket.")]),
                ("SEE ALSO", &[Para::SeeAlso(&[("gatehoused", "8"), ("gatehouse", "8")])]),
            ],
        },
        Page {
            name: "gatehouse-keys",
            about: "sshd's AuthorizedKeysCommand for gatehouse users",
            synopsis: &["user [uid fingerprint type key]"],
            sections: &[
                (
                    "DESCRIPTION",
                    &[
                        Para::Text(
                            "sshd runs gatehouse-keys, as the unprivileged user gatehouse-keys, with the login name, \
                             the uid and the offered key's fingerprint, type and base64 (the package's drop-in \
                             /etc/ssh/sshd_config.d/gatehouse.conf sets this up):",
                        ),
                        Para::Pre(&[
                            "AuthorizedKeysCommand /usr/sbin/gatehouse-keys %u %U %f %t %k",
                            "AuthorizedKeysCommandUser gatehouse-keys",
                        ]),
                        Para::Text(
                            "It asks gatehoused(8) for the user's keys and prints them in authorized_keys form, \
                             with the options sshd then enforces itself: restrict, from=\"allowed networks\" and \
                             expiry-time=\"...\". When the offered key (the fifth argument) is given, only its line \
                             is printed. Nothing is printed for unknown, inactive, expired or SSH-disabled users, \
                             users who must change their password, or when the daemon is down: then sshd finds no \
                             key and the key login fails.",
                        ),
                        Para::Text(
                            "It reads no configuration and no environment variable; the daemon's socket is a fixed \
                             path. Errors go to standard error, which sshd logs.",
                        ),
                    ],
                ),
                (
                    "EXIT STATUS",
                    &[Para::Text(
                        "0 when the daemon answered (even with no key); 1 when it could not be asked or the output \
                         could not be written; 2 on wrong arguments.",
                    )],
                ),
                ("FILES", &[SOCKET_ITEM]),
                (
                    "SEE ALSO",
                    &[Para::SeeAlso(&[
                        ("sshd_config", "5"),
                        ("gatehoused", "8"),
                        ("gatehouse-key-add", "8"),
                        ("gatehouse", "8"),
                    ])],
                ),
            ],
        },
        Page {
            name: "gatehouse-sftp",
            about: "the SFTP server, ForceCommand and login shell of gatehouse users",
            synopsis: &["", "-c command"],
            sections: &[
                (
                    "DESCRIPTION",
                    &[
                        Para::Text(
                            "gatehouse-sftp is the login shell of every gatehouse user and the ForceCommand of the \
                             package's sshd drop-in (Match Group gatehouse-users). sshd runs it as the user, as \
                             gatehouse-sftp -c command, with the client's request in SSH_ORIGINAL_COMMAND; it \
                             decides from that variable alone and never hands anything to a shell. It is not meant \
                             to be run by hand.",
                        ),
                        Para::Text(
                            "For the sftp subsystem it is the SFTP server itself (SFTP version 3 with OpenSSH's \
                             extensions), one process per session. The user sees their root folder as /; every \
                             request is checked against the user's rules before it touches the disk, every access \
                             stays beneath the root, and after start-up the process confines itself to the root \
                             with Landlock. The session follows the database: rule changes apply to it, and \
                             deactivation or expiry ends it.",
                        ),
                        Para::Text(
                            "Legacy scp -t/-f (scp -O) and rsync --server are served only for users without path \
                             rules: their arguments are re-rooted and checked (no links, devices or specials, the \
                             user's file size cap, no deleting without delete rights), and the program runs confined \
                             to the root. Any other command, or a login without one, is refused with one line: the \
                             account has no shell.",
                        ),
                        Para::Text(
                            "The policy comes from gatehoused(8), which finds the user by the process's uid. Each \
                             session and refusal is logged to syslog (/dev/log).",
                        ),
                    ],
                ),
                (
                    "EXIT STATUS",
                    &[Para::Text(
                        "0 when the client ended the SFTP session; 1 when the request was refused, the daemon \
                         could not be asked, or the session ended on a policy change or a broken connection. A \
                         served scp or rsync exits with that program's status.",
                    )],
                ),
                (
                    "ENVIRONMENT",
                    &[
                        Para::Item("SSH_ORIGINAL_COMMAND", "The client's request, set by sshd."),
                        Para::Item("SSH_CONNECTION", "The client's address, set by sshd; IP rules use it."),
                    ],
                ),
                ("FILES", &[SOCKET_ITEM, Para::Item("/etc/shells", "Lists /usr/sbin/gatehouse-sftp.")]),
                (
                    "SEE ALSO",
                    &[Para::SeeAlso(&[
                        ("sshd_config", "5"),
                        ("gatehoused", "8"),
                        ("gatehouse-rule-add", "8"),
                        ("gatehouse", "8"),
                    ])],
                ),
            ],
        },
    ]
}
