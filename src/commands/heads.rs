pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::HeadsArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`heads`: not built yet".into(),
    ))
}
