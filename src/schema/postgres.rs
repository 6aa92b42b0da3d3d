//! PostgreSQL's schema from `pg_catalog`, rendered by the server itself (`format_type`,
//! `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`,
//! `pg_get_functiondef`), so two databases built by the same statements read the same. Every
//! schema but the system ones is read; objects that belong to an extension are the
//! extension's, listed once as not compared.

use super::model::{
    Column, ConstraintKind, Index, PrimaryKey, Routine, Schema, Sequence, Table, Trigger, UserType,
    View,
};
use super::{flag, opt_text, query, split_list, text, Introspect};
use crate::config::Dialect;
use crate::db::version_table::quote_ident;
use crate::db::Connection;
use crate::error::Result;

pub(super) struct Postgres;

/// The namespaces read: all but the system ones.
const USER_NAMESPACE: &str =
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'";

/// PostgreSQL's `FirstNormalObjectId`: initdb's objects have smaller OIDs, every object made
/// after it larger (the counter wraps around to it, never below). Bounding a catalog's OID
/// column by it lets the query read the user rows from the OID index instead of scanning the
/// thousands of built-in ones, which is most of an introspection's cost in a small database.
const USER_OID: &str = "16384";

/// Not a member of an extension (`CREATE EXTENSION` made it).
fn not_in_extension(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{class}'::regclass \
         AND d.objid = {oid} AND d.deptype = 'e')"
    )
}

fn ident(name: &str) -> String {
    quote_ident(Dialect::Postgresql, name)
}

/// `schema.name`, quoted where needed, for DDL.
fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

impl Introspect for Postgres {
    fn read(&self, conn: &mut dyn Connection) -> Result<Schema> {
        let mut schema = Schema::default();
        read_schemas(conn, &mut schema)?;
        read_relations(conn, &mut schema)?;
        read_columns(conn, &mut schema)?;
        read_constraints(conn, &mut schema)?;
        read_indexes(conn, &mut schema)?;
        read_sequences(conn, &mut schema)?;
        read_routines(conn, &mut schema)?;
        read_types(conn, &mut schema)?;
        read_triggers(conn, &mut schema)?;
        read_not_compared(conn, &mut schema)?;
        for (name, table) in schema.tables.iter_mut() {
            table.ddl = table_ddl(name, table);
        }
        Ok(schema)
    }
}

fn read_schemas(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname FROM pg_namespace n WHERE {USER_NAMESPACE} AND n.nspname <> 'public' \
         AND {} ORDER BY 1",
        not_in_extension("pg_namespace", "n.oid")
    );
    for row in query(conn, "schemas", &sql)? {
        let name = text(&row[0]);
        schema
            .schema_ddl
            .insert(name.clone(), format!("CREATE SCHEMA {}", ident(&name)));
        schema.schemas.insert(name);
    }
    Ok(())
}

fn read_relations(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname, c.relname, c.relkind, \
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END, \
         CASE WHEN c.relkind = 'v' THEN array_to_string(c.reloptions, ', ') END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_NAMESPACE} AND c.oid >= {USER_OID} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {} ORDER BY 1, 2",
        not_in_extension("pg_class", "c.oid")
    );
    for row in query(conn, "tables and views", &sql)? {
        let (namespace, name) = (text(&row[0]), text(&row[1]));
        let key = Schema::key(Some(&namespace), &name);
        match text(&row[2]).as_str() {
            "r" | "p" => {
                schema.tables.insert(key, Table::default());
            }
            "f" => schema.not_compared.push(format!("foreign table {key}")),
            kind => {
                let materialized = kind == "m";
                // A view's options (`check_option`, `security_barrier`, `security_invoker`)
                // are not in `pg_get_viewdef`.
                let options = opt_text(&row[4])
                    .filter(|o| !o.is_empty())
                    .map(|o| format!("WITH ({o})"));
                let query = text(&row[3]);
                let definition = match &options {
                    Some(options) => format!("{options}\n{query}"),
                    None => query.clone(),
                };
                let ddl = format!(
                    "CREATE {}VIEW {}{} AS\n{}",
                    if materialized { "MATERIALIZED " } else { "" },
                    qualified(&namespace, &name),
                    options.map(|o| format!(" {o}")).unwrap_or_default(),
                    query.trim_end().trim_end_matches(';')
                );
                schema.views.insert(
                    key,
                    View {
                        materialized,
                        definition,
                        ddl,
                        ..View::default()
                    },
                );
            }
        }
    }
    Ok(())
}

fn read_columns(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), \
         a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, a.attidentity, \
         CASE WHEN a.attcollation <> t.typcollation THEN co.collname END \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE {USER_NAMESPACE} AND c.oid >= {USER_OID} AND a.attrelid >= {USER_OID} \
         AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
         AND NOT a.attisdropped ORDER BY 1, 2, a.attnum"
    );
    for row in query(conn, "columns", &sql)? {
        let key = Schema::key(Some(&text(&row[0])), &text(&row[1]));
        let Some(table) = schema.tables.get_mut(&key) else {
            continue;
        };
        let expression = opt_text(&row[5]);
        let generated = text(&row[6]) == "s";
        table.columns.push(Column {
            name: text(&row[2]),
            data_type: text(&row[3]),
            nullable: !flag(&row[4]),
            default: expression.clone().filter(|_| !generated),
            generated: expression.filter(|_| generated),
            identity: match text(&row[7]).as_str() {
                "a" => Some("always".into()),
                "d" => Some("by default".into()),
                _ => None,
            },
            collation: opt_text(&row[8]),
        });
    }
    Ok(())
}

fn read_constraints(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname, c.relname, co.conname, co.contype, pg_get_constraintdef(co.oid, true), \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(num, ord) \
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num ORDER BY k.ord), chr(31)) \
         FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_NAMESPACE} AND c.oid >= {USER_OID} AND co.conrelid >= {USER_OID} \
         AND c.relkind IN ('r', 'p') ORDER BY 1, 2, 3"
    );
    for row in query(conn, "constraints", &sql)? {
        let (namespace, table_name) = (text(&row[0]), text(&row[1]));
        let key = Schema::key(Some(&namespace), &table_name);
        let Some(table) = schema.tables.get_mut(&key) else {
            continue;
        };
        let name = text(&row[2]);
        let definition = text(&row[4]);
        let kind = match text(&row[3]).as_str() {
            "p" => {
                table.primary_key = Some(PrimaryKey {
                    name: Some(name),
                    columns: split_list(&row[5]),
                });
                continue;
            }
            "u" => ConstraintKind::Unique,
            "c" => ConstraintKind::Check,
            "f" => ConstraintKind::ForeignKey,
            // Constraint triggers and exclusion constraints are not modeled.
            other => {
                let what = if other == "x" {
                    "exclusion constraint"
                } else {
                    "constraint"
                };
                schema.not_compared.push(format!("{what} {key}.{name}"));
                continue;
            }
        };
        table.add_constraint(
            &qualified(&namespace, &table_name),
            name,
            kind,
            definition,
            ident,
        );
    }
    Ok(())
}

fn read_indexes(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    // Indexes that back a primary key, unique or exclusion constraint are the constraint's.
    // `pg_get_indexdef` of one key gives only its column or expression: its collation (where
    // not the column's or, for an expression, the default), operator class (where not the
    // type's default) and order are added from `pg_index` (`indoption` bit 1 is DESC, bit 2
    // NULLS FIRST; DESC puts nulls first unless NULLS LAST).
    let sql = format!(
        "SELECT n.nspname, t.relname, i.relname, x.indisunique, am.amname, \
         pg_get_expr(x.indpred, x.indrelid, true), \
         array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) \
         || CASE WHEN x.indcollation[k - 1] NOT IN (0, coalesce((SELECT a.attcollation \
         FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1]), 100)) \
         THEN ' COLLATE ' || (SELECT quote_ident(co.collname) FROM pg_collation co \
         WHERE co.oid = x.indcollation[k - 1]) ELSE '' END \
         || coalesce((SELECT ' ' || quote_ident(opc.opcname) FROM pg_opclass opc \
         WHERE opc.oid = x.indclass[k - 1] AND NOT opc.opcdefault), '') \
         || CASE x.indoption[k - 1] & 3 WHEN 1 THEN ' DESC NULLS LAST' WHEN 2 THEN ' NULLS FIRST' \
         WHEN 3 THEN ' DESC' ELSE '' END \
         FROM generate_series(1, x.indnkeyatts) k ORDER BY k), chr(31)), \
         pg_get_indexdef(x.indexrelid), \
         array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) \
         FROM generate_series(x.indnkeyatts + 1, x.indnatts) k ORDER BY k), chr(31)) \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_am am ON am.oid = i.relam \
         WHERE {USER_NAMESPACE} AND t.oid >= {USER_OID} AND x.indrelid >= {USER_OID} \
         AND t.relkind IN ('r', 'p', 'm') AND x.indexrelid NOT IN (SELECT co.conindid \
         FROM pg_constraint co WHERE co.conrelid >= {USER_OID} AND co.contype IN ('p', 'u', 'x')) \
         ORDER BY 1, 2, 3"
    );
    for row in query(conn, "indexes", &sql)? {
        let key = Schema::key(Some(&text(&row[0])), &text(&row[1]));
        let index = Index {
            columns: split_list(&row[6]),
            unique: flag(&row[3]),
            predicate: opt_text(&row[5]),
            method: opt_text(&row[4]),
            include: split_list(&row[8]),
            ddl: text(&row[7]),
        };
        let name = text(&row[2]);
        if let Some(table) = schema.tables.get_mut(&key) {
            table.indexes.insert(name, index);
        } else if let Some(view) = schema.views.get_mut(&key) {
            view.indexes.insert(name, index);
        }
    }
    Ok(())
}

fn read_sequences(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    // An identity column's sequence is the column's (`identity`), not an object of its own.
    let sql = format!(
        "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, \
         s.seqmin, s.seqmax, s.seqcycle \
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_NAMESPACE} AND c.oid >= {USER_OID} AND NOT EXISTS (SELECT 1 FROM pg_depend d \
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('i', 'e')) \
         ORDER BY 1, 2"
    );
    for row in query(conn, "sequences", &sql)? {
        let (namespace, name) = (text(&row[0]), text(&row[1]));
        let definition = format!(
            "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} {}",
            text(&row[2]),
            text(&row[4]),
            text(&row[5]),
            text(&row[6]),
            text(&row[3]),
            if flag(&row[7]) { "CYCLE" } else { "NO CYCLE" }
        );
        let ddl = format!(
            "CREATE SEQUENCE {} {definition}",
            qualified(&namespace, &name)
        );
        schema.sequences.insert(
            Schema::key(Some(&namespace), &name),
            Sequence { definition, ddl },
        );
    }
    Ok(())
}

fn read_routines(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    // A range type's constructor functions are the type's (an internal dependency).
    let sql = format!(
        "SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind, \
         CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE {USER_NAMESPACE} AND p.oid >= {USER_OID} AND {} AND NOT EXISTS (SELECT 1 FROM pg_depend d \
         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'i') \
         ORDER BY 1, 2, 3",
        not_in_extension("pg_proc", "p.oid")
    );
    for row in query(conn, "functions", &sql)? {
        let key = format!(
            "{}({})",
            Schema::key(Some(&text(&row[0])), &text(&row[1])),
            text(&row[2])
        );
        let kind = match text(&row[3]).as_str() {
            "f" => "function",
            "p" => "procedure",
            "a" => {
                schema.not_compared.push(format!("aggregate {key}"));
                continue;
            }
            _ => {
                schema.not_compared.push(format!("window function {key}"));
                continue;
            }
        };
        let definition = text(&row[4]);
        schema.routines.insert(
            key,
            Routine {
                kind: kind.into(),
                ddl: definition.clone(),
                definition,
            },
        );
    }
    Ok(())
}

fn read_types(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    // Enums, domains, and the user-defined kinds that are not modeled, in one query.
    let sql = format!(
        "SELECT n.nspname, t.typname, t.typtype, \
         CASE WHEN t.typtype = 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' \
         ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) \
         WHEN t.typtype = 'd' THEN concat_ws(' ', format_type(t.typbasetype, t.typtypmod), \
         'DEFAULT ' || t.typdefault, CASE WHEN t.typnotnull THEN 'NOT NULL' END, \
         (SELECT string_agg('CONSTRAINT ' || quote_ident(c.conname) || ' ' || \
         pg_get_constraintdef(c.oid, true), ' ' ORDER BY c.conname) \
         FROM pg_constraint c WHERE c.contypid = t.oid)) END \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         LEFT JOIN pg_class r ON r.oid = t.typrelid \
         WHERE {USER_NAMESPACE} AND t.oid >= {USER_OID} AND {} AND t.typcategory <> 'A' \
         AND (t.typtype IN ('e', 'd', 'r', 'b') OR (t.typtype = 'c' AND r.relkind = 'c')) \
         ORDER BY 1, 2",
        not_in_extension("pg_type", "t.oid")
    );
    for row in query(conn, "types", &sql)? {
        let (namespace, name) = (text(&row[0]), text(&row[1]));
        let key = Schema::key(Some(&namespace), &name);
        let definition = text(&row[3]);
        let (kind, ddl) = match text(&row[2]).as_str() {
            "e" => (
                "enum",
                format!(
                    "CREATE TYPE {} AS ENUM ({definition})",
                    qualified(&namespace, &name)
                ),
            ),
            "d" => (
                "domain",
                format!(
                    "CREATE DOMAIN {} AS {definition}",
                    qualified(&namespace, &name)
                ),
            ),
            "r" => {
                schema.not_compared.push(format!("range type {key}"));
                continue;
            }
            "c" => {
                schema.not_compared.push(format!("composite type {key}"));
                continue;
            }
            _ => {
                schema.not_compared.push(format!("base type {key}"));
                continue;
            }
        };
        schema.types.insert(
            key,
            UserType {
                kind: kind.into(),
                definition,
                ddl,
            },
        );
    }
    Ok(())
}

fn read_triggers(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid, true) \
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_NAMESPACE} AND t.tgrelid >= {USER_OID} AND NOT t.tgisinternal ORDER BY 1, 2, 3"
    );
    for row in query(conn, "triggers", &sql)? {
        let table = Schema::key(Some(&text(&row[0])), &text(&row[1]));
        let definition = text(&row[3]);
        schema.triggers.insert(
            format!("{table}.{}", text(&row[2])),
            Trigger {
                table,
                ddl: definition.clone(),
                definition,
            },
        );
    }
    Ok(())
}

/// Extensions, row-level security policies, rules and event triggers: listed, not compared.
fn read_not_compared(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = format!(
        "SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql' \
         UNION ALL SELECT 'policy ' || p.polname || ' on ' || p.polrelid::regclass::text \
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NAMESPACE} \
         UNION ALL SELECT 'rule ' || r.rulename || ' on ' || r.ev_class::regclass::text \
         FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE r.rulename <> '_RETURN' AND {USER_NAMESPACE} \
         UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger"
    );
    for row in query(conn, "objects not compared", &sql)? {
        schema.not_compared.push(text(&row[0]));
    }
    Ok(())
}

/// `CREATE TABLE` with the columns; constraints and indexes follow as statements of their own.
fn table_ddl(key: &str, table: &Table) -> String {
    let (namespace, name) = key.split_once('.').unwrap_or(("public", key));
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|column| {
            let mut line = format!("    {} {}", ident(&column.name), column.data_type);
            if let Some(collation) = &column.collation {
                line.push_str(&format!(" COLLATE {}", ident(collation)));
            }
            if let Some(generated) = &column.generated {
                line.push_str(&format!(" GENERATED ALWAYS AS ({generated}) STORED"));
            }
            if let Some(identity) = &column.identity {
                line.push_str(&format!(
                    " GENERATED {} AS IDENTITY",
                    identity.to_uppercase()
                ));
            }
            if let Some(default) = &column.default {
                line.push_str(&format!(" DEFAULT {default}"));
            }
            if !column.nullable {
                line.push_str(" NOT NULL");
            }
            line
        })
        .collect();
    if let Some(pk) = &table.primary_key {
        let columns: Vec<String> = pk.columns.iter().map(|c| ident(c)).collect();
        let constraint = pk
            .name
            .as_deref()
            .map(|n| format!("CONSTRAINT {} ", ident(n)))
            .unwrap_or_default();
        lines.push(format!(
            "    {constraint}PRIMARY KEY ({})",
            columns.join(", ")
        ));
    }
    format!(
        "CREATE TABLE {} (\n{}\n)",
        qualified(namespace, name),
        lines.join(",\n")
    )
}
