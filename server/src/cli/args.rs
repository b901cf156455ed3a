//! The command-line definitions. Man pages and shell completions are generated from these same
//! definitions, so `--help`, the man page and completion never disagree.
use clap::{Args, Parser, Subcommand};

/// Manage gatehouse users, groups, keys and rules.
#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Manage gatehouse users: SFTP, SCP, rsync and FTP accounts kept in one database",
    after_help = "Examples:
  echo 'correct horse battery staple' | gatehouse user add alice --password-stdin --email alice@example.com
  gatehouse rule add alice /uploads write
  gatehouse check alice --ip 203.0.113.7 --protocol ssh --path /uploads/x --op upload
  gatehouse export --json > backup.json

The configuration is /etc/gatehouse/gatehouse.toml (GATEHOUSE_CONFIG overrides it for this command)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Clone, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per command; boxing would only add noise to every match")]
pub enum Command {
    /// Add, change, show, list and delete users.
    #[command(subcommand)]
    User(UserCmd),
    /// Set a user's password (prompts twice on a terminal, or reads one line with --stdin).
    #[command(
        after_help = "Examples:\n  gatehouse passwd alice\n  printf '%s\\n' \"$NEWPW\" | gatehouse passwd alice --stdin"
    )]
    Passwd {
        /// User name or id.
        name: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Add, list and delete a user's SSH public keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Turn a user's TOTP second factor on or off.
    #[command(subcommand)]
    Totp(TotpCmd),
    /// Issue a one-time code with which the user logs in once and must then choose a password.
    #[command(after_help = "The code is printed once (only its hash is stored); a new invitation replaces the user's
earlier unused one. The user types it at the password prompt over SSH keyboard-interactive
(not FTP), and must then choose a new password.

With --mail the code goes to the user's email address through the sendmail program set in
gatehouse.toml ([mail] sendmail = \"/usr/sbin/sendmail\", optional from = \"...\") and is not
printed; if the program fails, nothing is stored and the earlier invitation stands.

Examples:
  gatehouse invite alice
  gatehouse invite alice --expires-in 24h
  gatehouse invite alice --mail
  gatehouse invite alice --json")]
    Invite {
        /// User name or id.
        name: String,
        /// How long the code works: a number with s, m, h or d.
        #[arg(long, value_name = "DURATION", default_value = "72h")]
        expires_in: String,
        /// Mail the code to the user's email address instead of printing it.
        #[arg(long)]
        mail: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// App passwords: per-application secrets for FTP clients and scripts (no TOTP code).
    #[command(subcommand)]
    Apppass(AppPassCmd),
    /// Add, list and delete a user's path rules.
    #[command(subcommand)]
    Rule(RuleCmd),
    /// Manage groups, their members and their rules.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Explain what a user may do: login, address, protocol, and an operation on a path.
    #[command(after_help = "Exit status: 0 when every decision asked for allows, 1 when one denies, 2 on an error.

Operations: list, download, upload, overwrite, setstat, mkdir, rmdir, delete, rename, symlink, stat.
PATH is the path the client sees (\"/\" is the user's root).

Examples:
  gatehouse check alice
  gatehouse check alice --ip 2001:db8::5 --protocol ftp
  gatehouse check alice --path /clients/acme/in/report.pdf --op download
  gatehouse check alice --path /in/a.txt --op rename --to /archive/a.txt --target-exists")]
    Check(CheckArgs),
    /// Import users from another system (all or nothing).
    #[command(subcommand)]
    Import(ImportCmd),
    /// Write every user and group as JSON to standard output.
    #[command(after_help = "Example:\n  gatehouse export --json > gatehouse-backup.json")]
    Export {
        /// JSON output (the only format).
        #[arg(long)]
        json: bool,
    },
    /// Clear a user's failed-login count and lock.
    #[command(after_help = "Example:\n  gatehouse unlock alice")]
    Unlock {
        /// User name or id.
        name: String,
    },
    /// Show whether the database, daemon, snapshot, nsswitch, PAM and sshd are wired in.
    #[command(after_help = "Exit status: 0 when every part is in place, 1 otherwise.

Example:
  gatehouse status
  gatehouse status --json")]
    Status {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Database schema: apply migrations or show their state.
    #[command(subcommand)]
    Db(DbCmd),
    /// Delegated administration: roles for local Unix accounts and groups (root only).
    #[command(subcommand)]
    Admin(AdminCmd),
}

/// `gatehouse admin …`
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCmd {
    /// Let a local account, or every member of a Unix group, manage users without root.
    #[command(after_help = "Without --group the role covers every user (a full admin); with --group G only the
members of G, and a group admin can neither give admin rights, nor change groups, nor take
users out of their groups. Such accounts run `gatehouse user …` as themselves: the command
goes to gatehoused, which checks the caller's uid and Unix groups against the roles.
Roles of gatehouse users are set with `gatehouse user set NAME --admin [--admin-group G]`.

Examples:
  gatehouse admin grant alice --group acme
  gatehouse admin grant %helpdesk --group acme
  gatehouse admin grant bob")]
    Grant {
        /// A local account, or %unixgroup.
        principal: String,
        /// The gatehouse group the role manages (default: every user).
        #[arg(long, value_name = "G")]
        group: Option<String>,
    },
    /// Take a role away (the same account or %unixgroup and --group as granted).
    #[command(after_help = "Example:\n  gatehouse admin revoke alice --group acme")]
    Revoke {
        /// A local account, or %unixgroup.
        principal: String,
        /// The group of the role (default: the full-admin role).
        #[arg(long, value_name = "G")]
        group: Option<String>,
    },
    /// List every role (Unix accounts and groups, and gatehouse users with the admin flag).
    #[command(after_help = "Example:\n  gatehouse admin list\n  gatehouse admin list --json")]
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// Fields shared by `user add` and `user set`.
#[derive(Debug, Clone, Args, Default)]
pub struct UserFields {
    /// Email address.
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
    /// Display name (the passwd GECOS field).
    #[arg(long, value_name = "D")]
    pub display_name: Option<String>,
    /// Locale tag, e.g. en_GB or de_DE.UTF-8 ("" clears it).
    #[arg(long, value_name = "L")]
    pub locale: Option<String>,
    /// Time zone from the system tz database, e.g. Europe/Berlin ("" clears it).
    #[arg(long, value_name = "TZ")]
    pub time_zone: Option<String>,
    /// The folder the user sees as "/"; must lie under home_base or root_prefixes.
    #[arg(long, value_name = "DIR")]
    pub root: Option<String>,
    /// r (read-only) or rw; a cap over every rule.
    #[arg(long, value_name = "r|rw")]
    pub mode: Option<String>,
    /// Existing data cannot be destroyed: no delete, overwrite, truncate or replacing rename.
    #[arg(long, conflicts_with = "delete")]
    pub no_delete: bool,
    /// Allow delete again (undoes --no-delete).
    #[arg(long)]
    pub delete: bool,
    /// Allowed client network (CIDR or address); repeat for more. Replaces the list.
    #[arg(long = "allow-ip", value_name = "CIDR")]
    pub allow_ip: Vec<String>,
    /// Denied client network; repeat for more. Replaces the list.
    #[arg(long = "deny-ip", value_name = "CIDR")]
    pub deny_ip: Vec<String>,
    /// Comma-separated protocols: ssh (SFTP, SCP, rsync), ftp, or any name a site maps.
    #[arg(long, value_name = "P,P")]
    pub protocols: Option<String>,
    /// Refuse logins after this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Group membership; repeat for more. Replaces the memberships.
    #[arg(long = "group", value_name = "G")]
    pub group: Vec<String>,
    /// Largest file the user may upload (e.g. 500M); 0 removes the cap.
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,
    /// Where the password is checked: local (the stored hash) or ldap (a bind against the
    /// [ldap] directory; switching to ldap removes the local hash).
    #[arg(long, value_name = "local|ldap")]
    pub password_source: Option<gatehouse_policy::model::PasswordSource>,
    /// Which hosts of a fleet serve the user.
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// Host scoping (fleets): `--hosts` and `--host-groups` together set the one `hosts` list, and
/// replace it whole; `--hosts ''` clears it (served on every host, or as the groups say).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScopeArgs {
    /// Comma-separated host names ([fleet] host) that serve this user or group's members.
    #[arg(long, value_name = "H,H")]
    pub hosts: Option<String>,
    /// Comma-separated host groups ([fleet] host_groups) that serve them; stored as @NAME.
    #[arg(long, value_name = "G,G")]
    pub host_groups: Option<String>,
}

impl ScopeArgs {
    /// The `hosts` list these options set, if they set one.
    pub fn list(&self) -> Option<Vec<String>> {
        if self.hosts.is_none() && self.host_groups.is_none() {
            return None;
        }
        let split = |s: &Option<String>| -> Vec<String> {
            s.as_deref().unwrap_or("").split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
        };
        let mut v = split(&self.hosts);
        v.extend(split(&self.host_groups).into_iter().map(|g| format!("@{}", g.trim_start_matches('@'))));
        Some(v)
    }
}

/// `gatehouse user …`
#[derive(Debug, Clone, Subcommand)]
pub enum UserCmd {
    /// Create a user.
    #[command(after_help = "Examples:
  echo 'a long passphrase here' | gatehouse user add alice --password-stdin
  gatehouse user add bob --root /srv/gatehouse/shared/bob --mode r --allow-ip 10.0.0.0/8
  gatehouse user add carol --protocols ftp --expires 2027-01-31 --group acme --no-delete
  gatehouse user add dave --password-source ldap    # password checked by the [ldap] directory")]
    Add {
        /// Login name: lowercase letters, digits, '_', '-', '.'; at most 32 characters.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Create the account disabled.
        #[arg(long)]
        inactive: bool,
        /// Use this uid instead of allocating one (must be free and in the configured range).
        #[arg(long)]
        uid: Option<u32>,
        /// Profile, root, mode, IPs, protocols, expiry, groups.
        #[command(flatten)]
        fields: UserFields,
    },
    /// Change a user; only the options given change.
    #[command(after_help = "Examples:
  gatehouse user set alice --mode r
  gatehouse user set alice --allow-ip 192.0.2.0/24 --allow-ip 2001:db8::/32
  gatehouse user set alice --clear-allow-ip --no-expires
  gatehouse user set alice --inactive
  gatehouse user set alice --name alice.smith    # rename
  gatehouse user set 3f2c8a1e-5b7d-4c2a-9e0f-1a2b3c4d5e6f --time-zone Europe/Berlin --locale de_DE

A rename keeps the id, uid, keys, rules, groups, TOTP secret and the root folder, which is not
moved or renamed (move it yourself and set --root if its name should follow). The new name must
be free here and on the host.")]
    Set {
        /// User name or id.
        name: String,
        /// Rename the user to NEW.
        #[arg(long = "name", value_name = "NEW")]
        new_name: Option<String>,
        /// Enable the account.
        #[arg(long, conflicts_with = "inactive")]
        active: bool,
        /// Disable the account (every connection is refused).
        #[arg(long)]
        inactive: bool,
        /// Remove every allowed network (any address, unless a group restricts).
        #[arg(long, conflicts_with = "allow_ip")]
        clear_allow_ip: bool,
        /// Remove every denied network.
        #[arg(long, conflicts_with = "deny_ip")]
        clear_deny_ip: bool,
        /// Remove the expiry.
        #[arg(long, conflicts_with = "expires")]
        no_expires: bool,
        /// Remove every group membership.
        #[arg(long, conflicts_with = "group")]
        no_groups: bool,
        /// Make the user an admin: of every user, or of the --admin-group groups (root only).
        /// They manage users with `ssh NAME@host gatehouse user …`.
        #[arg(long, conflicts_with = "no_admin")]
        admin: bool,
        /// With --admin: the group they manage; repeat for more.
        #[arg(long = "admin-group", value_name = "G", requires = "admin")]
        admin_group: Vec<String>,
        /// Take the admin flag and every admin role away (root only).
        #[arg(long)]
        no_admin: bool,
        /// Profile, root, mode, IPs, protocols, expiry, groups.
        #[command(flatten)]
        fields: UserFields,
    },
    /// Show one user.
    #[command(after_help = "Examples:\n  gatehouse user show alice\n  gatehouse user show alice --json")]
    Show {
        /// User name or id.
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// List users ordered by name; filters narrow the list (all given must hold).
    #[command(after_help = "Filter fields: name, email, display_name, locale, time_zone, root, mode,
password_source (exact match; with * a case-insensitive pattern), and protocol (the user's own
protocol list has it).

Examples:
  gatehouse user list
  gatehouse user list --json --limit 100 --after alice
  gatehouse user list --filter 'email=*@acme.example'
  gatehouse user list --filter time_zone=Europe/Berlin --filter protocol=ftp
  gatehouse user list --group acme --inactive
  gatehouse user list --expired --json
  gatehouse user list --locked")]
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// FIELD=VALUE; repeat for more.
        #[arg(long, value_name = "FIELD=VALUE")]
        filter: Vec<String>,
        /// Only disabled accounts.
        #[arg(long)]
        inactive: bool,
        /// Only accounts whose expiry has passed.
        #[arg(long)]
        expired: bool,
        /// Only accounts locked out now after failed logins.
        #[arg(long)]
        locked: bool,
        /// Only members of this group (name or id).
        #[arg(long, value_name = "G")]
        group: Option<String>,
        /// At most this many users.
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Start after this name (paging).
        #[arg(long, value_name = "NAME")]
        after: Option<String>,
    },
    /// Delete a user; their files stay unless --remove-files is given.
    #[command(after_help = "Examples:\n  gatehouse user del alice\n  gatehouse user del alice --remove-files")]
    Del {
        /// User name or id.
        name: String,
        /// Also remove the user's root folder (refused if shared or outside the allowed prefixes).
        #[arg(long)]
        remove_files: bool,
    },
}

/// `gatehouse totp …`
#[derive(Debug, Clone, Subcommand)]
pub enum TotpCmd {
    /// Give a user a new TOTP secret; prints it and the otpauth:// URI once.
    #[command(after_help = "Over SSH the user is asked for the code after the password (and after a key); over FTP
the code is appended to the password. Each code is accepted once.

Examples:
  gatehouse totp enable alice
  gatehouse totp enable alice --replace     # a lost phone: the old secret stops working
  gatehouse totp enable alice --json")]
    Enable {
        /// User name or id.
        name: String,
        /// Replace an existing secret.
        #[arg(long)]
        replace: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Remove a user's TOTP secret.
    #[command(after_help = "Example:\n  gatehouse totp disable alice")]
    Disable {
        /// User name or id.
        name: String,
    },
}

/// `gatehouse apppass …`
#[derive(Debug, Clone, Subcommand)]
pub enum AppPassCmd {
    /// Issue an app password; the secret is printed once (only its hash is stored).
    #[command(after_help = "An app password is accepted wherever the user's password is, for the protocols given
(default: every protocol the user has), and never asks for a TOTP code: it is the way in for
FTP clients and scripts that cannot do TOTP. It looks like ghap_<id>_<secret>; the id part is
shown by `apppass list` and in the daemon's log, which names the label used, never the secret.

Examples:
  gatehouse apppass add alice --label filezilla --protocols ftp
  gatehouse apppass add alice --label backup-script --protocols ftp,ssh --expires 2027-06-30
  gatehouse apppass add alice --label ci --json")]
    Add {
        /// User name or id.
        name: String,
        /// A name for it, unique per user (used to revoke it).
        #[arg(long, value_name = "L")]
        label: String,
        /// Comma-separated protocols it may be used for (default: all the user has).
        #[arg(long, value_name = "P,P")]
        protocols: Option<String>,
        /// Stop accepting it after this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// List a user's app passwords (labels, ids, protocols, expiry, last use; never secrets).
    #[command(after_help = "Example:\n  gatehouse apppass list alice\n  gatehouse apppass list alice --json")]
    List {
        /// User name or id.
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an app password by label; it stops working at once.
    #[command(after_help = "Example:\n  gatehouse apppass revoke alice --label filezilla")]
    Revoke {
        /// User name or id.
        name: String,
        /// The label given at `apppass add`.
        #[arg(long, value_name = "L")]
        label: String,
    },
}

/// `gatehouse key …`
#[derive(Debug, Clone, Subcommand)]
pub enum KeyCmd {
    /// Add a public key (the OpenSSH one-line form, or --file).
    #[command(
        after_help = "Examples:\n  gatehouse key add alice 'ssh-ed25519 AAAAC3Nz... alice@laptop'\n  gatehouse key add alice --file ~/.ssh/id_ed25519.pub"
    )]
    Add {
        /// User name or id.
        user: String,
        /// The key line.
        #[arg(required_unless_present = "file")]
        key: Option<String>,
        /// Read key lines from a file ("-" for standard input); one per line.
        #[arg(long, conflicts_with = "key")]
        file: Option<String>,
    },
    /// List a user's keys with their SHA256 fingerprints.
    List {
        /// User name or id.
        user: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Delete a key by fingerprint (SHA256:…) or by comment.
    #[command(after_help = "Example:\n  gatehouse key del alice SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")]
    Del {
        /// User name or id.
        user: String,
        /// Fingerprint or comment.
        key: String,
    },
}

/// `gatehouse rule …`
#[derive(Debug, Clone, Subcommand)]
pub enum RuleCmd {
    /// Set the level of a path (replaces an existing rule for the same path).
    #[command(after_help = "Levels: none, list, read, upload (drop box: new files only), write.
Wildcards *, ? and [..] match within one path component.

Examples:
  gatehouse rule add alice / read
  gatehouse rule add alice /uploads write
  gatehouse rule add alice '/clients/*/in' upload
  gatehouse rule add alice /secret none")]
    Add {
        /// User name or id.
        user: String,
        /// Path as the user sees it ("/" is their root).
        path: String,
        /// none, list, read, upload or write.
        level: String,
    },
    /// List a user's rules.
    List {
        /// User name or id.
        user: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user's rule for a path.
    Del {
        /// User name or id.
        user: String,
        /// The rule's path, exactly as listed.
        path: String,
    },
}

/// `gatehouse group …`
#[derive(Debug, Clone, Subcommand)]
pub enum GroupCmd {
    /// Create a group.
    #[command(
        after_help = "Example:\n  gatehouse group add acme --description 'ACME Corp' --allow-ip 198.51.100.0/24 --protocols ssh"
    )]
    Add {
        /// Group name.
        name: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
        /// Allowed client network for members; repeat for more.
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allow_ip: Vec<String>,
        /// Denied client network for members; repeat for more.
        #[arg(long = "deny-ip", value_name = "CIDR")]
        deny_ip: Vec<String>,
        /// Comma-separated protocols granted to members.
        #[arg(long, value_name = "P,P", default_value = "")]
        protocols: String,
        /// Which hosts of a fleet serve the members.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Change a group; only the options given change.
    #[command(after_help = "Examples:
  gatehouse group set acme --protocols ssh
  gatehouse group set acme --name acme-corp    # rename: id, gid, rules and members stay")]
    Set {
        /// Group name or id.
        name: String,
        /// Rename the group to NEW.
        #[arg(long = "name", value_name = "NEW")]
        new_name: Option<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// Allowed networks; replaces the list.
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allow_ip: Vec<String>,
        /// Remove every allowed network.
        #[arg(long, conflicts_with = "allow_ip")]
        clear_allow_ip: bool,
        /// Denied networks; replaces the list.
        #[arg(long = "deny-ip", value_name = "CIDR")]
        deny_ip: Vec<String>,
        /// Remove every denied network.
        #[arg(long, conflicts_with = "deny_ip")]
        clear_deny_ip: bool,
        /// Comma-separated protocols; replaces the set.
        #[arg(long, value_name = "P,P")]
        protocols: Option<String>,
        /// Which hosts of a fleet serve the members.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// List groups.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one group.
    Show {
        /// Group name or id.
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Delete a group (members stay, without the membership).
    Del {
        /// Group name or id.
        name: String,
    },
    /// List, add or remove members.
    #[command(
        after_help = "Examples:\n  gatehouse group members acme\n  gatehouse group members acme --add alice --add bob\n  gatehouse group members acme --remove bob"
    )]
    Members {
        /// Group name or id.
        name: String,
        /// Add this user; repeat for more.
        #[arg(long, value_name = "USER")]
        add: Vec<String>,
        /// Remove this user; repeat for more.
        #[arg(long, value_name = "USER", conflicts_with = "add")]
        remove: Vec<String>,
        /// JSON output (listing).
        #[arg(long)]
        json: bool,
    },
    /// Add, list and delete a group's rules.
    #[command(subcommand)]
    Rule(GroupRuleCmd),
}

/// `gatehouse group rule …`
#[derive(Debug, Clone, Subcommand)]
pub enum GroupRuleCmd {
    /// Set the level of a path for every member.
    #[command(after_help = "Example:\n  gatehouse group rule add acme '/clients/*/in' upload")]
    Add {
        /// Group name or id.
        group: String,
        /// Path as members see it.
        path: String,
        /// none, list, read, upload or write.
        level: String,
    },
    /// List a group's rules.
    List {
        /// Group name or id.
        group: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Delete a group's rule.
    Del {
        /// Group name or id.
        group: String,
        /// The rule's path.
        path: String,
    },
}

/// `gatehouse check …`
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// User name or id.
    pub name: String,
    /// Client address to check against the IP lists.
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,
    /// Protocol to check (ssh, ftp, ...).
    #[arg(long, value_name = "P")]
    pub protocol: Option<String>,
    /// Path the client sees; needs --op.
    #[arg(long, value_name = "PATH", requires = "op")]
    pub path: Option<String>,
    /// Operation on the path; needs --path.
    #[arg(long, value_name = "OP", requires = "path")]
    pub op: Option<String>,
    /// Rename target (with --op rename).
    #[arg(long, value_name = "PATH")]
    pub to: Option<String>,
    /// The rename target already exists (it would be replaced).
    #[arg(long)]
    pub target_exists: bool,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `gatehouse import …`
#[derive(Debug, Clone, Subcommand)]
pub enum ImportCmd {
    /// Users from another host's passwd (and shadow) file, keeping their password hashes.
    #[command(after_help = "Names that exist on this host are reported and skipped.

Example:
  gatehouse import passwd old-host/passwd old-host/shadow")]
    Passwd {
        /// The passwd file.
        passwd: String,
        /// The matching shadow file.
        shadow: Option<String>,
        /// Keep the uids from the file (they must be free and in the configured range).
        #[arg(long)]
        keep_uids: bool,
        /// Show what would be imported, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Users from a CSV file with a header row.
    #[command(after_help = "Columns (name required): name, password_hash, email, display_name, root, mode,
delete_allowed, allowed_ips, denied_ips, protocols, expires_at, max_file_size, active, groups,
keys, rules, uid, must_change_password, id (a UUID to keep, e.g. from another system), locale,
time_zone.

Example:
  gatehouse import csv users.csv")]
    Csv {
        /// The CSV file.
        file: String,
        /// Show what would be imported, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Users from an SFTPGo dump (sftpgo dumpdata / backup JSON).
    #[command(after_help = "Example:\n  gatehouse import sftpgo sftpgo-backup.json")]
    Sftpgo {
        /// The JSON dump.
        file: String,
        /// Show what would be imported, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `gatehouse db …`
#[derive(Debug, Clone, Subcommand)]
pub enum DbCmd {
    /// Apply pending schema migrations (safe to run again).
    Migrate,
    /// Show applied and pending migrations and counts.
    Status {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}
