pub(super) fn run_backup(
    ctx: &super::Context,
    args: crate::cli::args::BackupArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`backup`: not built yet".into(),
    ))
}
pub(super) fn run_list(
    ctx: &super::Context,
    args: crate::cli::args::JsonArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`backup`: not built yet".into(),
    ))
}
pub(super) fn run_restore(
    ctx: &super::Context,
    args: crate::cli::args::RestoreArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`backup`: not built yet".into(),
    ))
}
