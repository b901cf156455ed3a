//! `[mail]`: how invitation codes are mailed.
use serde::Deserialize;

/// `[mail]`: how `gatehouse invite --mail` delivers a code. Nothing is mailed unless `sendmail`
/// is set: the host's MTA is the admin's choice (exim4, postfix, msmtp-mta all provide one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// A sendmail-compatible program, e.g. `/usr/sbin/sendmail`. It is run as
    /// `PROGRAM -oi -- ADDRESS` with the message on its standard input.
    pub sendmail: Option<String>,
    /// The From: address; default: the MTA's own choice (no From: header is written).
    pub from: Option<String>,
}
