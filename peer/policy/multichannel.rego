# The multi-channel policy of ../../rules/multichannel.handover, written in Rego for the peer
# benchmark. Same nine rules in the same order; the `else` chain makes the first match win, like
# handover. `verdict` is {action, rule, params}; it is undefined when no rule can decide (a
# license-based subscription from csp_partner / non_csp_third_party that is neither cancelled nor
# has a term_end), which handover reports as an error.
#
# Input (one subscription with its document's facts):
#   {"as_of": "2024-03-15", "as_of_days": 738960,
#    "partner": {"role", "type"},
#    "customer": {"name", "cloud", "is_csp_partner", "csp_transaction_tenant"},
#    "subscription": {"id", "service", "channel", "cancelled", "term_end"?, "term_end_days"?}}
# Dates are given as text (for `until`) and as day numbers (for comparisons and `days_left`),
# the way handover holds them once its facts are loaded.
package handover.multichannel

import rego.v1

allowed_roles := {"global_admin", "user_management_admin", "sales_agent"}

microsoft_channels := {"microsoft_direct", "advisor", "open", "enterprise_agreement"}

elsewhere_channels := {"non_csp_third_party", "csp_partner"}

azure_outside_csp := {"microsoft_direct", "advisor", "open", "enterprise_agreement", "non_csp_third_party"}

# Parameters of request_reseller_relationship, create_new_azure_subscription and switch_partner.
relationship := {
	"delegated_admin_required": input.customer.cloud == "us_government",
	"via_indirect_provider": input.partner.type == "indirect_reseller",
}

license_elsewhere if {
	input.subscription.service == "license_based"
	input.subscription.channel in elsewhere_channels
}

term_over if input.subscription.cancelled

term_over if input.as_of_days > input.subscription.term_end_days

# 1. role_not_allowed
verdict := {"action": "insufficient_role", "rule": "role_not_allowed", "params": {}} if {
	not input.partner.role in allowed_roles
}

# 2. csp_customer_transaction_tenant
else := {"action": "csp_resale_not_allowed", "rule": "csp_customer_transaction_tenant", "params": {}} if {
	input.customer.is_csp_partner
	input.customer.csp_transaction_tenant
}

# 3. unknown_channel
else := {"action": "manual_review", "rule": "unknown_channel", "params": {}} if {
	input.subscription.channel == "unknown"
}

# 4. syndication
else := {"action": "not_applicable", "rule": "syndication", "params": {}} if {
	input.subscription.channel == "syndication"
}

# 5. license_from_microsoft_channels
else := {"action": "request_reseller_relationship", "rule": "license_from_microsoft_channels", "params": relationship} if {
	input.subscription.service == "license_based"
	input.subscription.channel in microsoft_channels
}

# 6. license_elsewhere_term_running (the term-end day itself still counts)
else := {
	"action": "wait_for_term_end_or_cancel",
	"rule": "license_elsewhere_term_running",
	"params": {
		"until": input.subscription.term_end,
		"days_left": input.subscription.term_end_days - input.as_of_days,
		"disable_auto_renew": true,
	},
} if {
	license_elsewhere
	not input.subscription.cancelled
	input.as_of_days <= input.subscription.term_end_days
}

# 7. license_elsewhere_term_over
else := {"action": "request_reseller_relationship", "rule": "license_elsewhere_term_over", "params": relationship} if {
	license_elsewhere
	term_over
}

# 8. azure_from_other_channels
else := {"action": "create_new_azure_subscription", "rule": "azure_from_other_channels", "params": relationship} if {
	input.subscription.service == "usage_based"
	input.subscription.channel in azure_outside_csp
}

# 9. azure_from_csp_partner
else := {"action": "switch_partner", "rule": "azure_from_csp_partner", "params": relationship} if {
	input.subscription.service == "usage_based"
	input.subscription.channel == "csp_partner"
}
