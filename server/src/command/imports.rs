//! `import passwd|csv|sftpgo`: the front end reads the files into [`Input`]; this parses them,
//! checks every name against the host, and imports all or nothing.
use super::{CommandError, Import, ImportKind, Imported, Input, Output};
use crate::import;
use crate::store::Store;

/// Parses an import twice: first to learn the names, which are then looked up through NSS in
/// parallel, then for real, with "is this name local?" answered from those lookups. Parsing is
/// cheap next to NSS lookups (a 100,000-user CSV parses in half a second).
fn parse_prefetched(
    checker: &dyn crate::store::LocalIds,
    parse: impl Fn(import::IsLocal<'_>) -> Result<import::ImportPlan, import::ImportError>,
    local: import::IsLocal<'_>,
) -> Result<import::ImportPlan, CommandError> {
    let names: Vec<String> = parse(&|_| None)?.users.into_iter().map(|u| u.name).collect();
    checker.prefetch(&names);
    Ok(parse(local)?)
}

pub(super) async fn import(store: &Store, who: &str, i: Import, input: Input) -> Result<Output, CommandError> {
    let Import { kind, file, dry_run } = i;
    let Input { password: _, text, shadow: shadow_text } = input;
    let text = text.ok_or_else(|| CommandError::usage(format!("no text for {file}")))?;
    let checker = store.import_checker();
    let local = |name: &str| -> Option<String> { checker.name_taken(name) };
    let (plan, source) = match kind {
        ImportKind::Passwd { shadow, keep_uids } => {
            let opts = import::passwd::PasswdOptions { keep_uids, ..Default::default() };
            let sh = match (&shadow, &shadow_text) {
                (Some(n), Some(t)) => Some((t.as_str(), n.as_str())),
                _ => None,
            };
            let parse = |is_local: import::IsLocal<'_>| import::passwd::parse(&text, &file, sh, is_local, &opts);
            (parse_prefetched(checker.as_ref(), parse, &local)?, format!("passwd:{file}"))
        }
        ImportKind::Csv => {
            let parse = |is_local: import::IsLocal<'_>| import::csv::parse(&text, &file, is_local);
            (parse_prefetched(checker.as_ref(), parse, &local)?, format!("csv:{file}"))
        }
        ImportKind::Sftpgo => {
            let parse = |is_local: import::IsLocal<'_>| import::sftpgo::parse(&text, &file, is_local);
            (parse_prefetched(checker.as_ref(), parse, &local)?, format!("sftpgo:{file}"))
        }
    };
    // A dry run goes through every check the real import makes, then rolls back.
    let count = store.import_users(who, &source, &plan.users, checker.as_ref(), dry_run).await?;
    Ok(Output::Imported(Imported {
        dry_run,
        names: plan.users.into_iter().map(|u| u.name).collect(),
        count,
        skipped: plan.skipped.into_iter().map(|s| (s.name, s.reason)).collect(),
        notes: plan.notes,
    }))
}
