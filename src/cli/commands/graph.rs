//! `graph --format dot|mermaid`: the revision graph as a picture source.

use super::Context;
use crate::cli::args::{GraphArgs, GraphFormat};
use crate::error::Result;
use crate::graph::EdgeKind;
use crate::project::Project;

pub(super) fn run(ctx: &Context, args: GraphArgs) -> Result<u8> {
    let project = ctx.project()?;
    let text = match args.format {
        GraphFormat::Dot => dot(&project),
        GraphFormat::Mermaid => mermaid(&project),
    };
    ctx.printer.data_raw(&text);
    Ok(0)
}

/// The node label: id, labels and message, escaped for a double-quoted string.
fn label(project: &Project, id: &str) -> String {
    let mut text = id.to_string();
    if let Some(info) = project.graph.info(id) {
        if !info.branch_labels.is_empty() {
            text.push_str(&format!(" ({})", info.branch_labels.join(", ")));
        }
    }
    if let Some(message) = project.script(id).and_then(|s| s.meta.message.as_deref()) {
        text.push_str(&format!("\\n{message}"));
    }
    text.replace('"', "'")
}

fn dot(project: &Project) -> String {
    let mut out = String::from("digraph revisions {\n    rankdir=BT;\n    node [shape=box];\n");
    let heads = project.graph.heads();
    for id in project.graph.ids() {
        let style = if heads.contains(&id) {
            ", style=bold"
        } else {
            ""
        };
        out.push_str(&format!(
            "    \"{id}\" [label=\"{}\"{style}];\n",
            label(project, id)
        ));
    }
    for (child, parent, kind) in project.graph.edges() {
        let style = match kind {
            EdgeKind::DownRevision => "",
            EdgeKind::DependsOn => " [style=dashed, label=\"depends on\"]",
        };
        out.push_str(&format!("    \"{child}\" -> \"{parent}\"{style};\n"));
    }
    out.push_str("}\n");
    out
}

fn mermaid(project: &Project) -> String {
    let mut out = String::from("flowchart BT\n");
    for id in project.graph.ids() {
        out.push_str(&format!(
            "    {id}[\"{}\"]\n",
            label(project, id).replace("\\n", "<br/>")
        ));
    }
    for (child, parent, kind) in project.graph.edges() {
        let arrow = match kind {
            EdgeKind::DownRevision => "-->",
            EdgeKind::DependsOn => "-. depends on .->",
        };
        out.push_str(&format!("    {child} {arrow} {parent}\n"));
    }
    out
}
