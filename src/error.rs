//! The one error type of retort.
//!
//! Every variant carries what a user needs to find the fault: the file and line, the revision,
//! the statement. Messages start lower-case, name things in backticks and never repeat their
//! `#[source]` (the renderer in `cli` prints the chain). `hint()` adds what to do next.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in retort, as a user sees it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A revision file is malformed (header, sections, encoding).
    #[error("{}:{line}: {message}", path.display())]
    Script {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// `migrate.toml` is missing, malformed, or names something that does not exist.
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    /// The revision graph is invalid: duplicate ids, missing parents, cycles, label clashes.
    #[error("{message}")]
    Graph {
        message: String,
        hint: Option<String>,
    },

    /// A target, range or revision argument cannot be resolved or does not make sense here.
    /// The message follows Alembic's wording (`Can't locate revision identified by 'x'`, ...).
    #[error("{message}")]
    Resolution {
        message: String,
        hint: Option<String>,
    },

    /// A command-line combination that parses but cannot work (exit 2).
    #[error("{message}")]
    Usage { message: String },

    /// A file-system operation failed.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Connecting to or talking to the database failed outside of a revision's SQL.
    #[error("{context}: {message}")]
    Database { context: String, message: String },

    /// A statement of a revision failed; the database is left at the last good revision.
    #[error(
        "revision `{revision}` ({}) failed at statement {statement_index} (line {line}): {message}\n  statement: {statement}",
        path.display()
    )]
    Migration {
        revision: String,
        path: PathBuf,
        statement_index: usize,
        line: usize,
        statement: String,
        message: String,
        hint: Option<String>,
    },

    /// A database URL names a driver this build of retort does not contain.
    #[error(
        "`{dialect}` support is not compiled into this build of retort: it needs the `{}` feature",
        feature_of(dialect)
    )]
    BackendNotCompiled { dialect: String },

    /// A template failed to render (built-in or project override).
    #[error("template `{name}`: {message}")]
    Template { name: String, message: String },

    /// Backup, restore or verification of a database failed.
    #[error("{message}")]
    Backup {
        message: String,
        hint: Option<String>,
    },

    /// A check found problems (`check`, `verify`); the report was already printed.
    #[error("{message}")]
    CheckFailed { message: String },

    /// A bug in retort.
    #[error("internal error: {0}")]
    Internal(String),

    // graph
    /// Two revision files declare the same id.
    #[error(
        "revision `{revision}` is declared twice: in `{}` and in `{}`",
        first.display(),
        second.display()
    )]
    DuplicateRevision {
        revision: String,
        first: PathBuf,
        second: PathBuf,
    },

    /// A revision names itself as `down_revision`.
    #[error(
        "Self-loop is detected in revisions ({revision}): `{}` names itself as down_revision",
        path.display()
    )]
    SelfLoop { revision: String, path: PathBuf },

    /// A `down_revision` names no revision file.
    #[error(
        "revision `{revision}` (`{}`) has down_revision `{parent}`, which no revision file declares",
        path.display()
    )]
    MissingDownRevision {
        revision: String,
        path: PathBuf,
        parent: String,
    },

    /// A branch label is declared twice, or equals a revision id (`other` declares it first).
    #[error(
        "Branch name '{label}' in revision {revision} already used by revision {other} (`{}` and `{}`)",
        path.display(),
        other_path.display()
    )]
    BranchLabelTaken {
        label: String,
        revision: String,
        path: PathBuf,
        other: String,
        other_path: PathBuf,
    },

    /// A `depends_on` entry names no revision id, unique prefix or branch label.
    #[error(
        "revision `{revision}` (`{}`) depends on `{dependency}`, which is no revision id, unique prefix or branch label",
        path.display()
    )]
    UnknownDependency {
        revision: String,
        path: PathBuf,
        dependency: String,
    },

    /// A `depends_on` entry is a prefix of several revision ids.
    #[error(
        "revision `{revision}` (`{}`) depends on `{dependency}`, a prefix of several revisions: {}",
        path.display(),
        quoted(candidates)
    )]
    AmbiguousDependency {
        revision: String,
        path: PathBuf,
        dependency: String,
        candidates: Vec<String>,
    },

    /// A revision depends on itself.
    #[error(
        "Dependency self-loop is detected in revisions ({revision}): `{}` depends on itself",
        path.display()
    )]
    DependencySelfLoop { revision: String, path: PathBuf },

    /// The graph has a circle: `path` walks it from a revision back to the same revision,
    /// `files` are the files of its members.
    #[error(
        "{} is detected in revisions: {}",
        if *via_dependency { "Dependency cycle" } else { "Cycle" },
        path.join(" -> ")
    )]
    Cycle {
        path: Vec<String>,
        files: Vec<PathBuf>,
        /// At least one edge of the circle is a `depends_on`.
        via_dependency: bool,
    },

    /// A target or revision argument names no revision (Alembic's `ResolutionError`).
    #[error("Can't locate revision identified by '{argument}'")]
    UnknownRevision {
        /// The token at fault (a part of what was typed).
        argument: String,
        /// Why it does not resolve; `None` where it names base instead of a revision.
        detail: Option<Unresolved>,
    },

    /// `head` (or `label@head`, or a single-revision argument) names several heads.
    #[error(
        "Multiple head revisions are present for given argument '{argument}'; please specify a specific target revision, '<branchname>@{argument}' to narrow to a specific head, or 'heads' for all heads"
    )]
    MultipleHeads {
        argument: String,
        heads: Vec<String>,
    },

    /// A stamp target names several heads.
    #[error("Multiple heads are present; please specify a single target revision")]
    MultipleHeadsToStamp { heads: Vec<String> },

    /// The parent of a new revision names several heads.
    #[error(
        "Multiple heads are present; please specify the head revision on which the new revision should be based, or perform a merge."
    )]
    MultipleHeadsForNewRevision { heads: Vec<String> },

    /// A relative step meets a merge (down) or a branch point (up).
    #[error("Ambiguous walk")]
    AmbiguousWalk,

    /// A walk went past base or a head where the target needs it to stop on a revision.
    #[error("Walked too far")]
    WalkedTooFar,

    /// A relative target (`+N`, `-N`) ran out of revisions before `steps`.
    #[error("Relative revision {relative} didn't produce {steps} migrations")]
    RelativeTooFar {
        /// As written, e.g. `-2`.
        relative: String,
        steps: i64,
    },

    /// `+N` from several current revisions.
    #[error("Ambiguous upgrade from multiple current revisions")]
    AmbiguousUpgrade,

    /// `label@-N` where the branch has no single current revision.
    #[error(
        "Not a valid downgrade target from current heads: branch '{branch}' has {count} current revisions"
    )]
    BranchCurrentNotSingle { branch: String, count: usize },

    /// `label@REV` where no revision above `REV` lies on the branch.
    #[error("Not a valid downgrade target from current heads")]
    DowngradeTargetOffBranch,

    /// A downgrade destination is not below the current revisions.
    #[error("Destination {target} is not a valid downgrade target from current head(s)")]
    NotADowngradeTarget { target: String },

    /// A history range whose ends are not on one line of descent.
    #[error(
        "Requested range {lower}:{upper} does not refer to ancestor/descendant revisions along the same branch"
    )]
    RangeNotAncestor { lower: String, upper: String },

    /// A history range without `:`.
    #[error("History range requires [start]:[end], [start]:, or :[end]")]
    HistoryRangeSyntax,

    /// Of revisions asked for together, one lies below another.
    #[error(
        "Requested revision {revision} overlaps with other requested revisions {}",
        others.join(", ")
    )]
    OverlappingRevisions {
        revision: String,
        others: Vec<String>,
    },

    /// The parents of a new revision name one revision twice.
    #[error("Duplicate head revisions specified")]
    DuplicateHeads,

    /// A new revision on a parent that is not a head, without splicing (Alembic's text).
    #[error(
        "Revision {revision} is not a head revision; please specify --splice to create a new branch from this revision"
    )]
    NotAHead { revision: String },

    /// The planner would insert a version row that is already there.
    #[error(
        "version row '{revision}' is already present; the version table does not match the revision graph"
    )]
    VersionRowPresent { revision: String },

    /// The planner would delete a version row that is not there.
    #[error(
        "version row '{revision}' is not present; the version table does not match the revision graph"
    )]
    VersionRowAbsent { revision: String },

    /// The planner would move a version row that is not there.
    #[error(
        "cannot move version row '{from}' to '{to}': '{from}' is not present; the version table does not match the revision graph"
    )]
    VersionRowMoveFromAbsent { from: String, to: String },

    /// The planner would move a version row onto one that is already there.
    #[error("cannot move version row '{from}' to '{to}': '{to}' is already present")]
    VersionRowMoveOntoPresent { from: String, to: String },

    /// A merge revision is applied while none of its parents has a version row.
    #[error("cannot merge into '{revision}': no parent row is present")]
    MergeWithoutParentRow { revision: String },

    /// Downgrading a merge whose parents' rows do not say which one to return to.
    #[error("can't downgrade '{revision}': its down revision in the version table is ambiguous")]
    AmbiguousDownRevisionRow { revision: String },
}

// graph
/// Why an argument names no revision: the `detail` of [`Error::UnknownRevision`], in
/// Alembic's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolved {
    #[error("No such branch: '{branch}'")]
    NoSuchBranch { branch: String },

    /// No id or label is `ident` or starts with it.
    #[error(
        "No such revision or branch '{ident}'{}",
        if ident.len() < 4 {
            "; please ensure at least four characters are present for partial revision identifier matches"
        } else {
            ""
        }
    )]
    NoSuchRevision { ident: String },

    /// Several ids or labels start with `prefix`.
    #[error("Multiple revisions start with '{prefix}': {}", quoted(candidates))]
    AmbiguousPrefix {
        prefix: String,
        candidates: Vec<String>,
    },

    #[error("Revision {revision} is not a member of branch '{branch}'")]
    NotOnBranch { revision: String, branch: String },
}

/// `'a', 'b'`, as Alembic lists revisions.
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    quoted.join(", ")
}

/// `` `a`, `b` ``, as retort lists revisions and files in hints.
fn backticked(names: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// The Cargo feature that compiles in the driver of `dialect`.
fn feature_of(dialect: &str) -> &str {
    match dialect {
        "postgresql" => "postgres",
        other => other,
    }
}

impl Error {
    /// What the user can do about it, printed as a `hint:` paragraph.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Graph { hint, .. }
            | Error::Resolution { hint, .. }
            | Error::Migration { hint, .. }
            | Error::Backup { hint, .. } => hint.clone(),
            Error::BackendNotCompiled { dialect } => Some(format!(
                "rebuild retort with `--features {}`, or in Cargo.toml: `retort = {{ features = [\"{0}\"] }}`",
                feature_of(dialect)
            )),
            Error::Internal(_) => {
                Some("this is a bug in retort; please report it with the command you ran".into())
            }
            // graph
            Error::DuplicateRevision { .. } => Some(
                "give one of the files a new id (`retort revision` generates unique ids)".into(),
            ),
            Error::MissingDownRevision { .. } => {
                Some("restore the missing file, or fix `down_revision` in the header".into())
            }
            Error::BranchLabelTaken { .. } => {
                Some("a branch label must be unique and differ from every revision id".into())
            }
            Error::UnknownDependency { .. } => Some("fix `depends_on` in the header".into()),
            Error::AmbiguousDependency { .. } => Some("write more characters of the id".into()),
            Error::Cycle { files, .. } => Some(format!(
                "break the circle by fixing `down_revision`/`depends_on` in one of {}",
                backticked(files.iter().map(|f| f.display()))
            )),
            Error::UnknownRevision { detail, .. } => detail.as_ref().map(ToString::to_string),
            Error::MultipleHeads { heads, .. }
            | Error::MultipleHeadsToStamp { heads }
            | Error::MultipleHeadsForNewRevision { heads } => Some(format!(
                "the heads are {}; use `heads` for all of them or `<label>@head` for one branch",
                backticked(heads)
            )),
            Error::AmbiguousWalk => Some(
                "a relative step cannot choose between the parents of a merge or the branches of a branch point; name the revision to go to, or use `<label>@-N`"
                    .into(),
            ),
            _ => None,
        }
    }

    /// The process exit status for this error (SPEC: 1 failure, 2 usage).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::HistoryRangeSyntax => 2,
            _ => 1,
        }
    }

    /// Shorthand for a resolution error without a hint.
    pub fn resolution(message: impl Into<String>) -> Self {
        Error::Resolution {
            message: message.into(),
            hint: None,
        }
    }

    /// Shorthand for a graph error without a hint.
    pub fn graph(message: impl Into<String>) -> Self {
        Error::Graph {
            message: message.into(),
            hint: None,
        }
    }

    /// Shorthand for an I/O error with the path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
