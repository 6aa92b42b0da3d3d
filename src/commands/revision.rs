pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::RevisionArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`revision`: not built yet".into(),
    ))
}
