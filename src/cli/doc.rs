//! Documents generated from the clap definitions: shell completions and the man page.

use super::args::{self, Shell};
use crate::error::{Error, Result};

/// `completions bash|zsh|fish`: the completion script.
pub(super) fn completions(shell: Shell) -> String {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut args::command(), "retort", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// `man`: the man page (roff), every subcommand included.
pub(super) fn man() -> Result<String> {
    let command = args::command();
    let mut page = Vec::new();
    let render_error =
        |e: std::io::Error| Error::Internal(format!("cannot render the man page: {e}"));
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(render_error)?;
    // clap_mangen lists subcommands by name only; each gets its own section with its options.
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("retort {}", sub.get_name());
        page.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let man = clap_mangen::Man::new(sub.clone().bin_name(name));
        man.render_synopsis_section(&mut page)
            .map_err(render_error)?;
        man.render_description_section(&mut page)
            .map_err(render_error)?;
        man.render_options_section(&mut page)
            .map_err(render_error)?;
    }
    Ok(String::from_utf8_lossy(&page).into_owned())
}
