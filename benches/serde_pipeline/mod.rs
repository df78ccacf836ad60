//! The hand-written pipeline the batch evaluator is measured against: serde_json into typed
//! structs, the hand-written `match` of `common`, serde_json out, one JSON line per
//! subscription. One line at a time ([`line`]), and on all cores ([`parallel`]: blocks of lines
//! decided with rayon, outputs in input order), as the `pipeline` bench and the
//! `serde_pipeline` example run it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use handover::Date;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc<'a> {
    #[serde(borrow)]
    as_of: &'a str,
    #[serde(borrow)]
    partner: Partner<'a>,
    #[serde(borrow)]
    customer: Customer<'a>,
    #[serde(borrow)]
    subscriptions: Vec<Sub<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Partner<'a> {
    role: &'a str,
    #[serde(rename = "type")]
    ptype: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Customer<'a> {
    name: &'a str,
    cloud: &'a str,
    is_csp_partner: bool,
    csp_transaction_tenant: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sub<'a> {
    id: &'a str,
    service: &'a str,
    channel: &'a str,
    cancelled: bool,
    term_end: Option<&'a str>,
}

#[derive(Serialize)]
struct Out<'a> {
    source: &'a str,
    customer: &'a str,
    subscription: &'a str,
    action: &'static str,
    rule: &'static str,
    reason: &'static str,
}

/// Parses one line into the hand-written pipeline's typed facts (its reading alone, for the
/// `pipeline` bench's facts group); returns the subscriptions read.
pub fn read(line: &str) -> Vec<common::Sub> {
    let doc: Doc<'_> = serde_json::from_str(line).expect("valid generated line");
    let date = |s: &str| Date::parse(s).expect("valid date").days();
    let as_of = date(doc.as_of);
    doc.subscriptions.iter().map(|s| sub(&doc, s, as_of)).collect()
}

/// One subscription of a document as the hand-written `match` takes it.
fn sub(doc: &Doc<'_>, s: &Sub<'_>, as_of: i64) -> common::Sub {
    let date = |s: &str| Date::parse(s).expect("valid date").days();
    common::Sub {
        role: common::ROLES.iter().find(|r| **r == doc.partner.role).copied().unwrap_or("other"),
        ptype: common::TYPES.iter().find(|r| **r == doc.partner.ptype).copied().unwrap_or("direct_bill"),
        cloud: if doc.customer.cloud == "us_government" { "us_government" } else { "commercial" },
        is_csp: doc.customer.is_csp_partner,
        tenant: doc.customer.csp_transaction_tenant,
        service: if s.service == "license_based" { "license_based" } else { "usage_based" },
        channel: common::CHANNELS.iter().find(|c| **c == s.channel).copied().unwrap_or("unknown"),
        term_offset: s.term_end.map(|t| date(t) - as_of),
        cancelled: s.cancelled,
    }
}

/// Parses, decides and writes one line; returns the subscriptions written.
pub fn line(line: &str, out: &mut Vec<u8>) -> usize {
    let doc: Doc<'_> = serde_json::from_str(line).expect("valid generated line");
    let date = |s: &str| Date::parse(s).expect("valid date").days();
    let as_of = date(doc.as_of);
    for s in &doc.subscriptions {
        let sub = sub(&doc, s, as_of);
        let verdict = common::decide(&common::typed(&sub), as_of);
        let action = verdict.map_or("error", |v| v.action());
        let o = Out {
            source: "generated",
            customer: doc.customer.name,
            subscription: s.id,
            action,
            rule: action,
            reason: "A reason of the length the shipped policy gives, so that both pipelines write \
                     about as many bytes per line: the customer waits for the term to end or \
                     cancels, and makes sure the subscription does not auto-renew meanwhile.",
        };
        serde_json::to_writer(&mut *out, &o).expect("write to memory");
        out.push(b'\n');
    }
    doc.subscriptions.len()
}

/// Every line of `input`, one after the other, on this thread.
pub fn serial(input: &str, out: &mut Vec<u8>) -> usize {
    input.lines().map(|l| line(l, out)).sum()
}

/// Lines decided per task of [`parallel`].
const BLOCK: usize = 64;

/// Every line of `input` on all cores: blocks of lines decided with rayon, each into its own
/// buffer, appended to `out` in input order.
pub fn parallel(input: &str, out: &mut Vec<u8>) -> usize {
    let lines: Vec<&str> = input.lines().collect();
    let parts: Vec<(usize, Vec<u8>)> = lines
        .par_chunks(BLOCK)
        .map(|ls| {
            let mut o = Vec::with_capacity(ls.len() * 512);
            let n = ls.iter().map(|l| line(l, &mut o)).sum();
            (n, o)
        })
        .collect();
    let mut n = 0;
    for (k, o) in parts {
        n += k;
        out.extend_from_slice(&o);
    }
    n
}
