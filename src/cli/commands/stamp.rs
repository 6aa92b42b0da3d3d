//! `stamp REV... [--purge] [--sql]`: rewrite the version table without running migrations.

use super::upgrade;
use super::Context;
use crate::cli::args::StampArgs;
use crate::config::Dialect;
use crate::error::Result;
use crate::settings::{RunFlags, RunSettings};

pub(super) fn run(ctx: &Context, args: StampArgs) -> Result<u8> {
    super::fleet::refuse_with_fleet(&args.fleet, "--sql", args.sql)?;
    let flags = RunFlags {
        sql: args.sql,
        dialect: args.dialect.map(Dialect::from),
        no_backup: args.no_backup,
        lock_timeout: Some(args.lock_timeout.0),
        purge: args.purge,
        ..RunFlags::default()
    };
    let settings = RunSettings::stamp(&args.revisions, flags)?;
    match &args.fleet.fleet {
        Some(_) => upgrade::run_fleet(ctx, &settings, &args.fleet, &args.rollout),
        None => upgrade::run(ctx, &settings, None),
    }
}
