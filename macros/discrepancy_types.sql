{#- The finding types, their level and the words Finance sees for them. A NULL type is
    a match. One place, so the marts, the report and the tests agree. -#}
{% macro discrepancy_types() -%}
    {{ return({
        'OVERBILLED': {'level': 'product', 'label': 'Billing mismatch'},
        'UNDERBILLED': {'level': 'product', 'label': 'Billing mismatch'},
        'UNBILLED_USAGE': {'level': 'product', 'label': 'Unbilled usage'},
        'MISSING_FROM_CRM': {'level': 'account', 'label': 'Missing from CRM'},
        'ACCOUNT_NOT_ACTIVE_IN_CRM': {'level': 'account', 'label': 'Account not active in CRM'},
        'GO_LIVE_MISMATCH': {'level': 'account', 'label': 'Go-live mismatch'},
        'PROVIDER_MISSING_FROM_CRM': {'level': 'provider', 'label': 'Provider missing from CRM'},
        'PROVIDER_INACTIVE_IN_CRM': {'level': 'provider', 'label': 'Provider inactive in CRM'},
        'PROVIDER_NOT_LIVE': {'level': 'provider', 'label': 'Provider not live'},
        'PROVIDER_NAME_MISMATCH': {'level': 'provider', 'label': 'Provider name mismatch'},
    }) }}
{%- endmacro %}

{% macro status_label(discrepancy_type) -%}
    case {{ discrepancy_type }}
    {%- for type, spec in discrepancy_types().items() %}
        when '{{ type }}' then '{{ spec.label }}'
    {%- endfor %}
        else 'Match'
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
