{#- The finding types, their level and the words Finance sees for them. A NULL type is
    no finding. One definition, the var `finding_types` of dbt_project.yml, which the
    report, the dashboard and the notification read too (recon/vocabulary.py). -#}
{% macro discrepancy_types() -%}
    {{ return(var('finding_types')) }}
{%- endmacro %}

{#- The label of a type column of one level; a NULL type is the level's "no finding" label
    (Match, Within entitlement). -#}
{% macro finding_label(discrepancy_type, level) -%}
    case {{ discrepancy_type }}
    {%- for type, spec in discrepancy_types().items() if spec.level == level %}
        when '{{ type }}' then '{{ spec.label }}'
    {%- endfor %}
        else '{{ var("no_finding_labels")[level] }}'
    end
{%- endmacro %}

{% macro status_label(discrepancy_type) -%}
    case {{ discrepancy_type }}
    {%- for type, spec in discrepancy_types().items() %}
        when '{{ type }}' then '{{ spec.label }}'
    {%- endfor %}
        else '{{ var("no_finding_labels")["product"] }}'
    end
{%- endmacro %}

{#- Accepted values of a type column, for tests: the types of one level. -#}
{% macro discrepancy_types_of_level(level) -%}
    {%- set types = [] -%}
    {%- for type, spec in discrepancy_types().items() if spec.level == level -%}
        {%- do types.append(type) -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}

{#- What to do about an account finding (contract 5.2), from its type and the status of
    its invoices. A billing mismatch whose invoices are neither open nor closed (every line
    of an unknown status) cannot say whether the invoice went out: check first. -#}
{% macro recommended_action(discrepancy_type, invoice_status) -%}
    case
        when {{ discrepancy_type }} in ('OVERBILLED', 'UNDERBILLED') and {{ invoice_status }} = 'open'
            then 'Correct the invoice before it is sent'
        when {{ discrepancy_type }} = 'OVERBILLED' and {{ invoice_status }} = 'closed'
            then 'Issue a credit note'
        when {{ discrepancy_type }} = 'UNDERBILLED' and {{ invoice_status }} = 'closed'
            then 'Issue a supplementary invoice'
        when {{ discrepancy_type }} in ('OVERBILLED', 'UNDERBILLED')
            then 'Check the invoice status in the billing system'
        when {{ discrepancy_type }} = 'UNBILLED_USAGE'
            then 'Invoice the usage'
        when {{ discrepancy_type }} = 'MISSING_FROM_CRM'
            then 'Create the account in the CRM or map the name in legacy_customer_names'
        when {{ discrepancy_type }} = 'ACCOUNT_NOT_ACTIVE_IN_CRM'
            then 'Confirm the account status with Customer Success'
        when {{ discrepancy_type }} = 'GO_LIVE_MISMATCH'
            then 'Correct the go-live date in the CRM'
    end
{%- endmacro %}
