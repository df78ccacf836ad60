//! pest pairs → AST. Each function takes the pair of one grammar rule and returns its node.
//! A parse tree that does not have the shape the grammar promises is reported as an internal
//! error diagnostic instead of a panic, so a grammar edit can never crash a user's run.

use chrono::NaiveDate;
use pest::iterators::{Pair, Pairs};

use super::Rule;
use crate::diagnostic::PolicyDiagnostic;
use crate::language::ast::*;

type Result<T> = std::result::Result<T, PolicyDiagnostic>;

pub(super) fn policy(file: usize, mut pairs: Pairs<'_, Rule>) -> std::result::Result<Policy, Vec<PolicyDiagnostic>> {
    let mut out = Policy::default();
    let mut errors = Vec::new();
    let Some(root) = pairs.next() else {
        return Ok(out);
    };
    let lw = Lower { file, depth: std::cell::Cell::new(0) };
    for decl in root.into_inner() {
        let result = match decl.as_rule() {
            Rule::enum_decl => lw.enum_decl(decl).map(|d| out.enums.push(d)),
            Rule::facts_decl | Rule::each_decl => lw.group_decl(decl).map(|d| out.groups.push(d)),
            Rule::action_decl => lw.action_decl(decl).map(|d| out.actions.push(d)),
            Rule::rule_decl => lw.rule_decl(decl, None).map(|d| out.rules.push(d)),
            Rule::period_block => lw.period_block(decl, &mut out),
            Rule::EOI => Ok(()),
            _ => Err(lw.shape(&decl)),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

struct Lower {
    file: usize,
    /// Nesting depth of the expression being lowered.
    depth: std::cell::Cell<usize>,
}

/// Deepest expression nesting accepted. Every later stage walks expressions recursively, so a
/// bound here is what keeps a hostile policy from overflowing the stack.
pub const MAX_EXPR_DEPTH: usize = 200;

fn is_keyword_token(r: Rule) -> bool {
    matches!(
        r,
        Rule::enum_kw
            | Rule::facts_kw
            | Rule::each_kw
            | Rule::action_kw
            | Rule::rule_kw
            | Rule::requires_kw
            | Rule::in_force_kw
            | Rule::from_kw
            | Rule::until_kw
            | Rule::when_kw
            | Rule::then_kw
            | Rule::reason_kw
            | Rule::source_kw
            | Rule::present_kw
    )
}

/// Length of `text` up to the end of its last token: trailing whitespace and `#` comments (outside
/// strings) do not count.
fn token_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut end, mut in_string) = (0, 0, false);
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    end = i + 1;
                }
                _ => {}
            }
        } else if b == b'#' {
            while bytes.get(i).is_some_and(|b| *b != b'\n') {
                i += 1;
            }
            continue;
        } else if b == b'"' {
            in_string = true;
        } else if !b.is_ascii_whitespace() {
            end = i + 1;
        }
        i += 1;
    }
    // A string left open (impossible in a parsed pair) still counts to its end.
    if in_string { text.len() } else { end.min(text.len()) }
}

impl Lower {
    /// The pair's span, ending at its last token: pest's may run on over the whitespace and
    /// comments skipped before an optional part that was then not there.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.start() + token_len(pair.as_str()))
    }

    fn shape(&self, pair: &Pair<'_, Rule>) -> PolicyDiagnostic {
        PolicyDiagnostic::error(
            "parse::internal",
            format!("internal error: unexpected {:?} in the parse tree", pair.as_rule()),
            self.span(pair),
            "here",
        )
        .with_help("this is a bug in handover's grammar; please report it with this policy")
    }

    /// The next child of the wanted rule, skipping keyword tokens.
    fn next<'i>(&self, parent: &Pair<'i, Rule>, it: &mut Pairs<'i, Rule>, want: Rule) -> Result<Pair<'i, Rule>> {
        let mut next = it.next();
        while let Some(p) = next.as_ref().filter(|p| is_keyword_token(p.as_rule())) {
            let _ = p;
            next = it.next();
        }
        match next {
            Some(p) if p.as_rule() == want => Ok(p),
            Some(p) => Err(self.shape(&p)),
            None => Err(self.shape(parent)),
        }
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Node::new(pair.as_str().to_string(), self.span(pair))
    }

    fn enum_decl(&self, pair: Pair<'_, Rule>) -> Result<EnumDecl> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let name = self.ident(&self.next(&pair, &mut it, Rule::ident)?);
        let mut values = Vec::new();
        for v in it {
            let mut vi = v.clone().into_inner();
            let vname = self.ident(&self.next(&v, &mut vi, Rule::ident)?);
            let description = vi.next().map(|s| self.string(&s)).transpose()?;
            values.push(EnumValueDecl { name: vname, description, span: self.span(&v) });
        }
        Ok(EnumDecl { name, values, span })
    }

    fn group_decl(&self, pair: Pair<'_, Rule>) -> Result<GroupDecl> {
        let span = self.span(&pair);
        let each = pair.as_rule() == Rule::each_decl;
        let mut it = pair.clone().into_inner();
        let name = self.ident(&self.next(&pair, &mut it, Rule::ident)?);
        let list = if each {
            self.next(&pair, &mut it, Rule::in_kw)?;
            Some(self.ident(&self.next(&pair, &mut it, Rule::ident)?))
        } else {
            None
        };
        let fields = it.map(|f| self.field(f)).collect::<Result<_>>()?;
        Ok(GroupDecl { name, list, fields, span })
    }

    fn field(&self, pair: Pair<'_, Rule>) -> Result<FieldDecl> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let name = self.ident(&self.next(&pair, &mut it, Rule::ident)?);
        let ty = self.ident(&self.next(&pair, &mut it, Rule::ident)?);
        let mut field =
            FieldDecl { name, ty, optional: false, default: None, annotations: vec![], description: None, span };
        for p in it {
            match p.as_rule() {
                Rule::optional_mark => field.optional = true,
                Rule::default_value => {
                    let mut di = p.clone().into_inner();
                    let v = di.next().ok_or_else(|| self.shape(&p))?;
                    field.default = Some(self.literal_or_name(v)?);
                }
                Rule::annotation => {
                    let mut ai = p.clone().into_inner();
                    field.annotations.push(self.ident(&self.next(&p, &mut ai, Rule::ident)?));
                }
                Rule::string => field.description = Some(self.string(&p)?),
                _ => return Err(self.shape(&p)),
            }
        }
        Ok(field)
    }

    fn action_decl(&self, pair: Pair<'_, Rule>) -> Result<ActionDecl> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let name = self.ident(&self.next(&pair, &mut it, Rule::ident)?);
        let mut params = Vec::new();
        let mut description = None;
        for p in it {
            match p.as_rule() {
                Rule::param_decl => {
                    let mut pi = p.clone().into_inner();
                    let pname = self.ident(&self.next(&p, &mut pi, Rule::ident)?);
                    let ty = self.ident(&self.next(&p, &mut pi, Rule::ident)?);
                    params.push(ParamDecl { name: pname, ty });
                }
                Rule::string => description = Some(self.string(&p)?),
                _ => return Err(self.shape(&p)),
            }
        }
        let description = description.ok_or_else(|| self.shape(&pair))?;
        Ok(ActionDecl { name, params, description, span })
    }

    /// `in force from A until B`.
    fn period(&self, pair: &Pair<'_, Rule>) -> Result<PeriodDecl> {
        let span = self.span(pair);
        let (mut from, mut until) = (None, None);
        let mut bound: Option<Rule> = None;
        for p in pair.clone().into_inner() {
            match p.as_rule() {
                Rule::in_force_kw => {}
                Rule::from_kw | Rule::until_kw => bound = Some(p.as_rule()),
                Rule::date => {
                    let d = match self.term(p.clone())? {
                        Node { node: ExprKind::Date(d), span } => Node::new(d, span),
                        _ => return Err(self.shape(&p)),
                    };
                    match bound.take() {
                        Some(Rule::from_kw) => from = Some(d),
                        Some(Rule::until_kw) => until = Some(d),
                        _ => return Err(self.shape(&p)),
                    }
                }
                _ => return Err(self.shape(&p)),
            }
        }
        Ok(PeriodDecl { from, until, span })
    }

    /// `in force ... { rule ... }`: its rules go to `out.rules`, each carrying the block's period.
    fn period_block(&self, pair: Pair<'_, Rule>, out: &mut Policy) -> Result<()> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let period = self.period(&self.next(&pair, &mut it, Rule::period)?)?;
        for r in it {
            if r.as_rule() != Rule::rule_decl {
                return Err(self.shape(&r));
            }
            out.rules.push(self.rule_decl(r, Some(period.clone()))?);
        }
        out.blocks.push(PeriodBlock { period, span });
        Ok(())
    }

    fn rule_decl(&self, pair: Pair<'_, Rule>, block: Option<PeriodDecl>) -> Result<RuleDecl> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let id = self.ident(&self.next(&pair, &mut it, Rule::ident)?);
        let mut period = None;
        let mut when = None;
        let mut requires = Vec::new();
        let mut requires_span = None;
        let mut then = None;
        let mut reason = None;
        let mut source = None;
        for clause in it {
            let mut ci = clause.clone().into_inner();
            match clause.as_rule() {
                Rule::period => period = Some(self.period(&clause)?),
                Rule::requires_clause => {
                    requires_span = Some(self.span(&clause));
                    for p in ci.filter(|p| p.as_rule() != Rule::requires_kw) {
                        if p.as_rule() != Rule::path {
                            return Err(self.shape(&p));
                        }
                        let span = self.span(&p);
                        requires.push(Node::new(p.into_inner().map(|seg| self.ident(&seg)).collect(), span));
                    }
                }
                Rule::when_clause => when = Some(self.expr(self.next(&clause, &mut ci, Rule::expr)?)?),
                Rule::then_clause => {
                    let then_span = self.span(&clause);
                    let action = self.ident(&self.next(&clause, &mut ci, Rule::ident)?);
                    let mut args = Vec::new();
                    for a in ci {
                        let mut ai = a.clone().into_inner();
                        let name = self.ident(&self.next(&a, &mut ai, Rule::ident)?);
                        let value = self.expr(self.next(&a, &mut ai, Rule::expr)?)?;
                        args.push(Argument { name, value });
                    }
                    then = Some((action, args, then_span));
                }
                Rule::reason_clause => {
                    reason = Some((self.string(&self.next(&clause, &mut ci, Rule::string)?)?, self.span(&clause)));
                }
                Rule::source_clause => {
                    source = Some((self.string(&self.next(&clause, &mut ci, Rule::string)?)?, self.span(&clause)));
                }
                _ => return Err(self.shape(&clause)),
            }
        }
        let (action, args, then_span) = then.ok_or_else(|| self.shape(&pair))?;
        let (reason, reason_span) = reason.ok_or_else(|| self.shape(&pair))?;
        let (source, source_span) = match source {
            Some((s, sp)) => (Some(s), Some(sp)),
            None => (None, None),
        };
        Ok(RuleDecl {
            id,
            period,
            block,
            requires,
            requires_span,
            when,
            action,
            args,
            then_span,
            reason,
            source,
            span,
            reason_span,
            source_span,
        })
    }

    /// A string literal, escapes resolved, runs of whitespace (line breaks included) folded
    /// into one space so long texts can be wrapped freely in the policy file.
    fn string(&self, pair: &Pair<'_, Rule>) -> Result<String> {
        let raw = pair.as_str();
        let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or_else(|| self.shape(pair))?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        // Raw whitespace folds into one space between words and vanishes at either end;
        // escaped characters (`\n`, `\t`) are content and stay.
        let mut pending_space = false;
        while let Some(c) = chars.next() {
            let c = if c == '\\' {
                match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some(other) => {
                        return Err(PolicyDiagnostic::error(
                            "parse::escape",
                            format!("unknown escape `\\{other}` in a string"),
                            self.span(pair),
                            "in this string",
                        )
                        .with_help("the escapes are \\n, \\t, \\\" and \\\\"));
                    }
                    None => '\\',
                }
            } else if c.is_whitespace() {
                pending_space = !out.is_empty();
                continue;
            } else {
                c
            };
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
        Ok(out)
    }

    fn literal_or_name(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        match pair.as_rule() {
            Rule::ident => {
                let id = self.ident(&pair);
                let span = id.span;
                Ok(Node::new(ExprKind::Name(vec![id]), span))
            }
            _ => self.term(pair),
        }
    }

    fn too_deep(&self, span: Span) -> PolicyDiagnostic {
        // Point at where the expression starts (the whole of it may be enormous). Every
        // expression starts with an ASCII character, so one byte is one character.
        let span = Span::new(span.file, span.start, span.end.min(span.start + 1));
        PolicyDiagnostic::error(
            "parse::too-deep",
            format!("this expression is nested more than {MAX_EXPR_DEPTH} levels deep"),
            span,
            "too deep",
        )
        .with_help("split it into simpler conditions, or several rules")
    }

    /// Checks that `extra` more levels fit under the limit.
    fn room(&self, extra: usize, span: Span) -> Result<()> {
        if self.depth.get() + extra > MAX_EXPR_DEPTH { Err(self.too_deep(span)) } else { Ok(()) }
    }

    /// Lowers `f` with `levels` more nesting counted against the limit.
    fn nested<T>(&self, levels: usize, span: Span, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.room(levels, span)?;
        self.depth.set(self.depth.get() + levels);
        let result = f();
        self.depth.set(self.depth.get().saturating_sub(levels));
        result
    }

    fn expr(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        self.expr_at(pair, span)
    }

    fn expr_at(&self, pair: Pair<'_, Rule>, span: Span) -> Result<Expr> {
        match pair.as_rule() {
            Rule::expr => {
                let mut it = pair.clone().into_inner();
                self.expr(it.next().ok_or_else(|| self.shape(&pair))?)
            }
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                let mut parts = Vec::new();
                for p in pair.into_inner() {
                    if !matches!(p.as_rule(), Rule::or_kw | Rule::and_kw) {
                        parts.push(self.expr(p)?);
                    }
                }
                if parts.len() == 1 {
                    // One operand: no operator was written.
                    return parts.pop().ok_or_else(|| PolicyDiagnostic::error("parse::internal", "", span, ""));
                }
                Ok(Node::new(if is_or { ExprKind::Or(parts) } else { ExprKind::And(parts) }, span))
            }
            Rule::not_expr => {
                let nots: Vec<Span> =
                    pair.clone().into_inner().filter(|p| p.as_rule() == Rule::not_kw).map(|p| self.span(&p)).collect();
                let operand = pair.clone().into_inner().find(|p| p.as_rule() != Rule::not_kw);
                let inner = match operand {
                    Some(p) => Some(self.nested(nots.len(), span, || self.expr(p))?),
                    None => None,
                };
                let mut e = inner.ok_or_else(|| self.shape(&pair))?;
                for not_span in nots.into_iter().rev() {
                    let s = not_span.to(e.span);
                    e = Node::new(ExprKind::Not(Box::new(e)), s);
                }
                Ok(e)
            }
            Rule::cmp_expr => {
                let mut it = pair.clone().into_inner();
                let left = self.expr(self.next(&pair, &mut it, Rule::sum)?)?;
                let Some(op) = it.next() else { return Ok(left) };
                let right = it.next().ok_or_else(|| self.shape(&pair))?;
                match op.as_rule() {
                    Rule::cmp_op => {
                        let op = match op.as_str() {
                            "==" => CmpOp::Eq,
                            "!=" => CmpOp::Ne,
                            "<" => CmpOp::Lt,
                            "<=" => CmpOp::Le,
                            ">" => CmpOp::Gt,
                            ">=" => CmpOp::Ge,
                            _ => return Err(self.shape(&op)),
                        };
                        let right = self.expr(right)?;
                        Ok(Node::new(ExprKind::Compare(op, Box::new(left), Box::new(right)), span))
                    }
                    Rule::in_kw | Rule::not_in => {
                        let negated = op.as_rule() == Rule::not_in;
                        let set = right.into_inner().map(|e| self.expr(e)).collect::<Result<_>>()?;
                        Ok(Node::new(ExprKind::In { negated, value: Box::new(left), set }, span))
                    }
                    _ => Err(self.shape(&op)),
                }
            }
            Rule::sum => {
                let ops = pair.clone().into_inner().filter(|p| p.as_rule() == Rule::add_op).count();
                self.room(ops, span)?;
                self.depth.set(self.depth.get() + ops);
                let result = self.sum(pair);
                self.depth.set(self.depth.get().saturating_sub(ops));
                result
            }
            _ => self.term(pair),
        }
    }

    /// `a + b - c`, left to right; the caller has counted its depth.
    fn sum(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let mut it = pair.clone().into_inner();
        let first = it.next().ok_or_else(|| self.shape(&pair))?;
        let mut acc = self.term(first)?;
        while let Some(op) = it.next() {
            let op_kind = match op.as_str() {
                "+" => ArithOp::Add,
                "-" => ArithOp::Sub,
                _ => return Err(self.shape(&op)),
            };
            let rhs = self.term(it.next().ok_or_else(|| self.shape(&pair))?)?;
            let s = acc.span.to(rhs.span);
            acc = Node::new(ExprKind::Arith(op_kind, Box::new(acc), Box::new(rhs)), s);
        }
        Ok(acc)
    }

    fn term(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair),
            // The parentheses belong to the operand's span.
            Rule::paren => {
                let mut it = pair.clone().into_inner();
                let inner = self.next(&pair, &mut it, Rule::expr)?;
                // A parenthesis can open one more level of operators inside: count two.
                let mut e = self.nested(2, span, || self.expr(inner))?;
                e.span = span;
                return Ok(e);
            }
            Rule::true_lit => ExprKind::Bool(true),
            Rule::false_lit => ExprKind::Bool(false),
            Rule::int | Rule::neg_int => {
                let text: String = pair.as_str().chars().filter(|c| !c.is_whitespace()).collect();
                let n = text.parse::<i64>().map_err(|_| {
                    PolicyDiagnostic::error(
                        "parse::number",
                        format!("the number `{text}` is too large"),
                        span,
                        "out of range",
                    )
                    .with_help("numbers must lie between -9223372036854775808 and 9223372036854775807")
                })?;
                ExprKind::Int(n)
            }
            Rule::date => {
                let d = NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d").map_err(|_| {
                    PolicyDiagnostic::error(
                        "parse::date",
                        format!("`{}` is not a calendar date", pair.as_str()),
                        span,
                        "no such day",
                    )
                    .with_help("dates are written YYYY-MM-DD, with a month from 01 to 12 and a day that month has")
                })?;
                ExprKind::Date(d)
            }
            Rule::string => ExprKind::Text(self.string(&pair)?),
            Rule::path => ExprKind::Name(pair.into_inner().map(|p| self.ident(&p)).collect()),
            Rule::presence => {
                let mut it = pair.clone().into_inner();
                let path = self.next(&pair, &mut it, Rule::path)?;
                ExprKind::Present(path.into_inner().map(|p| self.ident(&p)).collect())
            }
            _ => return Err(self.shape(&pair)),
        };
        Ok(Node::new(kind, span))
    }
}
