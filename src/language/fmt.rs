//! The canonical layout of a policy file. Comments are kept: a comment on its own line stays
//! above the item that follows it, a comment at the end of a line stays at the end of that
//! item's line. Formatting changes layout only: the formatted text parses to the same AST, and
//! formatting it again changes nothing.

use crate::diagnostic::PolicyDiagnostic;
use crate::language::ast::*;
use crate::language::parser;

const WIDTH: usize = 100;
const INDENT: &str = "    ";

/// Formats one policy file.
pub fn format_text(text: &str) -> Result<String, Vec<PolicyDiagnostic>> {
    let policy = parser::parse_file(0, text)?;
    let mut p = Printer { text, comments: scan_comments(text), next: 0, out: String::new() };
    p.policy(&policy);
    Ok(p.out)
}

#[derive(Debug)]
struct Comment {
    start: usize,
    end: usize,
    /// Only whitespace before it on its line.
    own_line: bool,
}

/// Finds `#` comments outside string literals.
fn scan_comments(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'#' {
            let end = text.get(i..).and_then(|t| t.find('\n')).map_or(text.len(), |n| i + n);
            let line_start = text.get(..i).and_then(|t| t.rfind('\n')).map_or(0, |n| n + 1);
            let own_line = text.get(line_start..i).is_some_and(|t| t.trim().is_empty());
            out.push(Comment { start: i, end, own_line });
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

struct Printer<'a> {
    text: &'a str,
    comments: Vec<Comment>,
    next: usize,
    out: String,
}

enum Decl<'a> {
    Enum(&'a EnumDecl),
    Group(&'a GroupDecl),
    Action(&'a ActionDecl),
    Rule(&'a RuleDecl),
    Block(&'a PeriodBlock),
}

impl Decl<'_> {
    fn start(&self) -> usize {
        match self {
            Decl::Enum(d) => d.span.start,
            Decl::Group(d) => d.span.start,
            Decl::Action(d) => d.span.start,
            Decl::Rule(d) => d.span.start,
            Decl::Block(d) => d.span.start,
        }
    }
}

impl Printer<'_> {
    fn comment_text(&self, c: &Comment) -> String {
        self.text.get(c.start..c.end).unwrap_or("#").trim_end().to_string()
    }

    /// Whether a blank line follows the comment in the source.
    fn blank_after(&self, c: &Comment) -> bool {
        let rest = self.text.get(c.end..).unwrap_or("");
        let upto = rest.find(|ch: char| !ch.is_whitespace()).unwrap_or(rest.len());
        rest.get(..upto).unwrap_or("").matches('\n').count() >= 2
    }

    /// Prints, each on its own line, every comment that starts before `before`.
    fn leading(&mut self, before: usize, indent: &str) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= before {
                break;
            }
            let line = self.comment_text(c);
            let blank = self.blank_after(c);
            self.out.push_str(indent);
            self.out.push_str(&line);
            self.out.push('\n');
            if blank {
                self.out.push('\n');
            }
            self.next += 1;
        }
    }

    /// Ends a line; a comment that followed `source_end` on the same source line goes with it.
    fn end_line(&mut self, source_end: usize) {
        if let Some(c) = self.comments.get(self.next) {
            // Only punctuation the printer puts on the same line may stand between the item and
            // its comment; anything else (a later token, a closing brace) owns the comment.
            let between = self.text.get(source_end.min(c.start)..c.start).unwrap_or("\n");
            let same_line = between.chars().all(|ch| matches!(ch, ' ' | '\t' | ',' | '{' | '('));
            if !c.own_line && c.start >= source_end && same_line {
                let line = self.comment_text(c);
                self.out.push_str("  ");
                self.out.push_str(&line);
                self.next += 1;
            }
        }
        self.out.push('\n');
    }

    fn policy(&mut self, p: &Policy) {
        let mut decls: Vec<Decl<'_>> = Vec::new();
        decls.extend(p.enums.iter().map(Decl::Enum));
        decls.extend(p.groups.iter().map(Decl::Group));
        decls.extend(p.actions.iter().map(Decl::Action));
        // A rule in a block is printed with its block.
        decls.extend(p.rules.iter().filter(|r| r.block.is_none()).map(Decl::Rule));
        decls.extend(p.blocks.iter().map(Decl::Block));
        decls.sort_by_key(Decl::start);
        for (i, d) in decls.iter().enumerate() {
            if i > 0 {
                self.out.push('\n');
            }
            self.leading(d.start(), "");
            match d {
                Decl::Enum(e) => self.enum_decl(e),
                Decl::Group(g) => self.group(g),
                Decl::Action(a) => self.action(a),
                Decl::Rule(r) => self.rule(r, ""),
                Decl::Block(b) => self.block(b, &p.rules),
            }
        }
        if self.next < self.comments.len() {
            if !decls.is_empty() {
                self.out.push('\n');
            }
            self.leading(usize::MAX, "");
        }
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
    }

    /// `in force ... {` and the rules written inside it.
    fn block(&mut self, b: &PeriodBlock, rules: &[RuleDecl]) {
        self.out.push_str(&format!("{} {{", period(&b.period)));
        self.end_line(b.period.span.end);
        let inside =
            rules.iter().filter(|r| r.block.is_some() && b.span.start <= r.span.start && r.span.end <= b.span.end);
        for (i, r) in inside.enumerate() {
            if i > 0 {
                self.out.push('\n');
            }
            self.leading(r.span.start, INDENT);
            self.rule(r, INDENT);
        }
        self.leading(b.span.end, INDENT);
        self.out.push('}');
        self.end_line(b.span.end);
    }

    fn enum_decl(&mut self, e: &EnumDecl) {
        self.out.push_str(&format!("enum {} {{", e.name.node));
        self.end_line(e.name.span.end);
        let width = e.values.iter().filter(|v| v.description.is_some()).map(|v| v.name.node.len()).max().unwrap_or(0);
        for v in &e.values {
            self.leading(v.name.span.start, INDENT);
            let line = match &v.description {
                Some(d) => format!("{INDENT}{:<width$}  {},", v.name.node, quote(d)),
                None => format!("{INDENT}{},", v.name.node),
            };
            self.out.push_str(&line);
            self.end_line(v.span.end);
        }
        self.leading(e.span.end, INDENT);
        self.out.push('}');
        self.end_line(e.span.end);
    }

    fn group(&mut self, g: &GroupDecl) {
        match &g.list {
            Some(list) => self.out.push_str(&format!("each {} in {} {{", g.name.node, list.node)),
            None => self.out.push_str(&format!("facts {} {{", g.name.node)),
        }
        self.end_line(g.list.as_ref().map_or(g.name.span.end, |l| l.span.end));
        let heads: Vec<String> = g
            .fields
            .iter()
            .map(|f| {
                let mut h = format!("{}: {}", f.name.node, f.ty.node);
                if f.optional {
                    h.push('?');
                }
                if let Some(d) = &f.default {
                    h.push_str(" = ");
                    h.push_str(&expr(d, 0));
                }
                for a in &f.annotations {
                    h.push_str(&format!(" @{}", a.node));
                }
                h
            })
            .collect();
        let width = g.fields.iter().zip(&heads).filter(|(f, _)| f.description.is_some()).map(|(_, h)| h.len()).max();
        for (f, head) in g.fields.iter().zip(&heads) {
            self.leading(f.span.start, INDENT);
            let line = match (&f.description, width) {
                (Some(d), Some(w)) => format!("{INDENT}{head:<w$}  {}", quote(d)),
                _ => format!("{INDENT}{head}"),
            };
            self.out.push_str(&line);
            self.end_line(f.span.end);
        }
        self.leading(g.span.end, INDENT);
        self.out.push('}');
        self.end_line(g.span.end);
    }

    fn action(&mut self, a: &ActionDecl) {
        let params: Vec<String> = a.params.iter().map(|p| format!("{}: {}", p.name.node, p.ty.node)).collect();
        if params.is_empty() {
            self.out.push_str(&format!("action {}", a.name.node));
        } else {
            self.out.push_str(&format!("action {}({})", a.name.node, params.join(", ")));
        }
        // After the closing parenthesis, when there are parameters.
        let header_end = match a.params.last() {
            None => a.name.span.end,
            Some(p) => self
                .text
                .get(p.ty.span.end..)
                .and_then(|t| t.find(')'))
                .map_or(p.ty.span.end, |i| p.ty.span.end + i + 1),
        };
        self.end_line(header_end);
        self.leading(a.span.end, INDENT);
        self.out.push_str(&string_lines(INDENT, "", &a.description));
        self.end_line(a.span.end);
    }

    fn rule(&mut self, r: &RuleDecl, outer: &str) {
        let ind = format!("{outer}{INDENT}");
        let ind2 = format!("{ind}{INDENT}");
        self.out.push_str(&format!("{outer}rule {} {{", r.id.node));
        self.end_line(r.id.span.end);
        if let Some(p) = &r.period {
            self.leading(p.span.start, &ind);
            self.out.push_str(&format!("{ind}{}", period(p)));
            self.end_line(p.span.end);
        }
        if let Some(span) = r.requires_span {
            self.leading(span.start, &ind);
            let facts: Vec<String> = r.requires.iter().map(|f| path_text(&f.node)).collect();
            self.out.push_str(&format!("{ind}requires {}", facts.join(", ")));
            self.end_line(span.end);
        }
        if let Some(w) = &r.when {
            // A comment inside a condition operand moves above the operand's line.
            match &w.node {
                ExprKind::And(parts) => {
                    for (i, part) in parts.iter().enumerate() {
                        self.leading(part.span.start, &ind);
                        let kw = if i == 0 { "when " } else { " and " };
                        self.out.push_str(&format!("{ind}{kw}{}", expr(part, 3)));
                        self.end_line(part.span.end);
                    }
                }
                _ => {
                    self.leading(w.span.start, &ind);
                    self.out.push_str(&format!("{ind}when {}", expr(w, 0)));
                    self.end_line(w.span.end);
                }
            }
        }
        self.leading(r.then_span.start, &ind);
        let args: Vec<String> = r.args.iter().map(|a| format!("{}: {}", a.name.node, expr(&a.value, 0))).collect();
        let inline = format!("{ind}then {}({})", r.action.node, args.join(", "));
        if args.is_empty() {
            self.out.push_str(&format!("{ind}then {}", r.action.node));
            self.end_line(r.then_span.end);
        } else if inline.len() <= WIDTH && r.args.len() <= 2 {
            self.out.push_str(&inline);
            self.end_line(r.then_span.end);
        } else {
            self.out.push_str(&format!("{ind}then {}(", r.action.node));
            self.end_line(r.action.span.end);
            for (a, text) in r.args.iter().zip(&args) {
                self.leading(a.name.span.start, &ind2);
                self.out.push_str(&format!("{ind2}{text},"));
                self.end_line(a.value.span.end);
            }
            self.leading(r.then_span.end, &ind2);
            self.out.push_str(&format!("{ind})"));
            self.end_line(r.then_span.end);
        }
        self.leading(r.reason_span.start, &ind);
        self.out.push_str(&string_lines(&ind, "reason ", &r.reason));
        self.end_line(r.reason_span.end);
        if let (Some(source), Some(span)) = (&r.source, r.source_span) {
            self.leading(span.start, &ind);
            self.out.push_str(&string_lines(&ind, "source ", source));
            self.end_line(span.end);
        }
        self.leading(r.span.end, &ind);
        self.out.push_str(outer);
        self.out.push('}');
        self.end_line(r.span.end);
    }
}

/// `in force from 2024-09-01 until 2024-12-31`.
fn period(p: &PeriodDecl) -> String {
    let mut out = String::from("in force");
    if let Some(d) = &p.from {
        out.push_str(&format!(" from {}", d.node.format("%Y-%m-%d")));
    }
    if let Some(d) = &p.until {
        out.push_str(&format!(" until {}", d.node.format("%Y-%m-%d")));
    }
    out
}

/// A string literal, escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `indent` + `keyword` + a string literal wrapped at word boundaries to [`WIDTH`], continuation
/// lines aligned after the opening quote (no trailing newline).
fn string_lines(indent: &str, keyword: &str, s: &str) -> String {
    let quoted = quote(s);
    let first = format!("{indent}{keyword}");
    if first.len() + quoted.len() <= WIDTH || !s.contains(' ') {
        return first + &quoted;
    }
    // `quote` always adds the two one-byte quotes.
    let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("");
    let cont = " ".repeat(first.len() + 1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = format!("{first}\"");
    let mut empty = true;
    for word in inner.split(' ') {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            lines.push(line);
            line = cont.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    line.push('"');
    lines.push(line);
    lines.join("\n")
}

fn prec(e: &Expr) -> u8 {
    match &e.node {
        ExprKind::Or(_) => 1,
        ExprKind::And(_) => 2,
        ExprKind::Not(_) => 3,
        ExprKind::Compare(..) | ExprKind::In { .. } => 4,
        ExprKind::Arith(..) => 5,
        _ => 6,
    }
}

/// An expression; parenthesised when it binds looser than `min` (keeps the AST shape exact).
fn expr(e: &Expr, min: u8) -> String {
    let text = match &e.node {
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Date(d) => d.format("%Y-%m-%d").to_string(),
        ExprKind::Text(s) => quote(s),
        ExprKind::Name(p) => path_text(p),
        ExprKind::Present(p) => format!("present({})", path_text(p)),
        ExprKind::Not(x) => format!("not {}", expr(x, 3)),
        ExprKind::And(xs) => xs.iter().map(|x| expr(x, 3)).collect::<Vec<_>>().join(" and "),
        ExprKind::Or(xs) => xs.iter().map(|x| expr(x, 2)).collect::<Vec<_>>().join(" or "),
        ExprKind::Compare(op, l, r) => format!("{} {} {}", expr(l, 5), op.symbol(), expr(r, 5)),
        ExprKind::In { negated, value, set } => format!(
            "{} {}in [{}]",
            expr(value, 5),
            if *negated { "not " } else { "" },
            set.iter().map(|x| expr(x, 5)).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Arith(op, l, r) => {
            format!("{} {} {}", expr(l, 5), if *op == ArithOp::Add { "+" } else { "-" }, expr(r, 6))
        }
    };
    if prec(e) < min { format!("({text})") } else { text }
}

/// Replaces the file at `path` with `contents` without ever leaving it half written: the text
/// goes to a new temporary file beside it (same folder, so the rename stays on one file system),
/// which takes the original's permissions, is synced to disk, then renamed over the original. On
/// any error the temporary file is removed and the original is left as it was. A symbolic link is
/// followed: the file it points to is replaced, the link stays.
pub fn write_in_place(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    write_in_place_with(path, |f| {
        use std::io::Write;
        f.write_all(contents)
    })
}

/// [`write_in_place`] with the writing of the temporary file given by the caller (tests make it
/// fail part-way).
fn write_in_place_with(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let target = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&target)?.permissions();
    let dir = target.parent().unwrap_or(std::path::Path::new("."));
    let name = target.file_name().map_or_else(|| "policy".into(), |n| n.to_string_lossy().into_owned());
    // A name no other run picks: the process id and a counter; `create_new` refuses an existing file.
    let temp = dir.join(format!(".{name}.fmt-{}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
    let result = (|| {
        file.set_permissions(permissions)?;
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
        return result;
    }
    // The rename is durable once the folder is synced; not every system lets a folder be opened
    // for that, and the file itself is already safe, so a failure here is not reported.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::io::Write;

    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("handover-fmt-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_write_failing_part_way_leaves_the_original_and_no_temporary_file() {
        let dir = scratch("enospc");
        let file = dir.join("p.handover");
        let original = "rule a { then go reason \"x\" }\n".repeat(500);
        std::fs::write(&file, &original).unwrap();
        // As on a full disk: the first 4 KB are written, then the device is full.
        let err = write_in_place_with(&file, |f| {
            f.write_all(&[b'#'; 4096])?;
            Err(std::io::Error::from_raw_os_error(28))
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("p.handover")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions_and_a_link_stays_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("perm");
        let file = dir.join("p.handover");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("l.handover");
        std::os::unix::fs::symlink("p.handover", &link).unwrap();
        write_in_place(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
