{#- One sentence with the numbers, for Finance, from the columns of an account finding:
    discrepancy_type, product_code, customer_name, billable_providers, billed_quantity,
    quantity_delta, unit_price, amount_delta, account_status, crm_go_live_date. -#}
{% macro _text(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro _money(expression) -%}
    cast(cast({{ expression }} as decimal(18, 2)) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro finding_reason() -%}
    case discrepancy_type
        when 'OVERBILLED' then
            'Billed ' || {{ _text('billed_quantity') }} || ' providers of ' || product_code
            || ' but ' || {{ _text('billable_providers') }} || ' are billable: '
            || {{ _text('quantity_delta') }} || ' too many at ' || {{ _money('unit_price') }}
            || ', ' || {{ _money('amount_delta') }} || ' overbilled.'
        when 'UNDERBILLED' then
            'Billed ' || {{ _text('billed_quantity') }} || ' providers of ' || product_code
            || ' but ' || {{ _text('billable_providers') }} || ' are billable: '
            || {{ _text('-quantity_delta') }} || ' too few at ' || {{ _money('unit_price') }}
            || ', ' || {{ _money('-amount_delta') }} || ' underbilled.'
        when 'UNBILLED_USAGE' then
            {{ _text('billable_providers') }} || ' providers of ' || product_code
            || ' are billable and ' || {{ _text('billed_quantity') }} || ' are billed: '
            || {{ _money('-amount_delta') }} || ' of usage at ' || {{ _money('unit_price') }}
            || ' is not invoiced.'
        when 'MISSING_FROM_CRM' then
            'No CRM account matches the customer name "' || coalesce(customer_name, '') || '"; it has '
            || {{ _text('billable_providers') }} || ' billable providers and '
            || {{ _text('billed_quantity') }} || ' billed this month.'
        when 'ACCOUNT_NOT_ACTIVE_IN_CRM' then
            'The CRM account is ' || coalesce(account_status, 'not active') || ' but has '
            || {{ _text('billable_providers') }} || ' billable providers and '
            || {{ _text('billed_quantity') }} || ' billed this month.'
        when 'GO_LIVE_MISMATCH' then
            'The CRM go-live date is '
            || coalesce({{ _text('crm_go_live_date') }} || ', after the month end', 'missing')
            || ' but the account has ' || {{ _text('billable_providers') }}
            || ' billable providers and ' || {{ _text('billed_quantity') }} || ' billed this month.'
    end
{%- endmacro %}
