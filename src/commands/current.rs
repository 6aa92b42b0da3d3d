pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::JsonArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`current`: not built yet".into(),
    ))
}
