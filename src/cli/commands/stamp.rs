//! `stamp REV... [--purge] [--sql]`: rewrite the version table without running migrations.

use super::upgrade;
use super::Context;
use crate::cli::args::StampArgs;
use crate::config::Dialect;
use crate::error::Result;
use crate::settings::{RunFlags, RunSettings};

pub(super) fn run(ctx: &Context, args: StampArgs) -> Result<u8> {
    let migration_lock_wait = upgrade::migration_lock_wait(ctx, &args.lock_wait);
    let flags = RunFlags {
        sql: args.sql,
        dialect: args.dialect.map(Dialect::from),
        no_backup: args.no_backup,
        migration_lock_wait,
        purge: args.purge,
        ..RunFlags::default()
    };
    upgrade::run(ctx, &RunSettings::stamp(&args.revisions, flags)?)
}
