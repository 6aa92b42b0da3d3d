pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::StampArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`stamp`: not built yet".into(),
    ))
}
