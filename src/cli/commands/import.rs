//! `import TOOL DIR`: prints what [`ops::import`](crate::ops::import) converted, per file.

use super::Context;
use crate::cli::args::ImportArgs;
use crate::error::Result;
use crate::ops::import::import;

pub(super) fn run(ctx: &Context, args: ImportArgs) -> Result<u8> {
    let outcome = import(ctx.config()?, args.tool, &args.dir)?;
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
    match outcome.written() {
        0 => ctx.printer.data(format!(
            "nothing to import: all {} revision(s) already imported",
            outcome.revisions.len()
        )),
        n => ctx.printer.data(format!("imported {n} revision(s)")),
    }
    Ok(0)
}
