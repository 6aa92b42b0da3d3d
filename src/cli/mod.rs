//! Entry point of the command line: parse, resolve the settings, run, render the error, map
//! the exit status.

pub(crate) mod args;
mod commands;
mod doc;
mod progress;
mod table;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::parser::ValueSource;
use clap::FromArgMatches;

use crate::output::Printer;
use crate::settings::{find_config, GlobalSettings, ProcessEnv, Verbosity};
use commands::Context;

/// Runs retort with `args` (including the program name) and returns the exit status.
pub(crate) fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let parsed = args::command()
        .try_get_matches_from(args)
        .and_then(|matches| {
            // Only a `-c` the user typed is taken as is; else `migrate.toml` is looked for.
            let typed = matches.value_source("config") == Some(ValueSource::CommandLine);
            args::Cli::from_arg_matches(&matches).map(|cli| (cli, typed))
        });
    let (cli, config_typed) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let global = cli.global;
    let cwd = std::env::current_dir().unwrap_or_default();
    let settings = GlobalSettings::resolve(
        find_config(config_typed.then_some(global.config), &cwd),
        global.url,
        global.env,
        Verbosity::from_flags(global.quiet, global.verbose),
        &ProcessEnv,
        std::io::stderr().is_terminal(),
    );
    let printer = Printer::from_settings(&settings.output);
    let ctx = Context::new(settings, printer.clone());
    let outcome = commands::run(&ctx, cli.command);
    // Recoveries happen wherever the command opened its database; they are told once, here.
    #[cfg(feature = "sqlite")]
    for line in crate::db::sqlite::take_recoveries() {
        printer.status(line);
    }
    match outcome {
        Ok(code) => code,
        Err(err) => {
            printer.error(&err);
            err.exit_code()
        }
    }
}
