pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::CheckArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`check`: not built yet".into(),
    ))
}
