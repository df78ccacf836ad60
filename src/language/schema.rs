//! The fact schema a policy declares: enums, fact groups and their fields, and actions.
//!
//! Built by the checker from the AST; read by the fact loaders (to validate input), the
//! compiler (to assign slots) and the output layer (to name enum values and parameters).

use crate::value::Value;

pub type EnumId = usize;
pub type FieldId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Date,
    Text,
    Enum(EnumId),
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<String>,
    pub descriptions: Vec<Option<String>>,
}

/// Where a fact's value lives: in the document (read once per document), or in each entry of
/// the document's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Document,
    Item,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    pub scope: Scope,
    pub index: usize,
}

#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Dotted name, such as `subscription.term_end`.
    pub path: String,
    /// Name inside its group, such as `term_end`.
    pub name: String,
    pub group: usize,
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub slot: Slot,
}

#[derive(Clone, Debug)]
pub struct GroupDef {
    pub name: String,
    /// For a repeated group, the document key that holds the list of entries.
    pub list: Option<String>,
    pub fields: Vec<FieldId>,
}

#[derive(Clone, Debug)]
pub struct ActionDef {
    pub name: String,
    pub params: Vec<(String, Type)>,
    pub description: String,
}

/// The fixed keys of an output record (JSON, JSON Lines, YAML), besides the two named after
/// fact groups ([`Schema::output_keys`]): a group whose name is an output key cannot be named
/// like one of these, or records would hold the key twice.
pub const RECORD_KEYS: [&str; 7] = ["source", "as_of", "action", "params", "rule", "reason", "error"];

/// The schema of the facts and the actions of one policy.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub enums: Vec<EnumDef>,
    pub groups: Vec<GroupDef>,
    pub fields: Vec<FieldDef>,
    pub actions: Vec<ActionDef>,
    /// The repeated group, if the policy declares one with `each`.
    pub item_group: Option<usize>,
    /// The text fact marked `@label` (names a document in output).
    pub label: Option<FieldId>,
    /// The text fact marked `@key` (identifies an entry in output).
    pub key: Option<FieldId>,
    /// Number of document-scoped and item-scoped slots.
    pub document_slots: usize,
    pub item_slots: usize,
}

impl Schema {
    pub fn field_by_path(&self, path: &str) -> Option<FieldId> {
        self.fields.iter().position(|f| f.path == path)
    }

    pub fn group_by_name(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.name == name)
    }

    pub fn type_name(&self, ty: Type) -> &str {
        match ty {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Date => "date",
            Type::Text => "text",
            Type::Enum(e) => self.enums.get(e).map_or("?", |d| d.name.as_str()),
        }
    }

    /// The name of an enum value, or `?` for an index the enum does not have.
    pub fn enum_value_name(&self, e: EnumId, v: u16) -> &str {
        self.enums.get(e).and_then(|d| d.values.get(usize::from(v))).map_or("?", String::as_str)
    }

    /// The keys naming a document and an entry in every output record: the `@label` fact's
    /// group and the `each` group (`customer` and `subscription` for the shipped policy), or
    /// `label` and `entry` when the policy has no such group.
    pub fn output_keys(&self) -> (&str, &str) {
        let label_key = self
            .label
            .and_then(|l| self.fields.get(l))
            .and_then(|f| self.groups.get(f.group))
            .map_or("label", |g| g.name.as_str());
        let key_name = self.item_group.and_then(|g| self.groups.get(g)).map_or("entry", |g| g.name.as_str());
        (label_key, key_name)
    }

    /// The fields of a scope in slot order.
    pub fn fields_in(&self, scope: Scope) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(move |f| f.slot.scope == scope)
    }
}

impl Schema {
    /// The JSON Schema (draft 2020-12) of the fact documents this schema accepts, for editors
    /// (the YAML and JSON language servers validate and complete fact files with it) and for
    /// other programs that produce fact files. It states what the fact reader checks: the known
    /// keys and no others, each fact's type (dates as `YYYY-MM-DD`), the values of each enum with
    /// their descriptions, which facts are required, which may be null (the optional ones), and
    /// that the entry list holds at least one entry. Calendar validity (`2023-02-30`) and
    /// duplicate keys are left to handover itself.
    pub fn json_schema(&self) -> serde_json::Value {
        use serde_json::{Map, Value as J, json};
        let date = json!({ "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" });
        let mut defs = Map::new();
        for e in &self.enums {
            let values: Vec<J> = e
                .values
                .iter()
                .zip(&e.descriptions)
                .map(|(v, d)| match d {
                    Some(d) => json!({ "const": v, "description": d }),
                    None => json!({ "const": v }),
                })
                .collect();
            defs.insert(e.name.clone(), json!({ "type": "string", "oneOf": values }));
        }
        let fact = |f: &FieldDef| -> J {
            let mut t = match f.ty {
                Type::Bool => json!({ "type": "boolean" }),
                Type::Int => json!({ "type": "integer" }),
                Type::Date => date.clone(),
                Type::Text => json!({ "type": "string" }),
                Type::Enum(e) => {
                    let name = self.enums.get(e).map_or("?", |d| d.name.as_str());
                    json!({ "$ref": format!("#/$defs/{name}") })
                }
            };
            if f.optional {
                t = json!({ "anyOf": [t, { "type": "null" }] });
            }
            if let (Some(map), Some(d)) = (t.as_object_mut(), &f.description) {
                map.insert("description".into(), J::String(d.clone()));
            }
            if let (Some(map), Some(d)) = (t.as_object_mut(), &f.default) {
                let default = match d {
                    Value::Bool(b) => J::Bool(*b),
                    Value::Int(n) => J::from(*n),
                    Value::Date(d) => J::String(d.to_string()),
                    Value::Text(s) => J::String(s.to_string()),
                    Value::Enum(v) => match f.ty {
                        Type::Enum(e) => J::String(self.enum_value_name(e, *v).to_string()),
                        _ => J::Null,
                    },
                    Value::Absent => J::Null,
                };
                map.insert("default".into(), default);
            }
            t
        };
        let group = |g: &GroupDef| -> (J, bool) {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for f in g.fields.iter().filter_map(|&f| self.fields.get(f)) {
                properties.insert(f.name.clone(), fact(f));
                if !f.optional && f.default.is_none() {
                    required.push(J::String(f.name.clone()));
                }
            }
            let needed = !required.is_empty();
            let object = json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false });
            (object, needed)
        };
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut as_of = date.clone();
        if let Some(map) = as_of.as_object_mut() {
            map.insert(
                "description".into(),
                "The evaluation date; `--as-of` overrides it, and without either it is today".into(),
            );
        }
        properties.insert("as_of".to_string(), as_of);
        for (i, g) in self.groups.iter().enumerate() {
            let (object, needed) = group(g);
            match (&g.list, self.item_group == Some(i)) {
                (Some(list), true) => {
                    properties.insert(list.clone(), json!({ "type": "array", "minItems": 1, "items": object }));
                    required.push(J::String(list.clone()));
                }
                _ => {
                    properties.insert(g.name.clone(), object);
                    if needed {
                        required.push(J::String(g.name.clone()));
                    }
                }
            }
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "handover fact document",
            "description": "One document of a fact file (YAML, JSON, or one line of JSON Lines) for the policy it was generated from",
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
            "$defs": defs,
        })
    }
}
