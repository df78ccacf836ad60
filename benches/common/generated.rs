//! The generated policy of the `load` benchmark, shared with the tests that keep it on the
//! decision diagram and within `check`'s default budget.

#![allow(dead_code)]

use crate::common;

/// 999 generated rules over the shipped schema plus a catch-all: enum sets, bools, optional
/// dates compared with `as_of` (with day offsets), in varied combinations.
pub fn generated_rules(n: usize) -> String {
    let mut r = common::Rng::new(7);
    let mut out = String::new();
    for i in 0..n.saturating_sub(1) {
        let mut conds = Vec::new();
        let roles: Vec<&str> = (0..1 + r.next() % 4).map(|_| r.pick(&common::ROLES)).collect();
        conds.push(format!("partner.role in [{}]", roles.join(", ")));
        let chans: Vec<&str> = (0..1 + r.next() % 3).map(|_| r.pick(&common::CHANNELS)).collect();
        conds.push(format!("subscription.channel in [{}]", chans.join(", ")));
        if r.chance(50) {
            conds.push(format!("subscription.service == {}", r.pick(&["license_based", "usage_based"])));
        }
        if r.chance(30) {
            conds.push("not subscription.cancelled".into());
        }
        if r.chance(30) {
            conds.push(format!(
                "present(subscription.term_end) and as_of <= subscription.term_end - {}",
                r.next() % 400
            ));
        }
        if r.chance(20) {
            conds.push("customer.cloud == us_government".into());
        }
        let action = r.pick(&["manual_review", "not_applicable", "insufficient_role", "csp_resale_not_allowed"]);
        out.push_str(&format!(
            "rule r{i} {{\n    when {}\n    then {action}\n    reason \"generated\"\n}}\n\n",
            conds.join("\n     and ")
        ));
    }
    out.push_str("rule fallback {\n    then not_applicable\n    reason \"fallback\"\n}\n");
    out
}
