//! `schema [--json | --sql] [--table NAME]`: prints the live schema.

use super::Context;
use crate::cli::args::SchemaArgs;
use crate::error::Result;
use crate::ops;
use crate::schema::render;

pub(super) fn run(ctx: &Context, args: SchemaArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let schema = ops::schema::read(&config, &url, args.table.as_deref())?;
    if args.json {
        ctx.printer.json(&schema);
    } else if args.sql {
        ctx.printer.data_raw(&render::sql(&schema));
    } else {
        ctx.printer.data_raw(&render::text(&schema));
    }
    Ok(0)
}
