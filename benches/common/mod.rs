//! Shared by the benchmarks: a deterministic generator of subscriptions over the shipped
//! policy's schema, and a hand-written Rust `match` of the same policy (the practical limit a
//! rule engine can approach), used as the baseline and to cross-check every verdict.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// One generated subscription with its document facts, as plain Rust values.
#[derive(Clone, Debug)]
pub struct Sub {
    pub role: &'static str,
    pub ptype: &'static str,
    pub cloud: &'static str,
    pub is_csp: bool,
    pub tenant: bool,
    pub service: &'static str,
    pub channel: &'static str,
    /// Days from `as_of` (2024-03-15) to the term end, if any.
    pub term_offset: Option<i64>,
    pub cancelled: bool,
}

pub const ROLES: [&str; 7] =
    ["global_admin", "user_management_admin", "sales_agent", "admin_agent", "helpdesk_agent", "billing_admin", "other"];
pub const TYPES: [&str; 3] = ["direct_bill", "indirect_provider", "indirect_reseller"];
pub const CHANNELS: [&str; 8] = [
    "microsoft_direct",
    "advisor",
    "open",
    "enterprise_agreement",
    "csp_partner",
    "non_csp_third_party",
    "syndication",
    "unknown",
];

/// A small, fast, deterministic generator (xorshift); no dependency needed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Subscriptions weighted like a real inventory: mostly allowed roles, a few CSP customers,
/// every channel, terms around the evaluation date (every one decidable).
pub fn generate(n: usize, seed: u64) -> Vec<Sub> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| {
            let role = if r.chance(85) { r.pick(&ROLES[..3]) } else { r.pick(&ROLES[3..]) };
            let cancelled = r.chance(15);
            Sub {
                role,
                ptype: r.pick(&TYPES),
                cloud: if r.chance(10) { "us_government" } else { "commercial" },
                is_csp: r.chance(5),
                tenant: r.chance(50),
                service: if r.chance(60) { "license_based" } else { "usage_based" },
                channel: r.pick(&CHANNELS),
                term_offset: if cancelled && r.chance(50) { None } else { Some((r.next() % 730) as i64 - 365) },
                cancelled,
            }
        })
        .collect()
}

pub const AS_OF_DAYS_FROM_CE: i64 = 738_960; // 2024-03-15

/// The date `offset` days after 2024-03-15, as YYYY-MM-DD.
pub fn date_text(offset: i64) -> String {
    let d = chrono::NaiveDate::from_ymd_opt(2024, 3, 15).unwrap() + chrono::Duration::days(offset);
    d.format("%Y-%m-%d").to_string()
}

/// One subscription as a JSON Lines fact document.
pub fn json_line(i: usize, s: &Sub) -> String {
    let term = s.term_offset.map(|o| format!(r#","term_end":"{}""#, date_text(o))).unwrap_or_default();
    format!(
        r#"{{"as_of":"2024-03-15","partner":{{"role":"{}","type":"{}"}},"customer":{{"name":"Customer {}","cloud":"{}","is_csp_partner":{},"csp_transaction_tenant":{}}},"subscriptions":[{{"id":"sub-{i}","service":"{}","channel":"{}","cancelled":{}{term}}}]}}"#,
        s.role,
        s.ptype,
        i / 4,
        s.cloud,
        s.is_csp,
        s.tenant,
        s.service,
        s.channel,
        s.cancelled
    )
}

/// The facts the rules since 2024 add (each has a default in the schema) and the day a
/// subscription is decided, for generated inventories that cross the 2024-09-01 change.
#[derive(Clone, Copy, Debug)]
pub struct Extra {
    /// Days from 2024-03-15 to the subscription's `as_of`.
    pub as_of_offset: i64,
    pub commerce: &'static str,
    pub ea_direct: bool,
    pub azure_billing_transfer: bool,
}

/// The schema's defaults, decided as of 2024-03-15: what [`generate`] and [`json_line`] mean.
pub const EXTRA_DEFAULT: Extra =
    Extra { as_of_offset: 0, commerce: "new_commerce", ea_direct: true, azure_billing_transfer: false };

/// 2025-03-15, one year after [`AS_OF_DAYS_FROM_CE`]: a day under the rules since 2024.
pub const LATER_OFFSET: i64 = 365;

/// The first day of the rules since 2024 (2024-09-01), as days from the common era.
pub const SINCE_2024_DAYS_FROM_CE: i64 = 739_130;

/// [`generate`]'s subscriptions, `later_percent` of them (about) decided as of 2025-03-15 (the
/// rules since 2024) and the rest as of 2024-03-15 (the 2020 rules), with their terms around
/// their own date, more Admin agents among the later ones, and the facts of 2024 drawn (legacy
/// offers, indirect EAs, partners allowed to take over Azure billing).
pub fn generate_dated(n: usize, seed: u64, later_percent: u64) -> Vec<(Sub, Extra)> {
    let mut r = Rng::new(seed ^ 0x2024_0901);
    generate(n, seed)
        .into_iter()
        .map(|mut s| {
            let later = r.chance(later_percent);
            let as_of_offset = if later { LATER_OFFSET } else { 0 };
            s.term_offset = s.term_offset.map(|o| o + as_of_offset);
            if later && s.role != "admin_agent" && r.chance(30) {
                s.role = "admin_agent";
            }
            let extra = Extra {
                as_of_offset,
                commerce: if r.chance(25) { "legacy" } else { "new_commerce" },
                ea_direct: r.chance(80),
                azure_billing_transfer: r.chance(30),
            };
            (s, extra)
        })
        .collect()
}

/// One subscription of [`generate_dated`] as a JSON Lines fact document, with its own `as_of`
/// and the facts of 2024.
pub fn json_line_dated(i: usize, s: &Sub, x: &Extra) -> String {
    let term = s.term_offset.map(|o| format!(r#","term_end":"{}""#, date_text(o))).unwrap_or_default();
    format!(
        r#"{{"as_of":"{}","partner":{{"role":"{}","type":"{}","azure_billing_transfer":{}}},"customer":{{"name":"Customer {}","cloud":"{}","is_csp_partner":{},"csp_transaction_tenant":{}}},"subscriptions":[{{"id":"sub-{i}","service":"{}","channel":"{}","cancelled":{}{term},"commerce":"{}","ea_direct":{}}}]}}"#,
        date_text(x.as_of_offset),
        s.role,
        s.ptype,
        x.azure_billing_transfer,
        i / 4,
        s.cloud,
        s.is_csp,
        s.tenant,
        s.service,
        s.channel,
        s.cancelled,
        x.commerce,
        x.ea_direct,
    )
}

/// The verdict of the hand-written policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    InsufficientRole,
    CspResaleNotAllowed,
    ManualReview,
    NotApplicable,
    RequestReseller {
        delegated_admin_required: bool,
        via_indirect_provider: bool,
    },
    Wait {
        until: i64,
        days_left: i64,
    },
    CreateNewAzure {
        delegated_admin_required: bool,
        via_indirect_provider: bool,
    },
    SwitchPartner {
        delegated_admin_required: bool,
        via_indirect_provider: bool,
    },
    /// Since 2024.
    RequestPartnerTransfer {
        azure_plan_required: bool,
        via_indirect_provider: bool,
    },
    /// Since 2024.
    RequestBillingOwnershipTransfer,
}

impl Verdict {
    pub fn action(&self) -> &'static str {
        match self {
            Verdict::InsufficientRole => "insufficient_role",
            Verdict::CspResaleNotAllowed => "csp_resale_not_allowed",
            Verdict::ManualReview => "manual_review",
            Verdict::NotApplicable => "not_applicable",
            Verdict::RequestReseller { .. } => "request_reseller_relationship",
            Verdict::Wait { .. } => "wait_for_term_end_or_cancel",
            Verdict::CreateNewAzure { .. } => "create_new_azure_subscription",
            Verdict::SwitchPartner { .. } => "switch_partner",
            Verdict::RequestPartnerTransfer { .. } => "request_partner_transfer",
            Verdict::RequestBillingOwnershipTransfer => "request_billing_ownership_transfer",
        }
    }

    /// The parameters as the engine prints them (`name=value`, in declaration order), for
    /// comparing whole verdicts.
    pub fn params(&self) -> Vec<String> {
        let two = |a: &str, x: bool, b: &str, y: bool| vec![format!("{a}={x}"), format!("{b}={y}")];
        match *self {
            Verdict::InsufficientRole
            | Verdict::CspResaleNotAllowed
            | Verdict::ManualReview
            | Verdict::NotApplicable
            | Verdict::RequestBillingOwnershipTransfer => Vec::new(),
            Verdict::RequestReseller { delegated_admin_required: d, via_indirect_provider: v }
            | Verdict::CreateNewAzure { delegated_admin_required: d, via_indirect_provider: v }
            | Verdict::SwitchPartner { delegated_admin_required: d, via_indirect_provider: v } => {
                two("delegated_admin_required", d, "via_indirect_provider", v)
            }
            Verdict::RequestPartnerTransfer { azure_plan_required: a, via_indirect_provider: v } => {
                two("azure_plan_required", a, "via_indirect_provider", v)
            }
            Verdict::Wait { until, days_left } => vec![
                format!("until={}", date_text(until - AS_OF_DAYS_FROM_CE)),
                format!("days_left={days_left}"),
                "disable_auto_renew=true".to_string(),
            ],
        }
    }
}

/// Typed facts for the hand-written policy (enums as small integers, dates as days).
#[derive(Clone, Copy, Debug)]
pub struct Typed {
    pub role: u8,
    pub ptype: u8,
    pub us_gov: bool,
    pub is_csp: bool,
    pub tenant: bool,
    pub license: bool,
    pub channel: u8,
    pub term_end: Option<i64>,
    pub cancelled: bool,
    pub new_commerce: bool,
    pub ea_direct: bool,
    pub azure_billing_transfer: bool,
}

/// The typed facts of a subscription with the schema's defaults for the facts of 2024.
pub fn typed(s: &Sub) -> Typed {
    typed_dated(s, &EXTRA_DEFAULT)
}

pub fn typed_dated(s: &Sub, x: &Extra) -> Typed {
    let idx = |xs: &[&str], x: &str| xs.iter().position(|y| *y == x).unwrap() as u8;
    Typed {
        role: idx(&ROLES, s.role),
        ptype: idx(&TYPES, s.ptype),
        us_gov: s.cloud == "us_government",
        is_csp: s.is_csp,
        tenant: s.tenant,
        license: s.service == "license_based",
        channel: idx(&CHANNELS, s.channel),
        term_end: s.term_offset.map(|o| AS_OF_DAYS_FROM_CE + o),
        cancelled: s.cancelled,
        new_commerce: x.commerce == "new_commerce",
        ea_direct: x.ea_direct,
        azure_billing_transfer: x.azure_billing_transfer,
    }
}

/// The multi-channel policy written by hand, step by step: the 2020 rules until 2024-08-31,
/// the rules since 2024 from 2024-09-01.
#[inline(never)]
pub fn decide(f: &Typed, as_of: i64) -> Result<Verdict, &'static str> {
    if as_of < SINCE_2024_DAYS_FROM_CE { decide_2020(f, as_of) } else { decide_since_2024(f, as_of) }
}

// Channels by index in `CHANNELS`, roles in `ROLES`, partner types in `TYPES`.
const ENTERPRISE_AGREEMENT: u8 = 3;
const CSP: u8 = 4;
const THIRD: u8 = 5;
const SYNDICATION: u8 = 6;
const UNKNOWN: u8 = 7;
const ADMIN_AGENT: u8 = 3;
const INDIRECT_RESELLER: u8 = 2;

#[inline(always)]
fn decide_2020(f: &Typed, as_of: i64) -> Result<Verdict, &'static str> {
    if f.role > 2 {
        return Ok(Verdict::InsufficientRole);
    }
    if f.is_csp && f.tenant {
        return Ok(Verdict::CspResaleNotAllowed);
    }
    if f.channel == UNKNOWN {
        return Ok(Verdict::ManualReview);
    }
    if f.channel == SYNDICATION {
        return Ok(Verdict::NotApplicable);
    }
    let delegated_admin_required = f.us_gov;
    let via_indirect_provider = f.ptype == INDIRECT_RESELLER;
    if f.license {
        if f.channel <= ENTERPRISE_AGREEMENT {
            return Ok(Verdict::RequestReseller { delegated_admin_required, via_indirect_provider });
        }
        if f.channel == CSP || f.channel == THIRD {
            if !f.cancelled {
                let end = f.term_end.ok_or("subscription.term_end")?;
                if as_of <= end {
                    return Ok(Verdict::Wait { until: end, days_left: end - as_of });
                }
            }
            return Ok(Verdict::RequestReseller { delegated_admin_required, via_indirect_provider });
        }
    } else if f.channel == CSP {
        return Ok(Verdict::SwitchPartner { delegated_admin_required, via_indirect_provider });
    } else {
        return Ok(Verdict::CreateNewAzure { delegated_admin_required, via_indirect_provider });
    }
    Err("no rule")
}

#[inline(always)]
fn decide_since_2024(f: &Typed, as_of: i64) -> Result<Verdict, &'static str> {
    if f.role > ADMIN_AGENT {
        return Ok(Verdict::InsufficientRole);
    }
    if f.is_csp && f.tenant {
        return Ok(Verdict::CspResaleNotAllowed);
    }
    if f.channel == UNKNOWN {
        return Ok(Verdict::ManualReview);
    }
    if f.channel == SYNDICATION {
        return Ok(Verdict::NotApplicable);
    }
    let delegated_admin_required = f.us_gov;
    let via_indirect_provider = f.ptype == INDIRECT_RESELLER;
    if f.license && f.channel <= ENTERPRISE_AGREEMENT {
        return Ok(Verdict::RequestReseller { delegated_admin_required, via_indirect_provider });
    }
    // Only an Admin agent creates a transfer.
    let transfers = f.channel == CSP && !f.cancelled && (!f.license || f.new_commerce);
    if transfers && f.role != ADMIN_AGENT {
        return Ok(Verdict::InsufficientRole);
    }
    if f.license {
        if transfers {
            return Ok(Verdict::RequestPartnerTransfer { azure_plan_required: false, via_indirect_provider });
        }
        // Channel is CSP or a third party here.
        if !f.cancelled {
            let end = f.term_end.ok_or("subscription.term_end")?;
            if as_of <= end {
                return Ok(Verdict::Wait { until: end, days_left: end - as_of });
            }
        }
        return Ok(Verdict::RequestReseller { delegated_admin_required, via_indirect_provider });
    }
    if transfers {
        return Ok(Verdict::RequestPartnerTransfer { azure_plan_required: true, via_indirect_provider });
    }
    if f.channel == ENTERPRISE_AGREEMENT
        && f.ea_direct
        && f.azure_billing_transfer
        && f.ptype != INDIRECT_RESELLER
        && !f.cancelled
    {
        return Ok(Verdict::RequestBillingOwnershipTransfer);
    }
    Ok(Verdict::CreateNewAzure { delegated_admin_required, via_indirect_provider })
}

pub const CSV_HEADER: &str = "as_of,partner.role,partner.type,customer.name,customer.cloud,customer.is_csp_partner,customer.csp_transaction_tenant,subscription.id,subscription.service,subscription.channel,subscription.cancelled,subscription.term_end";

/// One subscription as a CSV row under [`CSV_HEADER`].
pub fn csv_row(i: usize, s: &Sub) -> String {
    let term = s.term_offset.map(date_text).unwrap_or_default();
    format!(
        "2024-03-15,{},{},Customer {},{},{},{},sub-{i},{},{},{},{term}",
        s.role,
        s.ptype,
        i / 4,
        s.cloud,
        s.is_csp,
        s.tenant,
        s.service,
        s.channel,
        s.cancelled
    )
}
