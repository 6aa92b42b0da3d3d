pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::ShowArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`show`: not built yet".into(),
    ))
}
