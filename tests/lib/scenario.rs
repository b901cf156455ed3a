//! The `RESULT`-line harness shared by the end-to-end suites that run one scenario script in a
//! namespace (the sshd, LDAP/web, admin, vsftpd and ProFTPD suites; included with `#[path]`).
//!
//! A scenario reports each client run as `RESULT <label> <rc> <ms> <output, newlines as |>`,
//! optionally followed by `<TAG> <label> <what the server logged meanwhile, newlines as |>`, and
//! prints blocks `== NAME` … (until the next `== ` line). Assertions fail with the client's
//! output, the server's log lines for that run, and the daemons' logs.
#![allow(dead_code)] // each suite uses its own subset of the assertions

/// `timeout SECS unshare -m -p -f --mount-proc --propagation private sh -c SCRIPT`: a scenario
/// script in private mount and PID namespaces, so every process it starts ends with it.
pub fn in_namespaces(secs: u32, script: &str) -> std::process::Command {
    let mut c = std::process::Command::new("timeout");
    c.arg(secs.to_string()).args([
        "unshare",
        "-m",
        "-p",
        "-f",
        "--mount-proc",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
    ]);
    c
}

/// One client run as the scenario reported it.
#[derive(Debug)]
pub struct Res {
    pub rc: i32,
    pub ms: u64,
    /// The client's output, lines joined by `|`.
    pub out: String,
    /// What the server logged while the client ran, lines joined by `|`.
    pub log: String,
}

/// What the scenario printed, and the logs to show on failure.
pub struct Run {
    pub results: Vec<(String, Res)>,
    pub text: String,
    /// The server the per-run log lines come from (`sshd`, `vsftpd`), for messages.
    pub server: &'static str,
    /// (name, content) of each log file, in the order they are shown.
    pub logs: Vec<(&'static str, String)>,
}

/// A namespace script's `out` as a [`Run`]: the logs named in `logs` ((name, file under `t`))
/// are read once and attached; if the script itself failed, the error shows its output and them.
pub fn from_output(
    out: &std::process::Output,
    t: &std::path::Path,
    tag: &str,
    server: &'static str,
    logs: &[(&'static str, &str)],
) -> Result<Run, String> {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let logs: Vec<(&'static str, String)> =
        logs.iter().map(|(n, f)| (*n, std::fs::read_to_string(t.join(f)).unwrap_or_default())).collect();
    if !out.status.success() {
        let all: Vec<String> = logs.iter().map(|(n, c)| format!("--- {n} log:\n{c}")).collect();
        return Err(format!(
            "namespace script failed ({}):\nstdout:\n{text}\nstderr:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            all.join("\n")
        ));
    }
    parse(text, tag, server, logs)
}

/// Parses the scenario's output; `tag` marks the per-run server log lines (`SSHDLOG`, `FTPLOG`).
pub fn parse(text: String, tag: &str, server: &'static str, logs: Vec<(&'static str, String)>) -> Result<Run, String> {
    let mut results = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(rest) = l.strip_prefix("RESULT ") else { continue };
        let mut f = rest.splitn(4, ' ');
        let label = f.next().unwrap_or_default().to_string();
        let rc = f.next().and_then(|s| s.parse().ok()).ok_or(format!("bad line {l:?}"))?;
        let ms = f.next().and_then(|s| s.parse().ok()).ok_or(format!("bad line {l:?}"))?;
        let out = f.next().unwrap_or("").to_string();
        let log = lines
            .next_if(|n| n.starts_with(&format!("{tag} {label}")))
            .map(|n| n.split_once(' ').map_or("", |x| x.1).split_once(' ').map_or("", |x| x.1).to_string())
            .unwrap_or_default();
        results.push((label, Res { rc, ms, out, log }));
    }
    Ok(Run { results, text, server, logs })
}

/// Runs `scenario` once per test binary (the first test to ask runs it) and hands every test
/// the same result; a failed scenario fails every test with its message.
pub fn once(
    cell: &'static std::sync::OnceLock<Result<Run, String>>,
    scenario: fn() -> Result<Run, String>,
) -> &'static Run {
    match cell.get_or_init(scenario) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

impl Run {
    /// The number on the scenario's line `KEY <number>` (timings such as `FLIP_MS`).
    pub fn number(&self, key: &str) -> u64 {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} line:\n{}", self.text))
    }

    pub fn get(&self, label: &str) -> &Res {
        self.results
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no result {label:?} in the scenario's output:\n{}\n{}", self.text, self.logs()))
    }

    /// The content of the log called `name`.
    pub fn log(&self, name: &str) -> &str {
        self.logs.iter().find(|(n, _)| *n == name).map_or("", |(_, c)| c.as_str())
    }

    pub fn logs(&self) -> String {
        self.logs.iter().map(|(n, c)| format!("--- {n} log:\n{c}")).collect::<Vec<_>>().join("\n")
    }

    pub fn fail(&self, label: &str, what: &str) -> ! {
        let r = self.get(label);
        panic!(
            "{label}: {what}\n--- client (rc {}, {} ms):\n{}\n--- {} meanwhile:\n{}\n{}",
            r.rc,
            r.ms,
            r.out.replace('|', "\n"),
            self.server,
            r.log.replace('|', "\n"),
            self.logs()
        )
    }

    /// The client exited with `rc`.
    pub fn rc(&self, label: &str, rc: i32) -> &Self {
        if self.get(label).rc != rc {
            self.fail(label, &format!("expected exit status {rc}"));
        }
        self
    }

    /// The client exited with a status other than 0.
    pub fn failed(&self, label: &str) -> &Self {
        if self.get(label).rc == 0 {
            self.fail(label, "expected the client to fail");
        }
        self
    }

    /// Every client run in `labels` exited 0.
    pub fn all_ok(&self, labels: &[&str]) -> &Self {
        for l in labels {
            self.rc(l, 0);
        }
        self
    }

    /// The client's output contains `needle`.
    pub fn said(&self, label: &str, needle: &str) -> &Self {
        if !self.get(label).out.contains(needle) {
            self.fail(label, &format!("expected {needle:?} in the client's output"));
        }
        self
    }

    /// The client's output does not contain `needle`.
    pub fn not_said(&self, label: &str, needle: &str) -> &Self {
        if self.get(label).out.contains(needle) {
            self.fail(label, &format!("did not expect {needle:?} in the client's output"));
        }
        self
    }

    /// The server logged `needle` while the client ran.
    pub fn logged(&self, label: &str, needle: &str) -> &Self {
        if !self.get(label).log.contains(needle) {
            self.fail(label, &format!("expected {} to log {needle:?}", self.server));
        }
        self
    }

    /// The server did not log `needle` while the client ran.
    pub fn not_logged(&self, label: &str, needle: &str) -> &Self {
        if self.get(label).log.contains(needle) {
            self.fail(label, &format!("did not expect {} to log {needle:?}", self.server));
        }
        self
    }

    /// The lines of the `== NAME` block the scenario printed.
    pub fn block(&self, name: &str) -> Vec<&str> {
        let head = format!("== {name}");
        let lines: Vec<&str> =
            self.text.lines().skip_while(|l| *l != head).skip(1).take_while(|l| !l.starts_with("== ")).collect();
        assert!(self.text.contains(&head), "no block {name:?} in:\n{}", self.text);
        lines
    }
}
