{#- One sentence with the numbers, for Finance, from the columns of an account finding:
    discrepancy_type, product_code, customer_name, billable_providers, billed_quantity,
    quantity_delta, unit_price, amount_delta, account_status, crm_go_live_date. -#}
{#- A count as digits: cast to bigint first, so that a sum written as a float by some
    engine (the Snowflake emulator) still reads '3', not '3.0'. -#}
{% macro _count_text(expression) -%}
    cast(cast({{ expression }} as bigint) as {{ dbt.type_string() }})
{%- endmacro %}

{#- A date as YYYY-MM-DD, whatever the session's date output format. -#}
{% macro _date_text(expression) -%}
    {{ return(adapter.dispatch('date_text', 'provider_recon')(expression)) }}
{%- endmacro %}

{% macro default__date_text(expression) -%}
    to_char({{ expression }}, 'YYYY-MM-DD')
{%- endmacro %}

{% macro duckdb__date_text(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro _money(expression) -%}
    cast(cast({{ expression }} as decimal(18, 2)) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro finding_reason() -%}
    case discrepancy_type
        when 'OVERBILLED' then
            'Billed ' || {{ _count_text('billed_quantity') }} || ' providers of ' || product_code
            || ' but ' || {{ _count_text('billable_providers') }} || ' are billable: '
            || {{ _count_text('quantity_delta') }} || ' too many at ' || {{ _money('unit_price') }}
            || ', ' || {{ _money('amount_delta') }} || ' overbilled.'
        when 'UNDERBILLED' then
            'Billed ' || {{ _count_text('billed_quantity') }} || ' providers of ' || product_code
            || ' but ' || {{ _count_text('billable_providers') }} || ' are billable: '
            || {{ _count_text('-quantity_delta') }} || ' too few at ' || {{ _money('unit_price') }}
            || ', ' || {{ _money('-amount_delta') }} || ' underbilled.'
        when 'UNBILLED_USAGE' then
            {{ _count_text('billable_providers') }} || ' providers of ' || product_code
            || ' are billable and ' || {{ _count_text('billed_quantity') }} || ' are billed: '
            || {{ _money('-amount_delta') }} || ' of usage at ' || {{ _money('unit_price') }}
            || ' is not invoiced.'
        when 'MISSING_FROM_CRM' then
            'No CRM account matches the customer name "' || coalesce(customer_name, '') || '"; it has '
            || {{ _count_text('billable_providers') }} || ' billable providers and '
            || {{ _count_text('billed_quantity') }} || ' billed this month.'
        when 'ACCOUNT_NOT_ACTIVE_IN_CRM' then
            'The CRM account is ' || coalesce(account_status, 'not active') || ' but has '
            || {{ _count_text('billable_providers') }} || ' billable providers and '
            || {{ _count_text('billed_quantity') }} || ' billed this month.'
        when 'GO_LIVE_MISMATCH' then
            'The CRM go-live date is '
            || coalesce({{ _date_text('crm_go_live_date') }} || ', after the month end', 'missing')
            || ' but the account has ' || {{ _count_text('billable_providers') }}
            || ' billable providers and ' || {{ _count_text('billed_quantity') }} || ' billed this month.'
    end
{%- endmacro %}
