{#- Date and timestamp parsing for every spelling the contract accepts:
      YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY (US order), DD-Mon-YYYY (any case),
      one- or two-digit months and days, and ISO timestamps
      (date, T or space, HH:MM, optional :SS[.fff], optional Z or +hh:mm offset).
    The date of a timestamp is the date as written: offsets are ignored, never applied.
    Anything else, including impossible dates such as 2026-02-30, gives NULL. -#}


{% macro _clean_text(expression) -%}
    lower(trim({{ expression }}))
{%- endmacro %}

{#- 'YYYY-MM-DD' text (zero padded) to a date, or NULL when it is not a real date. -#}
{% macro try_iso_date(expression) -%}
    {{ return(adapter.dispatch('try_iso_date', 'provider_recon')(expression)) }}
{%- endmacro %}

{% macro default__try_iso_date(expression) -%}
    try_to_date({{ expression }}, 'YYYY-MM-DD')
{%- endmacro %}

{% macro duckdb__try_iso_date(expression) -%}
    try_cast({{ expression }} as date)
{%- endmacro %}

{#- 'YYYY-MM-DD HH:MI:SS' text to a timestamp without time zone, or NULL. -#}
{% macro try_iso_timestamp(expression) -%}
    {{ return(adapter.dispatch('try_iso_timestamp', 'provider_recon')(expression)) }}
{%- endmacro %}

{#- Snowflake: an impossible date or time (hour 24 included) gives NULL.
    The emulator (fakesnow) mistranslates both try_to_timestamp_ntz(<regexp_substr ...>,
    format), where the group number becomes a position, and try_cast to a timestamp, which
    raises; there only, the same rule is spelled as a validated to_timestamp_ntz. -#}
{% macro default__try_iso_timestamp(expression) -%}
    {%- if is_emulator() -%}
        case
            when {{ regex_full_match(expression,
                    '[0-9]{4}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]') }}
                and try_to_date(substr({{ expression }}, 1, 10), 'YYYY-MM-DD') is not null
                then to_timestamp_ntz({{ expression }}, 'YYYY-MM-DD HH24:MI:SS')
        end
    {%- else -%}
        try_to_timestamp_ntz({{ expression }}, 'YYYY-MM-DD HH24:MI:SS')
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__try_iso_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{#- A timestamp without time zone: Snowflake's plain `timestamp` follows the account's
    TIMESTAMP_TYPE_MAPPING, so it is named explicitly there. -#}
{% macro default__timestamp_type() -%}
    timestamp_ntz
{%- endmacro %}

{% macro duckdb__timestamp_type() -%}
    timestamp
{%- endmacro %}

{% macro _iso_text(year, month, day) -%}
    {{ year }} || '-' || lpad({{ month }}, 2, '0') || '-' || lpad({{ day }}, 2, '0')
{%- endmacro %}

{#- The ISO date text of a date spelling, before validation. -#}
{% macro _date_spelling_to_iso_text(text) -%}
    case
        when {{ regex_full_match(text, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 1),
                regex_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 2),
                regex_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 3)) }}
        when {{ regex_full_match(text, '[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', 1),
                regex_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', 2),
                regex_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', 3)) }}
        when {{ regex_full_match(text, '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 3),
                regex_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 1),
                regex_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 2)) }}
        when {{ regex_full_match(text, '[0-9]{1,2}-[a-z]{3}-[0-9]{4}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', 3),
                _month_number(regex_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', 2)),
                regex_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', 1)) }}
    end
{%- endmacro %}

{% macro _month_number(abbreviation) -%}
    case {{ abbreviation }}
    {%- for name in ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] %}
        when '{{ name }}' then '{{ loop.index }}'
    {%- endfor %}
    end
{%- endmacro %}

{% macro _timestamp_pattern() -%}
^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[t ]([0-9]{1,2}):([0-9]{2})(:([0-9]{2})([.][0-9]+)?)?(z|[+-][0-9]{2}:?[0-9]{2})?$
{%- endmacro %}

{#- A date from any accepted spelling (a timestamp gives its date as written). -#}
{% macro parse_date(expression) -%}
    {%- set text = _clean_text(expression) -%}
    coalesce(
        {{ _exact_iso_date(text) }},
        {{ try_iso_date(_date_spelling_to_iso_text(text)) }},
        cast({{ parse_timestamp_spelling(expression) }} as date)
    )
{%- endmacro %}

{#- A timestamp from an ISO timestamp spelling, offset ignored; NULL otherwise. Hours above
    23 are unparseable (DuckDB would roll 24:00 over to the next day). Fractional seconds
    count (to the microsecond): they order events written in the same second. -#}
{% macro parse_timestamp_spelling(expression) -%}
    {%- set text = _clean_text(expression) -%}
    {%- set _timestamp_pattern = _timestamp_pattern() -%}
    {%- set hour = regex_extract(text, _timestamp_pattern, 4) -%}
    {%- set fraction = regex_extract(text, _timestamp_pattern, 8) -%}
    {%- set whole_seconds = try_iso_timestamp(
        "case when try_cast(" ~ hour ~ " as integer) <= 23 then "
        ~ _iso_text(
            regex_extract(text, _timestamp_pattern, 1),
            regex_extract(text, _timestamp_pattern, 2),
            regex_extract(text, _timestamp_pattern, 3))
        ~ " || ' ' || lpad(" ~ hour ~ ", 2, '0')"
        ~ " || ':' || " ~ regex_extract(text, _timestamp_pattern, 5)
        ~ " || ':' || coalesce(" ~ regex_extract(text, _timestamp_pattern, 7) ~ ", '00')"
        ~ " end"
    ) -%}
    {{ dbt.dateadd(
        'microsecond',
        "coalesce(cast(rpad(substr(" ~ fraction ~ ", 2, 6), 6, '0') as integer), 0)",
        whole_seconds) }}
{%- endmacro %}

{#- The cheap exact forms, tried before any regular expression extracts a part: most
    values are written 'YYYY-MM-DD HH:MM:SS' (or with a T) and 'YYYY-MM-DD', which the
    engine's own cast reads. Every other spelling gives NULL here and goes the long way; an
    exact form that is not a real date or time gives NULL both ways. -#}
{% macro _exact_iso_timestamp(text) -%}
    case
        when {{ regex_full_match(text,
            '[0-9]{4}-[0-9]{2}-[0-9]{2}[t ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]') }}
            then {{ try_iso_timestamp("replace(" ~ text ~ ", 't', ' ')") }}
    end
{%- endmacro %}

{% macro _exact_iso_date(text) -%}
    case
        when {{ regex_full_match(text, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
            then {{ try_iso_date(text) }}
    end
{%- endmacro %}

{#- A timestamp from a timestamp spelling, or midnight of any accepted date spelling. -#}
{% macro parse_timestamp(expression) -%}
    coalesce(
        {{ _exact_iso_timestamp(_clean_text(expression)) }},
        {{ parse_timestamp_spelling(expression) }},
        cast({{ try_iso_date(_date_spelling_to_iso_text(_clean_text(expression))) }}
            as {{ adapter.dispatch('timestamp_type', 'provider_recon')() }})
    )
{%- endmacro %}

{#- The first day of the month of a billing period: 'YYYY-MM' or any date spelling. -#}
{% macro parse_month(expression) -%}
    {%- set text = _clean_text(expression) -%}
    coalesce(
        {{ try_iso_date(
            "case when " ~ regex_full_match(text, '[0-9]{4}-[0-9]{1,2}') ~ " then "
            ~ _iso_text(regex_extract(text, '^([0-9]{4})-([0-9]{1,2})$', 1),
                        regex_extract(text, '^([0-9]{4})-([0-9]{1,2})$', 2), "'01'")
            ~ " end") }},
        {{ month_start(parse_date(expression)) }}
    )
{%- endmacro %}
