//! Inventory shapes for the batch benchmarks and the generator example: the benchmarks'
//! subscriptions grouped several to a JSON Lines document, as a customer's inventory is.

#![allow(dead_code)]

use crate::common::{self, Sub};

/// Subscriptions `first..first + subs.len()` as one JSON Lines fact document: the partner and
/// customer facts of the first, and every subscription's own facts (ids `sub-{i}`, as in
/// [`common::json_line`], which this equals for one subscription).
pub fn json_line_of(first: usize, subs: &[Sub]) -> String {
    let Some(head) = subs.first() else { return String::new() };
    let mut out = format!(
        r#"{{"as_of":"2024-03-15","partner":{{"role":"{}","type":"{}"}},"customer":{{"name":"Customer {}","cloud":"{}","is_csp_partner":{},"csp_transaction_tenant":{}}},"subscriptions":["#,
        head.role,
        head.ptype,
        first / 4,
        head.cloud,
        head.is_csp,
        head.tenant,
    );
    for (j, s) in subs.iter().enumerate() {
        if j > 0 {
            out.push(',');
        }
        let term = s.term_offset.map(|o| format!(r#","term_end":"{}""#, common::date_text(o))).unwrap_or_default();
        out.push_str(&format!(
            r#"{{"id":"sub-{}","service":"{}","channel":"{}","cancelled":{}{term}}}"#,
            first + j,
            s.service,
            s.channel,
            s.cancelled
        ));
    }
    out.push_str("]}");
    out
}

/// `subs` as JSON Lines, `per_line` subscriptions a line, each line ending in `\n`.
pub fn json_lines(subs: &[Sub], first: usize, per_line: usize) -> String {
    let mut out = String::new();
    for (k, group) in subs.chunks(per_line.max(1)).enumerate() {
        out.push_str(&json_line_of(first + k * per_line.max(1), group));
        out.push('\n');
    }
    out
}
