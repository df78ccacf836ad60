//! The shipped multi-channel policy compiled to Rust by this crate's build script.
//!
//! ```
//! use chrono::NaiveDate;
//! use handover_typed_example::policy::*;
//!
//! let partner = Partner::new(Role::SalesAgent);
//! let customer = Customer::new();
//! let mut subscription = Subscription::new("m365".into(), Service::LicenseBased, Channel::CspPartner);
//! subscription.term_end = NaiveDate::from_ymd_opt(2024, 6, 30);
//! let as_of = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
//!
//! match decide(&partner, &customer, &subscription, as_of) {
//!     Ok(Verdict::WaitForTermEndOrCancel { until, days_left, .. }) => {
//!         assert_eq!(until.to_string(), "2024-06-30");
//!         assert_eq!(days_left, 107);
//!     }
//!     other => panic!("expected to wait, got {other:?}"),
//! }
//! // From 2024-09-01 the subscription moves with a partner transfer, which an Admin agent requests.
//! let later = NaiveDate::from_ymd_opt(2024, 10, 1).unwrap();
//! let admin_agent = Partner::new(Role::AdminAgent);
//! let verdict = decide(&admin_agent, &customer, &subscription, later).unwrap();
//! assert_eq!(verdict.action(), "request_partner_transfer");
//! assert_eq!(verdict.rule().in_force().0, NaiveDate::from_ymd_opt(2024, 9, 1));
//! println!("{}", verdict.reason());
//! ```

/// The generated code: one struct per fact group, the policy's enums, `Verdict`, `Rule`, `decide`.
pub mod policy {
    include!(concat!(env!("OUT_DIR"), "/policy.rs"));
}

/// How many subscriptions of an inventory each action applies to, at `as_of`: what a program
/// that embeds the policy does with the verdicts (no text, no maps: typed values throughout).
pub fn count_actions(
    partner: &policy::Partner,
    customer: &policy::Customer,
    subscriptions: &[policy::Subscription],
    as_of: chrono::NaiveDate,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for s in subscriptions {
        let key = match policy::decide(partner, customer, s, as_of) {
            Ok(v) => v.action(),
            Err(e) => e.kind.code(),
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::policy::*;
    use super::*;

    #[test]
    fn an_inventory_is_decided_subscription_by_subscription() {
        let partner = Partner::new(Role::GlobalAdmin);
        let customer = Customer { cloud: Cloud::UsGovernment, ..Customer::new() };
        let subs = [
            Subscription::new("a".into(), Service::UsageBased, Channel::Open),
            Subscription::new("b".into(), Service::LicenseBased, Channel::Advisor),
            Subscription::new("c".into(), Service::LicenseBased, Channel::CspPartner),
            Subscription::new("d".into(), Service::LicenseBased, Channel::Unknown),
        ];
        let as_of = chrono::NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
        let counts = count_actions(&partner, &customer, &subs, as_of);
        let expected = [
            ("create_new_azure_subscription", 1),
            ("eval::absent-fact", 1),
            ("manual_review", 1),
            ("request_reseller_relationship", 1),
        ];
        assert_eq!(counts.into_iter().collect::<Vec<_>>(), expected);
        let v = decide(&partner, &customer, &subs[1], as_of).unwrap();
        assert_eq!(
            v,
            Verdict::RequestResellerRelationship {
                delegated_admin_required: true,
                via_indirect_provider: false,
                rule: Rule::LicenseFromMicrosoftChannels,
            }
        );
    }
}
