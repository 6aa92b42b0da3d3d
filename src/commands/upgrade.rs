pub(super) fn run_upgrade(
    ctx: &super::Context,
    args: crate::cli::args::UpgradeArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`upgrade`: not built yet".into(),
    ))
}
pub(super) fn run_downgrade(
    ctx: &super::Context,
    args: crate::cli::args::DowngradeArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`upgrade`: not built yet".into(),
    ))
}
