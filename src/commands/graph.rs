pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::GraphArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`graph`: not built yet".into(),
    ))
}
