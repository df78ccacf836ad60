//! The typed policy syntax tree: what the parser produces and the checker reads.
//!
//! It owns no parser types and borrows nothing from the input. Every node carries a
//! [`Span`] so later stages can point at the exact text; equality of nodes ignores spans,
//! so two policies that differ only in layout compare equal.

use chrono::NaiveDate;

pub use crate::source::Span;

/// A value with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Node<T> {
    pub fn new(node: T, span: Span) -> Self {
        Node { node, span }
    }
}

pub type Ident = Node<String>;

/// A fact named by its dotted path, as in a `requires` clause; the span covers the whole path.
pub type FactRef = Node<Vec<Ident>>;

/// A whole policy: the declarations of all its files, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    pub enums: Vec<EnumDecl>,
    pub groups: Vec<GroupDecl>,
    pub actions: Vec<ActionDecl>,
    pub rules: Vec<RuleDecl>,
    /// `in force ... { rules }` blocks, in order; their rules are in `rules` (each carries the
    /// block's period in [`RuleDecl::block`]). Kept so the layout can be printed back.
    pub blocks: Vec<PeriodBlock>,
}

impl Policy {
    /// Appends another file's declarations after this one's.
    pub fn extend(&mut self, other: Policy) {
        self.enums.extend(other.enums);
        self.groups.extend(other.groups);
        self.actions.extend(other.actions);
        self.rules.extend(other.rules);
        self.blocks.extend(other.blocks);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub values: Vec<EnumValueDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumValueDecl {
    pub name: Ident,
    pub description: Option<String>,
    /// The value with its description.
    pub span: Span,
}

/// `facts NAME { ... }` (once per document) or `each NAME in LIST { ... }` (once per entry of `LIST`).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupDecl {
    pub name: Ident,
    /// For `each` groups: the document key holding the list.
    pub list: Option<Ident>,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: Ident,
    pub optional: bool,
    pub default: Option<Expr>,
    pub annotations: Vec<Ident>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionDecl {
    pub name: Ident,
    pub params: Vec<ParamDecl>,
    pub description: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: Ident,
}

/// `in force from DATE until DATE`: the days a rule holds on, both included; a bound left out
/// is open. The checker turns it into a condition on `as_of`.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodDecl {
    pub from: Option<Node<NaiveDate>>,
    pub until: Option<Node<NaiveDate>>,
    pub span: Span,
}

/// `in force ... { rule ... }`: a period given to every rule of the block.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodBlock {
    pub period: PeriodDecl,
    /// The whole block, braces included.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleDecl {
    pub id: Ident,
    /// The rule's own `in force` clause.
    pub period: Option<PeriodDecl>,
    /// The period of the `in force` block the rule is written in, if any.
    pub block: Option<PeriodDecl>,
    /// `requires a.b, c.d`: optional facts the rule reads on purpose, so that an entry without
    /// one is an error at this rule by intent. Evaluation does not look at it; `check` does.
    pub requires: Vec<FactRef>,
    /// Where the `requires` clause is written, when there is one.
    pub requires_span: Option<Span>,
    /// `None` means the rule always matches.
    pub when: Option<Expr>,
    pub action: Ident,
    pub args: Vec<Argument>,
    /// Span of the whole `then` clause, for diagnostics about missing parameters.
    pub then_span: Span,
    pub reason: String,
    pub source: Option<String>,
    pub span: Span,
    /// Where the `reason` and `source` clauses are written.
    pub reason_span: Span,
    pub source_span: Option<Span>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    pub name: Ident,
    pub value: Expr,
}

pub type Expr = Node<ExprKind>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Int(i64),
    Date(NaiveDate),
    Text(String),
    /// A dotted name (`subscription.channel`) or a bare one (`as_of`, an enum value such as `open`).
    Name(Vec<Ident>),
    /// `present(path)`: true when an optional fact has a value.
    Present(Vec<Ident>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    In {
        negated: bool,
        value: Box<Expr>,
        set: Vec<Expr>,
    },
    Arith(ArithOp, Box<Expr>, Box<Expr>),
}

/// Joins the segments of a dotted name.
pub fn path_text(path: &[Ident]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&seg.node);
    }
    out
}
