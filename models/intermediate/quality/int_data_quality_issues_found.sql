{#- Each check: relation, source, issue, column, raw value, condition, month of the record. -#}
{%- set issue_checks = [
    [
        'crm_accounts',
        'crm_accounts',
        'DUPLICATE_RECORD',
        'account_id',
        'account_id',
        'is_duplicate',
        'null',
    ],
    [
        'crm_accounts',
        'crm_accounts',
        'MISSING_ID',
        'account_id',
        'account_id',
        'account_id is null',
        'null',
    ],
    [
        'crm_accounts',
        'crm_accounts',
        'UNKNOWN_STATUS',
        'account_status',
        'raw_account_status',
        'not is_duplicate and has_unknown_status',
        'null',
    ],
    [
        'crm_accounts',
        'crm_accounts',
        'UNPARSEABLE_DATE',
        'go_live_date',
        'raw_go_live_date',
        'not is_duplicate and has_unparseable_go_live_date',
        'null',
    ],
    [
        'crm_accounts',
        'crm_accounts',
        'UNPARSEABLE_DATE',
        'last_modified_at',
        'raw_last_modified_at',
        'not is_duplicate and has_unparseable_last_modified_at',
        'null',
    ],
    [
        'crm_providers',
        'crm_providers',
        'DUPLICATE_RECORD',
        'crm_provider_id',
        'crm_provider_id',
        'is_duplicate',
        'null',
    ],
    [
        'crm_providers',
        'crm_providers',
        'MISSING_ID',
        'crm_provider_id',
        'crm_provider_id',
        'crm_provider_id is null',
        'null',
    ],
    [
        'crm_providers',
        'crm_providers',
        'INVALID_NPI',
        'npi',
        'raw_npi',
        'not is_duplicate and not is_valid_npi',
        'null',
    ],
    [
        'crm_providers',
        'crm_providers',
        'UNKNOWN_STATUS',
        'provider_status',
        'raw_provider_status',
        'not is_duplicate and has_unknown_status',
        'null',
    ],
    [
        'crm_providers',
        'crm_providers',
        'UNPARSEABLE_DATE',
        'last_modified_at',
        'raw_last_modified_at',
        'not is_duplicate and has_unparseable_last_modified_at',
        'null',
    ],
    [
        'intake_log',
        'ops_intake_log',
        'DUPLICATE_RECORD',
        'event_id',
        'event_id',
        'is_duplicate',
        'event_month',
    ],
    [
        'intake_log',
        'ops_intake_log',
        'MISSING_ID',
        'event_id',
        'event_id',
        'event_id is null',
        'event_month',
    ],
    [
        'intake_log',
        'ops_intake_log',
        'UNPARSEABLE_DATE',
        'event_at',
        'raw_event_at',
        'not is_duplicate and has_unparseable_event_at',
        'null',
    ],
    [
        'intake_log',
        'ops_intake_log',
        'UNPARSEABLE_DATE',
        'go_live_date',
        'raw_go_live_date',
        'not is_duplicate and has_unparseable_go_live_date',
        'event_month',
    ],
    [
        'intake_log',
        'ops_intake_log',
        'INVALID_NPI',
        'npi',
        'raw_npi',
        'not is_duplicate and not is_valid_npi',
        'event_month',
    ],
    [
        'intake_log',
        'ops_intake_log',
        'UNKNOWN_STATUS',
        'status',
        'raw_status',
        'not is_duplicate and has_unknown_status',
        'event_month',
    ],
    [
        'intake_events_resolved',
        'ops_intake_log',
        'UNKNOWN_PRODUCT',
        'product',
        'raw_product',
        'product_code is null',
        'event_month',
    ],
    [
        'intake_events_resolved',
        'ops_intake_log',
        'UNMATCHED_CUSTOMER',
        'customer_name',
        'customer_name',
        "match_method = 'unmatched'",
        'event_month',
    ],
    [
        'intake_events_resolved',
        'ops_intake_log',
        'AMBIGUOUS_CUSTOMER',
        'customer_name',
        'customer_name',
        "match_method = 'ambiguous'",
        'event_month',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'DUPLICATE_RECORD',
        'invoice_line_id',
        'invoice_line_id',
        'is_duplicate',
        'billing_month',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'MISSING_ID',
        'invoice_line_id',
        'invoice_line_id',
        'invoice_line_id is null',
        'billing_month',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'UNPARSEABLE_DATE',
        'billing_period',
        'raw_billing_period',
        'not is_duplicate and has_unparseable_billing_period',
        'null',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'UNPARSEABLE_NUMBER',
        'billed_quantity',
        'raw_billed_quantity',
        'not is_duplicate and has_unparseable_quantity',
        'billing_month',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'UNPARSEABLE_NUMBER',
        'unit_price',
        'raw_unit_price',
        'not is_duplicate and has_unparseable_unit_price',
        'billing_month',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'UNPARSEABLE_NUMBER',
        'line_amount',
        'raw_line_amount',
        'not is_duplicate and has_unparseable_line_amount',
        'billing_month',
    ],
    [
        'invoice_lines',
        'billing_invoice_lines',
        'UNKNOWN_STATUS',
        'invoice_status',
        'raw_invoice_status',
        'not is_duplicate and has_unknown_status',
        'billing_month',
    ],
    [
        'invoice_lines_resolved',
        'billing_invoice_lines',
        'UNKNOWN_PRODUCT',
        'product_code',
        'raw_product_code',
        'product_code is null',
        'billing_month',
    ],
    [
        'invoice_lines_resolved',
        'billing_invoice_lines',
        'UNMATCHED_CUSTOMER',
        'billed_customer_name',
        'billed_customer_name',
        "match_method = 'unmatched'",
        'billing_month',
    ],
    [
        'invoice_lines_resolved',
        'billing_invoice_lines',
        'AMBIGUOUS_CUSTOMER',
        'billed_customer_name',
        'billed_customer_name',
        "match_method = 'ambiguous'",
        'billing_month',
    ],
    [
        'entitlements',
        'contract_entitlements',
        'DUPLICATE_RECORD',
        'entitlement_id',
        'entitlement_id',
        'is_duplicate',
        'null',
    ],
    [
        'entitlements',
        'contract_entitlements',
        'MISSING_ID',
        'entitlement_id',
        'entitlement_id',
        'entitlement_id is null',
        'null',
    ],
    [
        'entitlements',
        'contract_entitlements',
        'UNPARSEABLE_NUMBER',
        'contracted_seats',
        'raw_contracted_seats',
        'not is_duplicate and has_unparseable_contracted_seats',
        'null',
    ],
    [
        'entitlements',
        'contract_entitlements',
        'UNPARSEABLE_DATE',
        'start_date',
        'raw_start_date',
        'not is_duplicate and has_unparseable_start_date',
        'null',
    ],
    [
        'entitlements',
        'contract_entitlements',
        'UNPARSEABLE_DATE',
        'end_date',
        'raw_end_date',
        'not is_duplicate and has_unparseable_end_date',
        'null',
    ],
    [
        'entitlements',
        'contract_entitlements',
        'UNPARSEABLE_DATE',
        'last_modified_at',
        'raw_last_modified_at',
        'not is_duplicate and has_unparseable_last_modified_at',
        'null',
    ],
    [
        'entitlements_resolved',
        'contract_entitlements',
        'UNKNOWN_PRODUCT',
        'product_code',
        'raw_product_code',
        'product_code is null',
        'null',
    ],
    [
        'entitlements_resolved',
        'contract_entitlements',
        'UNMATCHED_CUSTOMER',
        'account_id',
        'account_id',
        'crm_account_id is null',
        'null',
    ],
] %}

-- One row per problem found in a raw record of the reconciled month (CRM records, and
-- records whose own month cannot be read, belong to every month), with the month the
-- record belongs to (NULL: every month). Superseded duplicate copies carry only their
-- DUPLICATE_RECORD issue; the winning copy carries its own problems.

with

crm_accounts as (
    select * from {{ ref('base_crm__accounts') }}
),

crm_providers as (
    select * from {{ ref('base_crm__providers') }}
),

-- Records of the reconciled month, and records whose month cannot be read (they belong to
-- every month): a month's run reads its own drop, not all of history.
intake_log as (
    select * from {{ ref('base_ops__intake_log') }}
    where event_month = {{ billing_month_start() }} or event_month is null
),

invoice_lines as (
    select * from {{ ref('base_billing__invoice_lines') }}
    where billing_month = {{ billing_month_start() }} or billing_month is null
),

entitlements as (
    select * from {{ ref('base_crm__contract_entitlements') }}
),

entitlements_resolved as (
    select * from {{ ref('int_contract_entitlements_resolved') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

intake_events_resolved as (
    select * from {{ ref('int_intake_events_resolved_to_products') }}
    where event_month = {{ billing_month_start() }} or event_month is null
),

invoice_lines_resolved as (
    select
        invoice_lines_resolved.*,
        products.product_code
    from {{ ref('int_invoice_lines_resolved_to_customers') }} as invoice_lines_resolved
    left join products
        on invoice_lines_resolved.product_lookup_key = products.product_code_key
    where
        invoice_lines_resolved.billing_month = {{ billing_month_start() }}
        or invoice_lines_resolved.billing_month is null
),

issues as (
    {%- for relation, source, issue, column_name, raw_value, condition, record_month in issue_checks %}
    {{ data_quality_issue(relation, source, issue, column_name, raw_value, condition, record_month) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select * from issues
)

select * from final
