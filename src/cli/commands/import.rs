//! `import TOOL DIR`: prints what [`ops::import`](crate::ops::import) converted, per file.

use super::Context;
use crate::cli::args::ImportArgs;
use crate::config::Dialect;
use crate::env::find_program;
use crate::error::{Error, Result};
use crate::import::Tool;
use crate::ops::import::{import, AlembicSql};
use crate::settings::ProcessEnv;

pub(super) fn run(ctx: &Context, args: ImportArgs) -> Result<u8> {
    let config = ctx.config()?;
    let alembic = match args.tool {
        Tool::Alembic => {
            let mut dialects: Vec<Dialect> = args.dialect.into_iter().map(Into::into).collect();
            dialects.sort();
            dialects.dedup();
            if dialects.is_empty() {
                // The URL only says which dialect: nothing connects.
                dialects.extend(ctx.database_url(&config).ok().map(|url| url.dialect()));
            }
            AlembicSql {
                program: args
                    .alembic
                    .or_else(|| find_program(&ProcessEnv, "alembic")),
                dialects,
            }
        }
        tool => {
            let flag = match (&args.alembic, args.dialect.is_empty()) {
                (Some(_), _) => Some("--alembic"),
                (None, false) => Some("--dialect"),
                (None, true) => None,
            };
            if let Some(flag) = flag {
                return Err(Error::ImportFlagNeedsAlembic {
                    flag,
                    tool: tool.name(),
                });
            }
            AlembicSql::default()
        }
    };
    let outcome = import(config, args.tool, &args.dir, alembic)?;
    if args.json {
        ctx.printer.json(&outcome);
        return Ok(0);
    }
    let name = |p: &std::path::Path| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    for r in &outcome.revisions {
        let sources: Vec<String> = r.sources.iter().map(|p| name(p)).collect();
        let sources = sources.join(" + ");
        match r.written {
            true => ctx.printer.data(format!(
                "imported {sources} as {} ({})",
                r.revision,
                r.path.display()
            )),
            false => ctx.printer.data(format!(
                "{sources}: already imported as {} ({}); left alone",
                r.revision,
                r.path.display()
            )),
        }
        if r.written && !r.reversible {
            ctx.printer.data(format!(
                "note: {sources}: no down migration, so {} is irreversible",
                r.revision
            ));
        }
        for note in &r.notes {
            ctx.printer.data(format!("note: {sources}: {note}"));
        }
    }
    for skipped in &outcome.skipped {
        ctx.printer.data(format!(
            "skipped: {}: {}",
            name(&skipped.path),
            skipped.reason
        ));
    }
    if let Some(note) = &outcome.sql_note {
        ctx.printer.data(format!("note: {note}"));
    }
    match outcome.written() {
        0 => ctx.printer.data(format!(
            "nothing to import: all {} revision(s) already imported",
            outcome.revisions.len()
        )),
        n => ctx.printer.data(format!("imported {n} revision(s)")),
    }
    Ok(0)
}
