-- One row per evidence item of each account finding of the reconciled month: the contract's
-- rule that raised it, the providers behind its billable count (the latest event of each,
-- with the intake file and record that made it billable or not), the CRM provider records
-- behind its CRM count, and the invoice lines behind its billed quantity. An account-level
-- finding (product NULL) has the evidence of every product of the customer. Only the
-- month's findings and the month's states are read: the cost is the month's, not history's.
with

billing_discrepancies as (
    select
        discrepancy_id,
        customer_key,
        account_id,
        product_code,
        discrepancy_type,
        reason,
        billing_month
    from {{ ref('fct_billing_discrepancies') }}
    where billing_month = {{ billing_month_start() }}
),

provider_states as (
    select * from {{ ref('int_provider_states_as_of_month_end') }}
),

intake_events as (
    select
        record_id,
        source_file_name,
        source_row_number
    from {{ ref('stg_ops__intake_events') }}
),

crm_providers as (
    select * from {{ ref('stg_crm__providers') }}
),

counted_lines as (
    select * from {{ ref('int_invoice_lines_counted') }}
),

finding_rules as (
    {%- for finding_type, spec in var('finding_types').items() if spec.rule is defined %}
    select
        '{{ finding_type }}' as discrepancy_type,
        '{{ spec.rule | replace("'", "''") }}' as rule_text
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

rule_evidence as (
    select
        billing_discrepancies.discrepancy_id,
        billing_discrepancies.discrepancy_type as record_id,
        cast(null as {{ dbt.type_string() }}) as npi,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as invoice_line_id,
        'rule' as evidence_kind,
        billing_discrepancies.product_code,
        cast(null as {{ dbt.type_string() }}) as provider_name,
        billing_discrepancies.reason as why,
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_string() }}) as invoice_status,
        cast(null as {{ dbt.type_string() }}) as currency,
        finding_rules.rule_text,
        cast(null as bigint) as source_line,
        cast(null as bigint) as quantity,
        cast(null as decimal(18, 4)) as unit_price,
        cast(null as boolean) as is_counted
    from billing_discrepancies
    left join finding_rules
        on billing_discrepancies.discrepancy_type = finding_rules.discrepancy_type
),

states_of_findings as (
    select
        billing_discrepancies.discrepancy_id,
        provider_states.record_id,
        provider_states.npi,
        provider_states.event_id,
        provider_states.product_code,
        provider_states.provider_name,
        provider_states.department,
        provider_states.event_status,
        provider_states.is_billable,
        provider_states.has_valid_department,
        provider_states.is_billable_product,
        provider_states.effective_go_live_date
    from billing_discrepancies
    inner join provider_states
        on
            billing_discrepancies.customer_key = provider_states.customer_key
            and (
                billing_discrepancies.product_code = provider_states.product_code
                or billing_discrepancies.product_code is null
            )
),

states_explained as (
    select
        *,
        case
            when is_billable
                then
                    'Billable: live in ' || department || ' (a valid department), live from '
                    || cast(effective_go_live_date as {{ dbt.type_string() }})
            -- each reason starts with '; ', the first one's cut off
            else 'Not billable: ' || substr(
                case when event_status <> 'live' then '; status ' || event_status else '' end
                || case
                    when not has_valid_department
                        then '; department ' || coalesce(department, '(empty)') || ' not valid'
                    else ''
                end
                || case
                    when effective_go_live_date > {{ billing_month_end() }}
                        then
                            '; live from '
                            || cast(effective_go_live_date as {{ dbt.type_string() }})
                            || ', after the month end'
                    else ''
                end
                || case when not is_billable_product then '; product not billable' else '' end,
                3
            )
        end as why
    from states_of_findings
),

provider_evidence as (
    select
        states_explained.discrepancy_id,
        states_explained.record_id,
        states_explained.npi,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as invoice_line_id,
        'provider' as evidence_kind,
        states_explained.product_code,
        states_explained.provider_name,
        states_explained.why,
        intake_events.source_file_name as source_file,
        cast(null as {{ dbt.type_string() }}) as invoice_status,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as rule_text,
        cast(intake_events.source_row_number as bigint) as source_line,
        cast(null as bigint) as quantity,
        cast(null as decimal(18, 4)) as unit_price,
        states_explained.is_billable as is_counted
    from states_explained
    left join intake_events
        on states_explained.record_id = intake_events.record_id
),

crm_provider_evidence as (
    select
        billing_discrepancies.discrepancy_id,
        crm_providers.record_id,
        crm_providers.npi,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        cast(null as {{ dbt.type_string() }}) as invoice_line_id,
        'crm_provider' as evidence_kind,
        billing_discrepancies.product_code,
        crm_providers.provider_name,
        case
            when not crm_providers.is_valid_npi then 'Not counted: invalid NPI'
            when crm_providers.provider_status = 'active' then 'Counted: active in the CRM'
            else 'Not counted: CRM status ' || coalesce(crm_providers.provider_status, 'unknown')
        end as why,
        crm_providers.source_file_name as source_file,
        cast(null as {{ dbt.type_string() }}) as invoice_status,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as rule_text,
        cast(crm_providers.source_row_number as bigint) as source_line,
        cast(null as bigint) as quantity,
        cast(null as decimal(18, 4)) as unit_price,
        crm_providers.provider_status = 'active' and crm_providers.is_valid_npi as is_counted
    from billing_discrepancies
    inner join crm_providers
        on billing_discrepancies.account_id = crm_providers.account_id
),

invoice_line_evidence as (
    select
        billing_discrepancies.discrepancy_id,
        counted_lines.invoice_line_id as record_id,
        cast(null as {{ dbt.type_string() }}) as npi,
        counted_lines.invoice_id,
        counted_lines.invoice_line_id,
        'invoice_line' as evidence_kind,
        counted_lines.product_code,
        cast(null as {{ dbt.type_string() }}) as provider_name,
        'Counted: ' || coalesce(counted_lines.invoice_status, 'unknown status')
        || ' invoice line, ' || cast(counted_lines.billed_quantity as {{ dbt.type_string() }})
        || case when abs(counted_lines.billed_quantity) = 1 then ' seat' else ' seats' end as why,
        counted_lines.source_file_name as source_file,
        counted_lines.invoice_status,
        counted_lines.currency,
        cast(null as {{ dbt.type_string() }}) as rule_text,
        cast(counted_lines.source_row_number as bigint) as source_line,
        cast(counted_lines.billed_quantity as bigint) as quantity,
        cast(counted_lines.unit_price as decimal(18, 4)) as unit_price,
        true as is_counted
    from billing_discrepancies
    inner join counted_lines
        on
            billing_discrepancies.customer_key = counted_lines.customer_key
            and (
                billing_discrepancies.product_code = counted_lines.product_code
                or billing_discrepancies.product_code is null
            )
),

evidence as (
    select * from rule_evidence
    union all
    select * from provider_evidence
    union all
    select * from crm_provider_evidence
    union all
    select * from invoice_line_evidence
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'evidence.discrepancy_id', "'|'", 'evidence.evidence_kind', "'|'",
            'evidence.record_id'])) }} as evidence_id,
        evidence.discrepancy_id,
        evidence.record_id,
        billing_discrepancies.customer_key,
        billing_discrepancies.account_id,
        evidence.npi,
        evidence.invoice_id,
        evidence.invoice_line_id,
        evidence.evidence_kind,
        billing_discrepancies.discrepancy_type,
        evidence.product_code,
        evidence.provider_name,
        evidence.why,
        evidence.source_file,
        evidence.invoice_status,
        evidence.currency,
        evidence.rule_text,
        evidence.source_line,
        evidence.quantity,
        evidence.unit_price,
        evidence.is_counted,
        billing_discrepancies.billing_month
    from evidence
    inner join billing_discrepancies
        on evidence.discrepancy_id = billing_discrepancies.discrepancy_id
)

select * from final
