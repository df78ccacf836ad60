//! Where each name of a policy is declared and used: the table behind hover, go to definition,
//! find references and completion. Built from the syntax trees of the files that parse, so it
//! keeps working while another file of the policy has an error.

use crate::language::ast::{self, ExprKind};
use crate::language::check::AS_OF;
use crate::source::Span;

/// Something a name can stand for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Symbol {
    Enum(String),
    /// An enum and one of its values.
    Value(String, String),
    Group(String),
    /// A group and one of its facts.
    Fact(String, String),
    Action(String),
    /// An action and one of its parameters.
    Param(String, String),
    Rule(String),
}

/// One place a symbol's name is written.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub span: Span,
    pub symbol: Symbol,
    /// This is the declaration.
    pub declaration: bool,
}

/// The declarations of a policy (all its files) and every use of their names.
#[derive(Debug, Default)]
pub struct Index {
    pub enums: Vec<ast::EnumDecl>,
    pub groups: Vec<ast::GroupDecl>,
    pub actions: Vec<ast::ActionDecl>,
    pub rules: Vec<ast::RuleDecl>,
    pub occurrences: Vec<Occurrence>,
}

impl Index {
    /// Indexes the syntax trees of the files that parsed.
    pub fn build(trees: &[ast::Policy]) -> Index {
        let mut index = Index::default();
        for t in trees {
            index.enums.extend(t.enums.iter().cloned());
            index.groups.extend(t.groups.iter().cloned());
            index.actions.extend(t.actions.iter().cloned());
            index.rules.extend(t.rules.iter().cloned());
        }
        let mut occ = Vec::new();
        let w = Walker { index: &index, out: &mut occ };
        w.declarations();
        index.occurrences = occ;
        index
    }

    pub fn enum_decl(&self, name: &str) -> Option<&ast::EnumDecl> {
        self.enums.iter().find(|e| e.name.node == name)
    }

    pub fn group(&self, name: &str) -> Option<&ast::GroupDecl> {
        self.groups.iter().find(|g| g.name.node == name)
    }

    pub fn field(&self, group: &str, field: &str) -> Option<&ast::FieldDecl> {
        self.group(group)?.fields.iter().find(|f| f.name.node == field)
    }

    pub fn action(&self, name: &str) -> Option<&ast::ActionDecl> {
        self.actions.iter().find(|a| a.name.node == name)
    }

    pub fn rule(&self, id: &str) -> Option<&ast::RuleDecl> {
        self.rules.iter().find(|r| r.id.node == id)
    }

    /// The enum a fact (`group.field`) holds, if it holds one.
    pub fn enum_of_fact(&self, path: &str) -> Option<&ast::EnumDecl> {
        let (g, f) = path.split_once('.')?;
        self.enum_decl(&self.field(g, f)?.ty.node)
    }

    /// The enum a parameter of an action holds, if it holds one.
    pub fn enum_of_param(&self, action: &str, param: &str) -> Option<&ast::EnumDecl> {
        let p = self.action(action)?.params.iter().find(|p| p.name.node == param)?;
        self.enum_decl(&p.ty.node)
    }

    /// The innermost occurrence at byte `offset` of file `file` (its end counts as inside, so a
    /// cursor just after a name finds it).
    pub fn at(&self, file: usize, offset: usize) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.file == file && o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.end - o.span.start)
    }

    /// The declaration of a symbol.
    pub fn declaration(&self, symbol: &Symbol) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| o.declaration && &o.symbol == symbol)
    }

    /// Every place a symbol is written, its declaration(s) included.
    pub fn uses<'a>(&'a self, symbol: &'a Symbol) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |o| &o.symbol == symbol)
    }
}

struct Walker<'a> {
    index: &'a Index,
    out: &'a mut Vec<Occurrence>,
}

impl<'a> Walker<'a> {
    fn push(&mut self, span: Span, symbol: Symbol, declaration: bool) {
        self.out.push(Occurrence { span, symbol, declaration });
    }

    fn type_use(&mut self, ty: &ast::Ident) {
        if self.index.enum_decl(&ty.node).is_some() {
            self.push(ty.span, Symbol::Enum(ty.node.clone()), false);
        }
    }

    fn declarations(mut self) {
        let index = self.index;
        for e in &index.enums {
            self.push(e.name.span, Symbol::Enum(e.name.node.clone()), true);
            for v in &e.values {
                self.push(v.name.span, Symbol::Value(e.name.node.clone(), v.name.node.clone()), true);
            }
        }
        for g in &index.groups {
            self.push(g.name.span, Symbol::Group(g.name.node.clone()), true);
            for f in &g.fields {
                self.push(f.name.span, Symbol::Fact(g.name.node.clone(), f.name.node.clone()), true);
                self.type_use(&f.ty);
                if let Some(d) = &f.default {
                    self.expr(d, index.enum_decl(&f.ty.node).map(|e| e.name.node.as_str()));
                }
            }
        }
        for a in &index.actions {
            self.push(a.name.span, Symbol::Action(a.name.node.clone()), true);
            for p in &a.params {
                self.push(p.name.span, Symbol::Param(a.name.node.clone(), p.name.node.clone()), true);
                self.type_use(&p.ty);
            }
        }
        for r in &index.rules {
            self.push(r.id.span, Symbol::Rule(r.id.node.clone()), true);
            for path in &r.requires {
                self.path(&path.node);
            }
            if let Some(w) = &r.when {
                self.expr(w, None);
            }
            self.push(r.action.span, Symbol::Action(r.action.node.clone()), false);
            for a in &r.args {
                self.push(a.name.span, Symbol::Param(r.action.node.clone(), a.name.node.clone()), false);
                let expect = index.enum_of_param(&r.action.node, &a.name.node).map(|e| e.name.node.as_str());
                self.expr(&a.value, expect);
            }
        }
    }

    /// `group.field`: the group, then the fact.
    fn path(&mut self, path: &[ast::Ident]) {
        if let [group, field] = path {
            self.push(group.span, Symbol::Group(group.node.clone()), false);
            self.push(field.span, Symbol::Fact(group.node.clone(), field.node.clone()), false);
        }
    }

    /// The enum an operand holds when it is a fact of an enum type.
    fn enum_of(&self, e: &ast::Expr) -> Option<&'a str> {
        let index = self.index;
        let ExprKind::Name(path) = &e.node else { return None };
        let [g, f] = path.as_slice() else { return None };
        let ty = &index.field(&g.node, &f.node)?.ty.node;
        index.enum_decl(ty).map(|e| e.name.node.as_str())
    }

    /// An expression; `expect` is the enum a bare name stands for a value of here.
    fn expr(&mut self, e: &ast::Expr, expect: Option<&str>) {
        match &e.node {
            ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Date(_) | ExprKind::Text(_) => {}
            ExprKind::Name(path) => match path.as_slice() {
                [single] if single.node == AS_OF => {}
                [single] => {
                    // Where no enum is expected, the first enum with such a value.
                    let owner = expect.map(str::to_string).or_else(|| {
                        self.index
                            .enums
                            .iter()
                            .find(|d| d.values.iter().any(|v| v.name.node == single.node))
                            .map(|d| d.name.node.clone())
                    });
                    if let Some(owner) = owner {
                        self.push(single.span, Symbol::Value(owner, single.node.clone()), false);
                    }
                }
                _ => self.path(path),
            },
            ExprKind::Present(path) => self.path(path),
            ExprKind::Not(inner) => self.expr(inner, None),
            ExprKind::And(parts) | ExprKind::Or(parts) => {
                for p in parts {
                    self.expr(p, None);
                }
            }
            ExprKind::Compare(_, l, r) => {
                let (el, er) = (self.enum_of(l), self.enum_of(r));
                self.expr(l, er);
                self.expr(r, el);
            }
            ExprKind::In { value, set, .. } => {
                let ev = self.enum_of(value);
                self.expr(value, None);
                for item in set {
                    self.expr(item, ev);
                }
            }
            ExprKind::Arith(_, l, r) => {
                self.expr(l, None);
                self.expr(r, None);
            }
        }
    }
}
