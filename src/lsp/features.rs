//! The answers to an editor's questions about a place in a policy file: hover, go to definition,
//! find references, completion, the outline, formatting and quick fixes.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CompletionItem, CompletionItemKind, Diagnostic, DocumentSymbol, Documentation, Hover,
    HoverContents, InsertTextFormat, Location, MarkupContent, MarkupKind, Range, SymbolKind, TextEdit, Uri,
    WorkspaceEdit,
};

use super::diagnostics::REPLACEMENT;
use super::index::Symbol;
use super::text::Text;
use super::workspace::Snapshot;
use crate::language::ast;
use crate::source::Span;

/// The keywords of the language, for completion (the grammar's, `requires`, and the words of a
/// rule's period, `in force from ... until ...`).
const KEYWORDS: &[&str] = &[
    "enum", "facts", "each", "in", "action", "rule", "requires", "when", "then", "reason", "source", "and", "or",
    "not", "present", "true", "false", "as_of", "force", "from", "until",
];

fn markdown(value: String) -> MarkupContent {
    MarkupContent { kind: MarkupKind::Markdown, value }
}

fn code(text: &str) -> String {
    format!("```handover\n{text}\n```")
}

/// The text a span covers in its file.
fn written(snapshot: &Snapshot, span: Span) -> &str {
    snapshot.files.get(span.file).and_then(|f| f.text.as_str().get(span.start..span.end)).unwrap_or_default()
}

fn location(snapshot: &Snapshot, span: Span) -> Option<Location> {
    let f = snapshot.files.get(span.file)?;
    Some(Location::new(f.uri.clone(), f.text.range(span)))
}

fn signature(a: &ast::ActionDecl) -> String {
    let params: Vec<String> = a.params.iter().map(|p| format!("{}: {}", p.name.node, p.ty.node)).collect();
    if params.is_empty() {
        format!("action {}", a.name.node)
    } else {
        format!("action {}({})", a.name.node, params.join(", "))
    }
}

fn field_line(snapshot: &Snapshot, group: &str, f: &ast::FieldDecl) -> String {
    let mut line = format!("{group}.{}: {}{}", f.name.node, f.ty.node, if f.optional { "?" } else { "" });
    if let Some(d) = &f.default {
        line.push_str(&format!(" = {}", written(snapshot, d.span)));
    }
    line
}

/// What to show for a symbol: its declaration and description.
fn describe(snapshot: &Snapshot, symbol: &Symbol) -> Option<String> {
    let index = &snapshot.index;
    Some(match symbol {
        Symbol::Enum(name) => {
            let e = index.enum_decl(name)?;
            let values: Vec<String> = e
                .values
                .iter()
                .map(|v| match &v.description {
                    Some(d) => format!("- `{}`: {d}", v.name.node),
                    None => format!("- `{}`", v.name.node),
                })
                .collect();
            format!("{}\n\n{}", code(&format!("enum {name}")), values.join("\n"))
        }
        Symbol::Value(e, v) => {
            let decl = index.enum_decl(e)?.values.iter().find(|x| x.name.node == *v)?;
            let mut s = code(&format!("{e}.{v}"));
            if let Some(d) = &decl.description {
                s.push_str(&format!("\n\n{d}"));
            }
            s
        }
        Symbol::Group(g) => {
            let decl = index.group(g)?;
            let head = match &decl.list {
                Some(list) => format!("each {g} in {}", list.node),
                None => format!("facts {g}"),
            };
            let what = if decl.list.is_some() { "read once per entry of the list" } else { "read once per document" };
            format!("{}\n\nFacts {what}: {}", code(&head), decl.fields.len())
        }
        Symbol::Fact(g, f) => {
            let group = index.group(g)?;
            let decl = index.field(g, f)?;
            let mut s = code(&field_line(snapshot, g, decl));
            let presence = match (&decl.default, decl.optional) {
                (Some(d), _) => format!("Defaults to `{}` when absent.", written(snapshot, d.span)),
                (None, true) => "Optional: may be absent.".to_string(),
                (None, false) => "Required.".to_string(),
            };
            let scope = match &group.list {
                Some(list) => format!(" One per entry of `{}`.", list.node),
                None => String::new(),
            };
            s.push_str(&format!("\n\n{presence}{scope}"));
            if let Some(d) = &decl.description {
                s.push_str(&format!("\n\n{d}"));
            }
            if let Some(e) = index.enum_decl(&decl.ty.node) {
                let names: Vec<String> = e.values.iter().map(|v| format!("`{}`", v.name.node)).collect();
                s.push_str(&format!("\n\nValues: {}", names.join(", ")));
            }
            s
        }
        Symbol::Action(a) => {
            let decl = index.action(a)?;
            format!("{}\n\n{}", code(&signature(decl)), decl.description)
        }
        Symbol::Param(a, p) => {
            let decl = index.action(a)?;
            let param = decl.params.iter().find(|x| x.name.node == *p)?;
            format!("{}\n\nParameter of `{}`", code(&format!("{p}: {}", param.ty.node)), signature(decl))
        }
        Symbol::Rule(r) => {
            let decl = index.rule(r)?;
            let mut s = code(&format!("rule {r}  # then {}", decl.action.node));
            if let Some(period) = in_force(decl) {
                s.push_str(&format!("\n\nIn force {period}."));
            }
            s.push_str(&format!("\n\n{}", decl.reason));
            if let Some(source) = &decl.source {
                s.push_str(&format!("\n\nSource: {source}"));
            }
            s
        }
    })
}

/// The days a dated rule holds on, its own period inside its block's (`None`: every day).
fn in_force(rule: &crate::language::ast::RuleDecl) -> Option<String> {
    let periods = [&rule.period, &rule.block];
    let from = periods.iter().filter_map(|p| p.as_ref()?.from.as_ref().map(|d| d.node)).max();
    let until = periods.iter().filter_map(|p| p.as_ref()?.until.as_ref().map(|d| d.node)).min();
    match (from, until) {
        (None, None) => None,
        (Some(a), None) => Some(format!("from {a}")),
        (None, Some(b)) => Some(format!("until {b}")),
        (Some(a), Some(b)) => Some(format!("from {a} until {b}")),
    }
}

pub fn hover(snapshot: &Snapshot, file: usize, offset: usize) -> Option<Hover> {
    let at = snapshot.index.at(file, offset)?;
    let text = describe(snapshot, &at.symbol)?;
    Some(Hover {
        contents: HoverContents::Markup(markdown(text)),
        range: snapshot.files.get(file).map(|f| f.text.range(at.span)),
    })
}

pub fn definition(snapshot: &Snapshot, file: usize, offset: usize) -> Option<Location> {
    let at = snapshot.index.at(file, offset)?;
    let decl = snapshot.index.declaration(&at.symbol)?;
    location(snapshot, decl.span)
}

pub fn references(snapshot: &Snapshot, file: usize, offset: usize, with_declaration: bool) -> Vec<Location> {
    let Some(at) = snapshot.index.at(file, offset) else { return Vec::new() };
    snapshot
        .index
        .uses(&at.symbol)
        .filter(|o| with_declaration || !o.declaration)
        .filter_map(|o| location(snapshot, o.span))
        .collect()
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>, doc: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        documentation: doc.map(|d| Documentation::MarkupContent(markdown(d))),
        ..CompletionItem::default()
    }
}

fn values(e: &ast::EnumDecl) -> Vec<CompletionItem> {
    e.values
        .iter()
        .map(|v| item(&v.name.node, CompletionItemKind::ENUM_MEMBER, Some(e.name.node.clone()), v.description.clone()))
        .collect()
}

/// The dotted name that ends `text` (`subscription.channel` in `when subscription.channel`).
fn trailing_path(text: &str) -> &str {
    let start = text.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).map_or(0, |i| i + 1);
    text.get(start..).unwrap_or_default()
}

/// The action call the cursor is inside, if any: `then NAME(` with no `)` before the cursor.
fn open_call(before: &str) -> Option<(&str, &str)> {
    let then = before.rfind("then")?;
    let call = before.get(then + 4..)?;
    let (name, args) = call.split_once('(')?;
    let name = name.trim();
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (plain && !args.contains(')')).then_some((name, args))
}

/// What may be written at byte `offset` of file `file`, whose current text is `text`.
pub fn completion(snapshot: &Snapshot, text: &Text, offset: usize) -> Vec<CompletionItem> {
    let index = &snapshot.index;
    let full = text.as_str();
    let mut offset = offset.min(full.len());
    while !full.is_char_boundary(offset) {
        offset -= 1;
    }
    let before_word = full.get(..offset).unwrap_or_default();
    let word_start = before_word.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    let before = full.get(..word_start).unwrap_or_default();
    let trimmed = before.trim_end();

    // `group.` → its facts.
    if let Some(group) = before.strip_suffix('.').map(trailing_path) {
        return match index.group(group) {
            Some(g) => g
                .fields
                .iter()
                .map(|f| {
                    item(
                        &f.name.node,
                        CompletionItemKind::FIELD,
                        Some(field_line(snapshot, group, f)),
                        f.description.clone(),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
    }
    // `then ` → the actions.
    if trimmed.ends_with("then") && trailing_path(trimmed) == "then" {
        return index
            .actions
            .iter()
            .map(|a| item(&a.name.node, CompletionItemKind::FUNCTION, Some(signature(a)), Some(a.description.clone())))
            .collect();
    }
    // Inside `then action(...)`: parameter names, or a parameter's enum values after `name:`.
    if let Some((action, args)) = open_call(before) {
        let Some(decl) = index.action(action) else { return Vec::new() };
        let last = args.rsplit(',').next().unwrap_or_default();
        if let Some((param, _)) = last.split_once(':') {
            return index.enum_of_param(action, param.trim()).map(values).unwrap_or_default();
        }
        let given: Vec<&str> = args.split(',').filter_map(|a| a.split_once(':')).map(|(n, _)| n.trim()).collect();
        return decl
            .params
            .iter()
            .filter(|p| !given.contains(&p.name.node.as_str()))
            .map(|p| {
                let mut it = item(
                    &p.name.node,
                    CompletionItemKind::PROPERTY,
                    Some(format!("{}: {}", p.name.node, p.ty.node)),
                    None,
                );
                it.insert_text = Some(format!("{}: ", p.name.node));
                it.insert_text_format = Some(InsertTextFormat::PLAIN_TEXT);
                it
            })
            .collect();
    }
    // `fact == ` / `fact != ` → the fact's enum values.
    for op in ["==", "!="] {
        if let Some(lhs) = trimmed.strip_suffix(op) {
            if let Some(e) = index.enum_of_fact(trailing_path(lhs.trim_end())) {
                return values(e);
            }
        }
    }
    // `fact in [a, ` → the fact's enum values.
    if let Some(open) = before.rfind('[').filter(|i| !before.get(*i..).unwrap_or_default().contains(']')) {
        let head = before.get(..open).unwrap_or_default().trim_end();
        if let Some(lhs) = head.strip_suffix("in").filter(|l| l.ends_with(char::is_whitespace)) {
            let lhs = lhs.trim_end();
            let lhs = lhs.strip_suffix("not").filter(|l| l.ends_with(char::is_whitespace)).unwrap_or(lhs).trim_end();
            if let Some(e) = index.enum_of_fact(trailing_path(lhs)) {
                return values(e);
            }
        }
    }
    // `name: Type = ` in a group → the type's values.
    if let Some(lhs) = trimmed.strip_suffix('=').filter(|l| !l.ends_with(['=', '!', '<', '>'])) {
        if let Some(e) = index.enum_decl(trailing_path(lhs.trim_end())) {
            return values(e);
        }
    }
    // `name:` in a fact group or an action's parameters → the types.
    if trimmed.ends_with(':') {
        let builtin = ["bool", "int", "date", "text"]
            .map(|t| item(t, CompletionItemKind::KEYWORD, Some("built-in type".into()), None));
        let enums = index.enums.iter().map(|e| {
            let names: Vec<&str> = e.values.iter().map(|v| v.name.node.as_str()).collect();
            item(&e.name.node, CompletionItemKind::ENUM, Some(format!("enum: {}", names.join(", "))), None)
        });
        return builtin.into_iter().chain(enums).collect();
    }
    // Anywhere else: keywords and fact groups.
    let mut out: Vec<CompletionItem> =
        KEYWORDS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, None, None)).collect();
    out.extend(
        index
            .groups
            .iter()
            .map(|g| item(&g.name.node, CompletionItemKind::MODULE, Some(format!("{} facts", g.fields.len())), None)),
    );
    out
}

#[allow(deprecated, reason = "`DocumentSymbol::deprecated` must be written; it is left empty")]
fn symbol(
    file: &Text,
    name: &str,
    detail: Option<String>,
    kind: SymbolKind,
    span: Span,
    name_span: Span,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: file.range(span),
        selection_range: file.range(name_span),
        children: (!children.is_empty()).then_some(children),
    }
}

/// The outline of one file: its enums (with values), fact groups (with facts), actions and rules,
/// in the order they are written.
pub fn symbols(snapshot: &Snapshot, file: usize) -> Vec<DocumentSymbol> {
    let (Some(f), index) = (snapshot.files.get(file), &snapshot.index) else { return Vec::new() };
    let mut out: Vec<(usize, DocumentSymbol)> = Vec::new();
    for e in index.enums.iter().filter(|e| e.span.file == file) {
        let children = e
            .values
            .iter()
            .map(|v| {
                symbol(
                    &f.text,
                    &v.name.node,
                    v.description.clone(),
                    SymbolKind::ENUM_MEMBER,
                    v.span,
                    v.name.span,
                    Vec::new(),
                )
            })
            .collect();
        out.push((e.span.start, symbol(&f.text, &e.name.node, None, SymbolKind::ENUM, e.span, e.name.span, children)));
    }
    for g in index.groups.iter().filter(|g| g.span.file == file) {
        let children = g
            .fields
            .iter()
            .map(|x| {
                symbol(
                    &f.text,
                    &x.name.node,
                    Some(x.ty.node.clone()),
                    SymbolKind::FIELD,
                    x.span,
                    x.name.span,
                    Vec::new(),
                )
            })
            .collect();
        let detail = g.list.as_ref().map_or_else(|| "facts".to_string(), |l| format!("each in {}", l.node));
        out.push((
            g.span.start,
            symbol(&f.text, &g.name.node, Some(detail), SymbolKind::STRUCT, g.span, g.name.span, children),
        ));
    }
    for a in index.actions.iter().filter(|a| a.span.file == file) {
        out.push((
            a.span.start,
            symbol(&f.text, &a.name.node, Some(signature(a)), SymbolKind::FUNCTION, a.span, a.name.span, Vec::new()),
        ));
    }
    for r in index.rules.iter().filter(|r| r.span.file == file) {
        let detail = Some(format!("then {}", r.action.node));
        out.push((r.span.start, symbol(&f.text, &r.id.node, detail, SymbolKind::EVENT, r.span, r.id.span, Vec::new())));
    }
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, s)| s).collect()
}

/// The edits that format a document in the canonical layout: none when it already is, `None`
/// when it does not parse (there is nothing safe to do then).
pub fn formatting(text: &Text) -> Option<Vec<TextEdit>> {
    let formatted = crate::language::fmt::format_text(text.as_str()).ok()?;
    if formatted == text.as_str() {
        return Some(Vec::new());
    }
    let whole = Range::new(text.position(0), text.position(text.as_str().len()));
    Some(vec![TextEdit::new(whole, formatted)])
}

/// A quick fix for each published diagnostic in `range` whose help suggests a name.
pub fn quick_fixes(uri: &Uri, published: &[Diagnostic], range: Range) -> Vec<CodeAction> {
    let overlaps = |r: &Range| r.start <= range.end && range.start <= r.end;
    published
        .iter()
        .filter(|d| overlaps(&d.range))
        .filter_map(|d| {
            let name = d.data.as_ref()?.get(REPLACEMENT)?.as_str()?;
            let edit = TextEdit::new(d.range, name.to_string());
            Some(CodeAction {
                title: format!("Change to `{name}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![d.clone()]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            })
        })
        .collect()
}
