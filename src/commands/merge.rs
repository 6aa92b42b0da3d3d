pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::MergeArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`merge`: not built yet".into(),
    ))
}
