pub(super) fn run(
    ctx: &super::Context,
    args: crate::cli::args::HistoryArgs,
) -> crate::error::Result<u8> {
    let _ = (ctx, args);
    Err(crate::error::Error::Internal(
        "`history`: not built yet".into(),
    ))
}
