pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::InitArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`init`: not built yet".into(),
    ))
}
