//! The target grammar, with Alembic's rules: ids and unique prefixes, branch labels, `head`,
//! `heads`, `base`, `label@head`, `label@rev`, relative `+N`/`-N`, `REV+N`, `label@-N`.
//! Parsing is pure and never fails: every text is a target, and whether it names anything is
//! for resolution (`resolve.rs`) to say.

use std::sync::OnceLock;

use regex::Regex;

/// A destination of `upgrade` or `downgrade` (Alembic `_parse_upgrade_target`,
/// `_parse_downgrade_target`): a relative step when `_relative_destination` matches, else a
/// reference to revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    Relative(Relative<'a>),
    Revisions(RevisionRef<'a>),
}

impl<'a> Target<'a> {
    /// The target as written.
    pub(crate) fn text(&self) -> &'a str {
        match self {
            Target::Relative(relative) => relative.text,
            Target::Revisions(reference) => reference.text,
        }
    }
}

/// A relative target `[label@][symbol](+|-)N`, matched at the start only (as `re.match`), so
/// text after the number is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Relative<'a> {
    /// The whole target as written.
    pub(crate) text: &'a str,
    pub(crate) branch_label: Option<&'a str>,
    pub(crate) symbol: Option<&'a str>,
    /// The signed number as written, e.g. `-2`.
    pub(crate) relative_text: &'a str,
    pub(crate) relative: i64,
}

/// A reference to revisions, `[label@]symbol`, split at the first `@`
/// (Alembic `_resolve_revision_number`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RevisionRef<'a> {
    /// The reference as written.
    pub(crate) text: &'a str,
    /// Before the first `@`; `Some("")` for `@x`, which Alembic treats apart from `x`.
    pub(crate) branch: Option<&'a str>,
    pub(crate) symbol: Symbol<'a>,
}

/// What a [`RevisionRef`] names after its branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symbol<'a> {
    /// `heads`: every head (of the branch, if one is given).
    Heads,
    /// `head`: the one head (of the branch, if one is given).
    Head,
    /// `base`, or nothing at all.
    Base,
    /// `-N`: `steps` (negative) down from every head, where a list of revisions is asked for
    /// (Alembic `get_revisions`); elsewhere the text is looked up as a name.
    BelowHeads { text: &'a str, steps: i64 },
    /// A revision id, a unique prefix of one, or a branch label.
    Name(&'a str),
}

impl<'a> RevisionRef<'a> {
    pub(crate) fn parse(text: &'a str) -> Self {
        let (branch, symbol) = match text.split_once('@') {
            Some((label, rest)) => (Some(label), rest),
            None => (None, text),
        };
        let symbol = match symbol {
            "heads" => Symbol::Heads,
            "head" => Symbol::Head,
            "base" | "" => Symbol::Base,
            other => match other.parse::<i64>() {
                Ok(steps) if steps < 0 => Symbol::BelowHeads { text: other, steps },
                _ => Symbol::Name(other),
            },
        };
        RevisionRef {
            text,
            branch,
            symbol,
        }
    }
}

/// Parses an `upgrade`/`downgrade` destination.
pub(crate) fn parse_target(text: &str) -> Target<'_> {
    match parse_relative(text) {
        Some(relative) => Target::Relative(relative),
        None => Target::Revisions(RevisionRef::parse(text)),
    }
}

pub(crate) fn parse_relative(target: &str) -> Option<Relative<'_>> {
    static RELATIVE: OnceLock<Regex> = OnceLock::new();
    let re = RELATIVE.get_or_init(|| {
        Regex::new(r"^(?:(.+?)@)?(\w+)?([+-]\d+)").expect("the relative-target pattern is valid")
    });
    let caps = re.captures(target)?;
    let relative_text = caps.get(3)?.as_str();
    // An absurdly long number can only overshoot; saturate instead of failing to parse.
    let relative = relative_text
        .parse::<i64>()
        .unwrap_or(if relative_text.starts_with('-') {
            i64::MIN / 2
        } else {
            i64::MAX / 2
        });
    Some(Relative {
        text: target,
        branch_label: caps.get(1).map(|m| m.as_str()),
        symbol: caps.get(2).map(|m| m.as_str()),
        relative_text,
        relative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative<'a>(
        text: &'a str,
        branch_label: Option<&'a str>,
        symbol: Option<&'a str>,
        relative_text: &'a str,
        relative: i64,
    ) -> Target<'a> {
        Target::Relative(Relative {
            text,
            branch_label,
            symbol,
            relative_text,
            relative,
        })
    }

    fn revisions<'a>(text: &'a str, branch: Option<&'a str>, symbol: Symbol<'a>) -> Target<'a> {
        Target::Revisions(RevisionRef {
            text,
            branch,
            symbol,
        })
    }

    #[test]
    fn every_form_parses_as_alembic_reads_it() {
        let huge = "+99999999999999999999";
        let cases = [
            ("heads", revisions("heads", None, Symbol::Heads)),
            ("head", revisions("head", None, Symbol::Head)),
            ("base", revisions("base", None, Symbol::Base)),
            ("", revisions("", None, Symbol::Base)),
            (
                "ae1027a6acf",
                revisions("ae1027a6acf", None, Symbol::Name("ae1027a6acf")),
            ),
            ("ae10", revisions("ae10", None, Symbol::Name("ae10"))),
            ("lbl", revisions("lbl", None, Symbol::Name("lbl"))),
            ("lbl@head", revisions("lbl@head", Some("lbl"), Symbol::Head)),
            (
                "lbl@heads",
                revisions("lbl@heads", Some("lbl"), Symbol::Heads),
            ),
            ("lbl@base", revisions("lbl@base", Some("lbl"), Symbol::Base)),
            ("lbl@", revisions("lbl@", Some("lbl"), Symbol::Base)),
            (
                "lbl@ae10",
                revisions("lbl@ae10", Some("lbl"), Symbol::Name("ae10")),
            ),
            ("@head", revisions("@head", Some(""), Symbol::Head)),
            ("+2", relative("+2", None, None, "+2", 2)),
            ("-1", relative("-1", None, None, "-1", -1)),
            ("ae10+2", relative("ae10+2", None, Some("ae10"), "+2", 2)),
            ("d2-1", relative("d2-1", None, Some("d2"), "-1", -1)),
            ("head-1", relative("head-1", None, Some("head"), "-1", -1)),
            ("lbl@+1", relative("lbl@+1", Some("lbl"), None, "+1", 1)),
            ("lbl@-2", relative("lbl@-2", Some("lbl"), None, "-2", -2)),
            (
                "c2branch@head-1",
                relative("c2branch@head-1", Some("c2branch"), Some("head"), "-1", -1),
            ),
            (
                "lbl@ae10+3",
                relative("lbl@ae10+3", Some("lbl"), Some("ae10"), "+3", 3),
            ),
            (huge, relative(huge, None, None, huge, i64::MAX / 2)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_target(text), want, "{text}");
            assert_eq!(parse_target(text).text(), text);
        }
    }

    #[test]
    fn malformed_targets_parse_the_way_alembic_then_fails_or_ignores() {
        let cases = [
            // `re.match` anchors only the start: trailing text after the number is ignored.
            ("+1xyz", relative("+1xyz", None, None, "+1", 1)),
            ("a-1-2", relative("a-1-2", None, Some("a"), "-1", -1)),
            // The label is everything before the first `@`; the rest is one name.
            ("a@b@c", revisions("a@b@c", Some("a"), Symbol::Name("b@c"))),
            // A relative label may hold `@` (the lazy `(.+?)@` grows until the rest matches).
            ("a@b@+1", relative("a@b@+1", Some("a@b"), None, "+1", 1)),
            // No digits after the sign: not relative, just a name nothing will match.
            ("heads+", revisions("heads+", None, Symbol::Name("heads+"))),
            ("+-1", revisions("+-1", None, Symbol::Name("+-1"))),
            ("-", revisions("-", None, Symbol::Name("-"))),
            ("@", revisions("@", Some(""), Symbol::Base)),
            (":", revisions(":", None, Symbol::Name(":"))),
        ];
        for (text, want) in cases {
            assert_eq!(parse_target(text), want, "{text}");
        }
    }

    /// A label with `-` reads as Alembic's `(?:(.+?)@)?(\w+)?((?:\+|-)\d+)` reads it: the lazy
    /// label group is tried first and grows to the `@`, so `core-plugin@-1` is relative to the
    /// branch. Where the label group cannot end in a relative step, `re.match` falls back to
    /// the word before the first `-N`: `release-2@head` is `release` minus 2, trailing text
    /// ignored, so no target names a label `release-2` (names.rs reports it).
    #[test]
    fn labels_with_dashes_parse_as_alembics_regex_reads_them() {
        let cases = [
            (
                "core-plugin",
                revisions("core-plugin", None, Symbol::Name("core-plugin")),
            ),
            (
                "core-plugin@head",
                revisions("core-plugin@head", Some("core-plugin"), Symbol::Head),
            ),
            (
                "core-plugin@base",
                revisions("core-plugin@base", Some("core-plugin"), Symbol::Base),
            ),
            (
                "core-plugin@-1",
                relative("core-plugin@-1", Some("core-plugin"), None, "-1", -1),
            ),
            (
                "core-plugin@+2",
                relative("core-plugin@+2", Some("core-plugin"), None, "+2", 2),
            ),
            (
                "core-plugin@head-1",
                relative(
                    "core-plugin@head-1",
                    Some("core-plugin"),
                    Some("head"),
                    "-1",
                    -1,
                ),
            ),
            (
                "my-core-2@head",
                revisions("my-core-2@head", Some("my-core-2"), Symbol::Head),
            ),
            (
                "release-2@-1",
                relative("release-2@-1", Some("release-2"), None, "-1", -1),
            ),
            (
                "release-2@head",
                relative("release-2@head", None, Some("release"), "-2", -2),
            ),
            (
                "release-2",
                relative("release-2", None, Some("release"), "-2", -2),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_target(text), want, "{text}");
        }
    }

    #[test]
    fn negative_numbers_are_steps_below_heads_only_as_revision_references() {
        let below = |text, branch, steps| RevisionRef {
            text,
            branch,
            symbol: Symbol::BelowHeads {
                text: &text[text.find('-').unwrap_or(0)..],
                steps,
            },
        };
        assert_eq!(RevisionRef::parse("-1"), below("-1", None, -1));
        assert_eq!(
            RevisionRef::parse("lbl@-3"),
            below("lbl@-3", Some("lbl"), -3)
        );
        // `+N`, `-0` and numbers beyond i64 are names, as Python's `int() < 0` test leaves them.
        for name in ["+1", "-0", "12", "-99999999999999999999"] {
            assert_eq!(
                RevisionRef::parse(name).symbol,
                Symbol::Name(name),
                "{name}"
            );
        }
    }
}
