//! The parser bridge: one statement of a revision in, the schema actions it takes out.
//!
//! Statement structure comes from `sqlparser` (a maintained SQL parser with PostgreSQL and
//! MySQL grammars). What it rejects (`DROP INDEX CONCURRENTLY`, `REINDEX`, procedural blocks,
//! syntax newer than the parser) is never skipped: the same actions are read from its tokens by
//! precise keyword rules, and the statement is marked as not parsed so the report says so.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableAlgorithm, AlterTableLock, AlterTableOperation, ColumnDef,
    ColumnOption, CreateTable, DataType, Expr, FromTable, ObjectName, ObjectType, Set, Spanned,
    Statement, TableConstraint, TableFactor,
};
use sqlparser::dialect::{Dialect as SqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::config::Dialect;

/// Where an action sits, relative to its statement: 1-based line and column, (1, 1) being the
/// statement's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

const START: Pos = Pos { line: 1, column: 1 };

/// A column default, as far as locking goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DefaultKind {
    None,
    /// A constant or a stable expression (`now()`): PostgreSQL 11+ stores it without a rewrite.
    Constant,
    /// Evaluated per row (`random()`, `gen_random_uuid()`, a sequence, a stored generated
    /// column): every row is written.
    Volatile(String),
}

/// What a statement does to the schema, in the terms the rules need. Table and column names
/// are lower-cased, without quotes or schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    CreateTable {
        table: String,
        /// Column names and types, types as `normalize_type` spells them.
        columns: Vec<(String, String)>,
    },
    CreateIndex {
        table: String,
        concurrently: bool,
    },
    DropIndex {
        concurrently: bool,
    },
    Reindex {
        concurrently: bool,
    },
    AddColumn {
        table: String,
        column: String,
        data_type: String,
        default: DefaultKind,
        /// `AFTER col` / `FIRST` (MySQL).
        positioned: bool,
        /// The column carries `REFERENCES` (a foreign key added with it).
        references: bool,
    },
    AddForeignKey {
        table: String,
        not_valid: bool,
    },
    AddCheck {
        table: String,
        name: Option<String>,
        /// `CHECK (col IS NOT NULL)`: the column it proves not null.
        not_null_of: Option<String>,
        not_valid: bool,
    },
    AddUnique {
        table: String,
        primary: bool,
        using_index: bool,
    },
    ValidateConstraint {
        table: String,
        name: String,
    },
    SetNotNull {
        table: String,
        column: String,
    },
    ChangeType {
        table: String,
        column: String,
        new_type: String,
        /// A `USING` expression: always a rewrite.
        using: bool,
    },
    RenameTable {
        table: String,
    },
    RenameColumn {
        table: String,
        column: String,
    },
    DropTable {
        table: String,
    },
    DropColumn {
        table: String,
        column: String,
    },
    DropPrimaryKey {
        table: String,
    },
    ConvertCharset {
        table: String,
    },
    /// MySQL's `ALGORITHM=` clause, upper-cased (`INSTANT`, `INPLACE`, `COPY`, `DEFAULT`).
    Algorithm(String),
    /// MySQL's `LOCK=` clause, upper-cased (`NONE`, `SHARED`, `EXCLUSIVE`, `DEFAULT`).
    Lock(String),
    /// Another change to an existing table (it takes a lock, so the timeout rule counts it).
    OtherAlter {
        table: String,
    },
    /// `SET [LOCAL|SESSION] name = value`, the name lower-cased.
    SetVariable {
        name: String,
        value: String,
    },
    /// `UPDATE` or `DELETE` without `WHERE`: every row of `table`.
    WholeTableDml {
        table: String,
        verb: &'static str,
    },
}

/// One statement, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub actions: Vec<(Pos, Action)>,
    /// Why the parser rejected the statement (its actions then come from token rules).
    pub not_parsed: Option<String>,
}

/// The first words of the statements that can hold an action; any other statement (INSERT,
/// SELECT, GRANT, COMMENT, ...) is not parsed at all, which halves the work on a typical history.
const ACTION_WORDS: &[&str] = &[
    "ALTER", "CREATE", "DELETE", "DROP", "REINDEX", "RENAME", "SET", "UPDATE", "WITH",
];

/// Reads the actions of one statement of `dialect`.
pub(crate) fn parse_statement(sql: &str, dialect: Dialect) -> Parsed {
    let first = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    if !ACTION_WORDS.iter().any(|w| w.eq_ignore_ascii_case(first)) {
        return Parsed {
            actions: Vec::new(),
            not_parsed: None,
        };
    }
    let grammar: &dyn SqlDialect = match dialect {
        Dialect::Postgresql => &PostgreSqlDialect {},
        Dialect::Mysql => &MySqlDialect {},
        Dialect::Sqlite => &SQLiteDialect {},
    };
    match Parser::parse_sql(grammar, sql) {
        Ok(statements) => Parsed {
            actions: statements.iter().flat_map(from_ast).collect(),
            not_parsed: None,
        },
        Err(error) => Parsed {
            actions: from_tokens(sql, grammar),
            not_parsed: Some(error.to_string()),
        },
    }
}

/// The last part of a qualified name, lower-cased (quoted names as written).
fn table_name(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|part| match part.as_ident() {
            Some(ident) if ident.quote_style.is_some() => ident.value.clone(),
            Some(ident) => ident.value.to_lowercase(),
            None => part.to_string().to_lowercase(),
        })
        .unwrap_or_default()
}

fn ident(ident: &sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// A type as the rules compare them: upper case, single spaces.
pub(crate) fn normalize_type(data_type: &DataType) -> String {
    data_type
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// The position of a parsed node inside its statement.
fn pos_of(node: &impl Spanned) -> Pos {
    let start = node.span().start;
    match (usize::try_from(start.line), usize::try_from(start.column)) {
        (Ok(line @ 1..), Ok(column @ 1..)) => Pos { line, column },
        _ => START,
    }
}

fn from_ast(statement: &Statement) -> Vec<(Pos, Action)> {
    match statement {
        Statement::CreateTable(create) => vec![(START, create_table(create))],
        Statement::CreateIndex(index) => vec![(
            START,
            Action::CreateIndex {
                table: table_name(&index.table_name),
                concurrently: index.concurrently,
            },
        )],
        Statement::AlterTable(alter) => {
            let table = table_name(&alter.name);
            alter
                .operations
                .iter()
                .flat_map(|op| {
                    let pos = pos_of(op);
                    alter_operation(&table, op)
                        .into_iter()
                        .map(move |action| (pos, action))
                })
                .collect()
        }
        Statement::Drop {
            object_type, names, ..
        } => match object_type {
            ObjectType::Table => names
                .iter()
                .map(|name| {
                    (
                        START,
                        Action::DropTable {
                            table: table_name(name),
                        },
                    )
                })
                .collect(),
            // The parser reads `DROP INDEX CONCURRENTLY` as an error, so a parsed one is plain.
            ObjectType::Index => vec![(
                START,
                Action::DropIndex {
                    concurrently: false,
                },
            )],
            _ => Vec::new(),
        },
        // MySQL's `RENAME TABLE a TO b, c TO d`.
        Statement::RenameTable(renames) => renames
            .iter()
            .map(|r| {
                (
                    START,
                    Action::RenameTable {
                        table: table_name(&r.old_name),
                    },
                )
            })
            .collect(),
        Statement::Set(Set::SingleAssignment {
            variable, values, ..
        }) => vec![(
            START,
            Action::SetVariable {
                name: variable.to_string().to_lowercase(),
                value: values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        )],
        Statement::Update(update) if update.selection.is_none() => match &update.table.relation {
            TableFactor::Table { name, .. } => vec![(
                START,
                Action::WholeTableDml {
                    table: table_name(name),
                    verb: "UPDATE",
                },
            )],
            _ => Vec::new(),
        },
        Statement::Delete(delete) if delete.selection.is_none() && delete.using.is_none() => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            from.iter()
                .filter_map(|t| match &t.relation {
                    TableFactor::Table { name, .. } => Some((
                        START,
                        Action::WholeTableDml {
                            table: table_name(name),
                            verb: "DELETE",
                        },
                    )),
                    _ => None,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn create_table(create: &CreateTable) -> Action {
    Action::CreateTable {
        table: table_name(&create.name),
        columns: create
            .columns
            .iter()
            .map(|c| (ident(&c.name), normalize_type(&c.data_type)))
            .collect(),
    }
}

/// Functions evaluated per row: a default calling one writes every row.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "uuid",
];

/// The first volatile function `expr` calls, if any.
fn volatile_call(expr: &Expr) -> Option<String> {
    let text = expr.to_string().to_lowercase();
    VOLATILE_FUNCTIONS.iter().find_map(|f| {
        text.match_indices(f).find_map(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + f.len()..].trim_start();
            let starts_word = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            (starts_word && after.starts_with('(')).then(|| format!("{f}()"))
        })
    })
}

fn column_default(column: &ColumnDef) -> DefaultKind {
    let data_type = normalize_type(&column.data_type);
    if data_type.ends_with("SERIAL") {
        return DefaultKind::Volatile(data_type.to_lowercase());
    }
    for option in &column.options {
        match &option.option {
            ColumnOption::Default(Expr::Value(v))
                if matches!(v.value, sqlparser::ast::Value::Null) => {}
            ColumnOption::Default(expr) => {
                return volatile_call(expr).map_or(DefaultKind::Constant, DefaultKind::Volatile)
            }
            ColumnOption::Generated {
                generation_expr: Some(_),
                ..
            } => return DefaultKind::Volatile("a stored generated expression".into()),
            ColumnOption::Generated {
                generation_expr: None,
                ..
            } => return DefaultKind::Volatile("an identity sequence".into()),
            _ => {}
        }
    }
    DefaultKind::None
}

/// `CHECK (col IS NOT NULL)`: the column.
fn not_null_check(expr: &Expr) -> Option<String> {
    match expr {
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(id) => Some(ident(id)),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident),
            _ => None,
        },
        Expr::Nested(inner) => not_null_check(inner),
        _ => None,
    }
}

fn add_constraint(table: &str, constraint: &TableConstraint, not_valid: bool) -> Action {
    let table = table.to_string();
    match constraint {
        TableConstraint::ForeignKey(_) => Action::AddForeignKey { table, not_valid },
        TableConstraint::Check(check) => Action::AddCheck {
            table,
            name: check.name.as_ref().map(ident),
            not_null_of: not_null_check(&check.expr),
            not_valid,
        },
        TableConstraint::Unique(_) => Action::AddUnique {
            table,
            primary: false,
            using_index: false,
        },
        TableConstraint::PrimaryKey(_) => Action::AddUnique {
            table,
            primary: true,
            using_index: false,
        },
        TableConstraint::UniqueUsingIndex(_) => Action::AddUnique {
            table,
            primary: false,
            using_index: true,
        },
        TableConstraint::PrimaryKeyUsingIndex(_) => Action::AddUnique {
            table,
            primary: true,
            using_index: true,
        },
        // MySQL's `ADD INDEX` (online there) and PostgreSQL's EXCLUDE: other changes.
        _ => Action::OtherAlter { table },
    }
}

fn alter_operation(table: &str, op: &AlterTableOperation) -> Vec<Action> {
    let t = || table.to_string();
    let column_change = |column: &sqlparser::ast::Ident, data_type: &DataType| Action::ChangeType {
        table: t(),
        column: ident(column),
        new_type: normalize_type(data_type),
        using: false,
    };
    match op {
        AlterTableOperation::AddConstraint {
            constraint,
            not_valid,
        } => vec![add_constraint(table, constraint, *not_valid)],
        AlterTableOperation::AddColumn {
            column_def,
            column_position,
            ..
        } => {
            let references = column_def
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::ForeignKey(_)));
            vec![Action::AddColumn {
                table: t(),
                column: ident(&column_def.name),
                data_type: normalize_type(&column_def.data_type),
                default: column_default(column_def),
                positioned: column_position.is_some(),
                references,
            }]
        }
        AlterTableOperation::DropColumn { column_names, .. } => column_names
            .iter()
            .map(|c| Action::DropColumn {
                table: t(),
                column: ident(c),
            })
            .collect(),
        AlterTableOperation::DropPrimaryKey { .. } => vec![Action::DropPrimaryKey { table: t() }],
        AlterTableOperation::RenameColumn {
            old_column_name, ..
        } => vec![Action::RenameColumn {
            table: t(),
            column: ident(old_column_name),
        }],
        AlterTableOperation::RenameTable { .. } => vec![Action::RenameTable { table: t() }],
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            ..
        } => {
            let mut actions = vec![column_change(old_name, data_type)];
            if ident(old_name) != ident(new_name) {
                actions.push(Action::RenameColumn {
                    table: t(),
                    column: ident(old_name),
                });
            }
            actions
        }
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            ..
        } => vec![column_change(col_name, data_type)],
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetNotNull => vec![Action::SetNotNull {
                table: t(),
                column: ident(column_name),
            }],
            AlterColumnOperation::SetDataType {
                data_type, using, ..
            } => vec![Action::ChangeType {
                table: t(),
                column: ident(column_name),
                new_type: normalize_type(data_type),
                using: using.is_some(),
            }],
            // Defaults and dropping NOT NULL touch the catalog only.
            _ => vec![Action::OtherAlter { table: t() }],
        },
        AlterTableOperation::ValidateConstraint { name } => vec![Action::ValidateConstraint {
            table: t(),
            name: ident(name),
        }],
        AlterTableOperation::Algorithm { algorithm, .. } => vec![Action::Algorithm(
            match algorithm {
                AlterTableAlgorithm::Instant => "INSTANT",
                AlterTableAlgorithm::Inplace => "INPLACE",
                AlterTableAlgorithm::Copy => "COPY",
                AlterTableAlgorithm::Default => "DEFAULT",
            }
            .to_string(),
        )],
        AlterTableOperation::Lock { lock, .. } => vec![Action::Lock(
            match lock {
                AlterTableLock::None => "NONE",
                AlterTableLock::Shared => "SHARED",
                AlterTableLock::Exclusive => "EXCLUSIVE",
                AlterTableLock::Default => "DEFAULT",
            }
            .to_string(),
        )],
        _ => vec![Action::OtherAlter { table: t() }],
    }
}

/// A token of the fallback: an upper-cased keyword or name, or a symbol; with its position.
struct Word {
    text: String,
    /// The name as written (quoted names keep their case), for table and column names.
    name: String,
    pos: Pos,
}

fn words(sql: &str, grammar: &dyn SqlDialect) -> Vec<Word> {
    match Tokenizer::new(grammar, sql).tokenize_with_location() {
        Ok(tokens) => tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| {
                let pos = pos_of_location(t.span.start);
                let (text, name) = match &t.token {
                    Token::Word(w)
                        if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword =>
                    {
                        let name = match w.quote_style {
                            Some(_) => w.value.clone(),
                            None => w.value.to_lowercase(),
                        };
                        (w.value.to_uppercase(), name)
                    }
                    Token::Word(w) => (w.value.to_uppercase(), w.value.to_lowercase()),
                    other => (other.to_string(), other.to_string()),
                };
                Word { text, name, pos }
            })
            .collect(),
        // Not even tokens (e.g. an unterminated quote the splitter let through): plain words.
        Err(_) => sql
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
            .filter(|w| !w.is_empty())
            .map(|w| Word {
                text: w.to_uppercase(),
                name: w.trim_matches('"').to_lowercase(),
                pos: START,
            })
            .collect(),
    }
}

fn pos_of_location(location: sqlparser::tokenizer::Location) -> Pos {
    match (
        usize::try_from(location.line),
        usize::try_from(location.column),
    ) {
        (Ok(line @ 1..), Ok(column @ 1..)) => Pos { line, column },
        _ => START,
    }
}

/// The last part of a dotted name starting at `words[at]`, and the index after it.
fn dotted_name(words: &[Word], mut at: usize) -> (String, usize) {
    let mut name = String::new();
    while let Some(word) = words.get(at) {
        name = word.name.clone();
        if words.get(at + 1).is_some_and(|w| w.text == ".") {
            at += 2;
        } else {
            at += 1;
            break;
        }
    }
    (name, at)
}

/// The actions of a statement the parser rejected, from its keywords.
fn from_tokens(sql: &str, grammar: &dyn SqlDialect) -> Vec<(Pos, Action)> {
    let words = words(sql, grammar);
    let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    let has = |seq: &[&str]| text.windows(seq.len()).any(|w| w == seq);
    let find = |seq: &[&str]| text.windows(seq.len()).position(|w| w == seq);
    let skip = |mut at: usize, optional: &[&[&str]]| {
        for seq in optional {
            if text.get(at..at + seq.len()) == Some(seq) {
                at += seq.len();
            }
        }
        at
    };
    let concurrently = has(&["CONCURRENTLY"]);
    match text.as_slice() {
        ["DROP", "INDEX", ..] => vec![(START, Action::DropIndex { concurrently })],
        ["REINDEX", ..] => vec![(START, Action::Reindex { concurrently })],
        ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX", ..] => {
            let Some(on) = find(&["ON"]) else {
                return Vec::new();
            };
            let (table, _) = dotted_name(&words, skip(on + 1, &[&["ONLY"]]));
            vec![(
                START,
                Action::CreateIndex {
                    table,
                    concurrently,
                },
            )]
        }
        ["CREATE", ..] if has(&["TABLE"]) => {
            let Some(at) = find(&["TABLE"]) else {
                return Vec::new();
            };
            let (table, _) = dotted_name(&words, skip(at + 1, &[&["IF", "NOT", "EXISTS"]]));
            vec![(
                START,
                Action::CreateTable {
                    table,
                    columns: Vec::new(),
                },
            )]
        }
        ["RENAME", "TABLE", ..] => {
            let (table, _) = dotted_name(&words, 2);
            vec![(START, Action::RenameTable { table })]
        }
        ["DROP", "TABLE", ..] => {
            let (table, _) = dotted_name(&words, skip(2, &[&["IF", "EXISTS"]]));
            vec![(START, Action::DropTable { table })]
        }
        ["ALTER", "TABLE", ..] => {
            alter_from_tokens(&words, skip(2, &[&["IF", "EXISTS"], &["ONLY"]]))
        }
        ["UPDATE", ..] | ["DELETE", ..] if !has(&["WHERE"]) => {
            let verb = if text[0] == "UPDATE" {
                "UPDATE"
            } else {
                "DELETE"
            };
            let at = if verb == "DELETE" {
                skip(1, &[&["FROM"]])
            } else {
                1
            };
            let (table, _) = dotted_name(&words, skip(at, &[&["ONLY"]]));
            vec![(START, Action::WholeTableDml { table, verb })]
        }
        ["SET", rest @ ..] => {
            let at = skip(1, &[&["LOCAL"], &["SESSION"]]);
            let name = words.get(at).map(|w| w.name.clone()).unwrap_or_default();
            let value = rest.last().map(|v| v.to_string()).unwrap_or_default();
            vec![(START, Action::SetVariable { name, value })]
        }
        _ => Vec::new(),
    }
}

/// The actions of `ALTER TABLE name ...` from its keywords (`at` indexes the name).
fn alter_from_tokens(words: &[Word], at: usize) -> Vec<(Pos, Action)> {
    let (table, body) = dotted_name(words, at);
    let t = || table.clone();
    let rest: Vec<&str> = words[body.min(words.len())..]
        .iter()
        .map(|w| w.text.as_str())
        .collect();
    let word_at = |i: usize| &words[body + i];
    let mut actions = Vec::new();
    // Each comma-separated clause is one action; parentheses hold no clause boundary.
    let mut start = 0;
    let mut depth = 0usize;
    for i in 0..=rest.len() {
        let end = i == rest.len();
        if !end {
            match rest[i] {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if !(end || (rest[i] == "," && depth == 0)) {
            continue;
        }
        let clause = &rest[start..i];
        let pos = if start < rest.len() {
            word_at(start).pos
        } else {
            START
        };
        let has = |seq: &[&str]| clause.windows(seq.len()).any(|w| w == seq);
        let not_valid = has(&["NOT", "VALID"]);
        let name_after = |seq: &[&str]| {
            clause
                .windows(seq.len())
                .position(|w| w == seq)
                .map(|p| {
                    let mut k = p + seq.len();
                    if clause.get(k) == Some(&"IF") {
                        k += if clause.get(k + 1) == Some(&"NOT") {
                            3
                        } else {
                            2
                        };
                    }
                    word_at(start + k.min(clause.len().saturating_sub(1)))
                        .name
                        .clone()
                })
                .unwrap_or_default()
        };
        let action = match clause {
            ["ADD", ..]
                if has(&["FOREIGN", "KEY"]) || (has(&["REFERENCES"]) && !has(&["COLUMN"])) =>
            {
                Action::AddForeignKey {
                    table: t(),
                    not_valid,
                }
            }
            ["ADD", ..] if has(&["CHECK"]) => Action::AddCheck {
                table: t(),
                name: has(&["CONSTRAINT"]).then(|| name_after(&["CONSTRAINT"])),
                not_null_of: None,
                not_valid,
            },
            ["ADD", ..] if has(&["PRIMARY", "KEY"]) || has(&["UNIQUE"]) && !has(&["COLUMN"]) => {
                Action::AddUnique {
                    table: t(),
                    primary: has(&["PRIMARY", "KEY"]),
                    using_index: has(&["USING", "INDEX"]),
                }
            }
            ["ADD", ..] => {
                let column = name_after(if has(&["COLUMN"]) {
                    &["COLUMN"]
                } else {
                    &["ADD"]
                });
                Action::AddColumn {
                    table: t(),
                    column,
                    data_type: String::new(),
                    default: match clause.iter().position(|w| *w == "DEFAULT") {
                        Some(d) if clause.get(d + 1) != Some(&"NULL") => DefaultKind::Constant,
                        _ => DefaultKind::None,
                    },
                    positioned: has(&["FIRST"]) || has(&["AFTER"]),
                    references: has(&["REFERENCES"]),
                }
            }
            ["VALIDATE", "CONSTRAINT", ..] => Action::ValidateConstraint {
                table: t(),
                name: name_after(&["CONSTRAINT"]),
            },
            ["ALTER", ..] if has(&["SET", "NOT", "NULL"]) => Action::SetNotNull {
                table: t(),
                column: name_after(if has(&["COLUMN"]) {
                    &["COLUMN"]
                } else {
                    &["ALTER"]
                }),
            },
            ["ALTER", ..] if has(&["TYPE"]) => Action::ChangeType {
                table: t(),
                column: name_after(if has(&["COLUMN"]) {
                    &["COLUMN"]
                } else {
                    &["ALTER"]
                }),
                new_type: String::new(),
                using: has(&["USING"]),
            },
            ["RENAME", "TO", ..] => Action::RenameTable { table: t() },
            ["RENAME", ..] => Action::RenameColumn {
                table: t(),
                column: name_after(if has(&["COLUMN"]) {
                    &["COLUMN"]
                } else {
                    &["RENAME"]
                }),
            },
            ["DROP", "PRIMARY", "KEY", ..] => Action::DropPrimaryKey { table: t() },
            ["DROP", "CONSTRAINT", ..] | ["DROP", "INDEX", ..] | ["DROP", "FOREIGN", ..] => {
                Action::OtherAlter { table: t() }
            }
            ["DROP", ..] => Action::DropColumn {
                table: t(),
                column: name_after(if has(&["COLUMN"]) {
                    &["COLUMN"]
                } else {
                    &["DROP"]
                }),
            },
            ["CONVERT", "TO", ..] => Action::ConvertCharset { table: t() },
            ["ALGORITHM", "=", value, ..] => Action::Algorithm(value.to_string()),
            ["LOCK", "=", value, ..] => Action::Lock(value.to_string()),
            _ => Action::OtherAlter { table: t() },
        };
        actions.push((pos, action));
        start = i + 1;
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_statement_is_read_without_a_panic(
            sql in prop::collection::vec(prop::sample::select(vec![
                "ALTER", "TABLE", "t", "ADD", "DROP", "COLUMN", "CONSTRAINT", "CHECK", "(", ")",
                ",", "'", "\"", "$$", "NOT", "VALID", "RENAME", "TO", "CREATE", "INDEX",
                "CONCURRENTLY", "ON", "SET", "UPDATE", "DELETE", "FROM", "ALGORITHM", "=",
                "IF", "EXISTS", ".", "é", "--", "/*", "REFERENCES", "DEFAULT", "random()",
            ]), 0..30).prop_map(|words| words.join(" ")),
            raw in "\\PC{0,80}",
        ) {
            for dialect in [Dialect::Sqlite, Dialect::Postgresql, Dialect::Mysql] {
                parse_statement(&sql, dialect);
                parse_statement(&raw, dialect);
            }
        }
    }

    fn pg(sql: &str) -> Parsed {
        parse_statement(sql, Dialect::Postgresql)
    }

    fn actions(sql: &str) -> Vec<Action> {
        pg(sql).actions.into_iter().map(|(_, a)| a).collect()
    }

    #[test]
    fn parsed_and_token_read_statements_give_the_same_actions() {
        // Each pair: a statement the parser reads, and the same one in a form it rejects
        // (a trailing clause it does not know), which the token rules read.
        let cases = [
            "ALTER TABLE public.Orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES o (id) NOT VALID",
            "ALTER TABLE orders ADD CONSTRAINT u UNIQUE USING INDEX idx",
            "ALTER TABLE orders ALTER COLUMN a SET NOT NULL",
            "ALTER TABLE orders RENAME COLUMN a TO b",
            "ALTER TABLE orders DROP COLUMN a",
            "ALTER TABLE orders RENAME TO b",
            "DROP TABLE IF EXISTS orders",
            "UPDATE orders SET a = 1",
            "DELETE FROM orders",
        ];
        for sql in cases {
            let parsed = pg(sql);
            assert!(parsed.not_parsed.is_none(), "{sql}");
            let tokens: Vec<Action> = from_tokens(sql, &PostgreSqlDialect {})
                .into_iter()
                .map(|(_, a)| a)
                .collect();
            let from_parser: Vec<Action> = parsed.actions.into_iter().map(|(_, a)| a).collect();
            assert_eq!(tokens, from_parser, "{sql}");
        }
    }

    #[test]
    fn statements_without_actions_are_not_parsed_at_all() {
        let parsed = pg("INSERT INTO t VALUES (1, 'DROP TABLE x')");
        assert_eq!((parsed.actions.len(), parsed.not_parsed), (0, None));
        let renamed = parse_statement("RENAME TABLE a TO b", Dialect::Mysql);
        assert_eq!(
            renamed.actions[0].1,
            Action::RenameTable { table: "a".into() }
        );
    }

    #[test]
    fn statements_the_parser_rejects_are_read_by_tokens_and_marked() {
        let parsed = pg("DROP INDEX CONCURRENTLY idx");
        assert!(parsed.not_parsed.is_some());
        assert_eq!(
            parsed.actions[0].1,
            Action::DropIndex { concurrently: true }
        );
        assert_eq!(
            actions("REINDEX INDEX CONCURRENTLY idx"),
            vec![Action::Reindex { concurrently: true }]
        );
        // Garbage never panics and yields nothing to check.
        assert!(actions("$$ ) ( '").is_empty());
    }

    #[test]
    fn defaults_volatile_constant_and_sequences() {
        let default_of = |sql: &str| match &actions(sql)[0] {
            Action::AddColumn { default, .. } => default.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            default_of("ALTER TABLE t ADD COLUMN g uuid DEFAULT gen_random_uuid() NOT NULL"),
            DefaultKind::Volatile("gen_random_uuid()".into())
        );
        assert_eq!(
            default_of("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()"),
            DefaultKind::Constant
        );
        assert_eq!(
            default_of("ALTER TABLE t ADD COLUMN c int DEFAULT NULL"),
            DefaultKind::None
        );
        assert_eq!(
            default_of("ALTER TABLE t ADD COLUMN id bigserial"),
            DefaultKind::Volatile("bigserial".into())
        );
        // A name that merely contains a volatile function's name is not a call of it.
        assert_eq!(
            default_of("ALTER TABLE t ADD COLUMN c text DEFAULT my_random()"),
            DefaultKind::Constant
        );
    }

    #[test]
    fn positions_point_at_the_action_inside_the_statement() {
        let parsed = pg("ALTER TABLE t\n  ADD COLUMN a int,\n  ALTER COLUMN b SET NOT NULL");
        // An ALTER COLUMN action is placed at the column it changes.
        assert_eq!(
            parsed.actions[1].0,
            Pos {
                line: 3,
                column: 16
            }
        );
    }

    #[test]
    fn a_not_null_check_names_its_column() {
        assert_eq!(
            actions("ALTER TABLE t ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID"),
            vec![Action::AddCheck {
                table: "t".into(),
                name: Some("c".into()),
                not_null_of: Some("email".into()),
                not_valid: true,
            }]
        );
    }
}
