pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::LogArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal("`log`: not built yet".into()))
}
