-- Every raw invoice-line line over every drop, typed and flagged; the winner of each
-- invoice_line_id marked (the copy in the latest file by name, then the later line).
--
-- Incremental by file, as base_ops__intake_log: a build parses only the lines of files
-- ingested since the last build; every copy of the lines they carry, or that lost a copy,
-- is flagged again; lines of files replaced or gone leave. flagged_at is when a line was
-- (re)flagged.
{{ config(
    materialized='table' if target.name == 'snowflake_emulator' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='append_new_columns',
    post_hook="{{ delete_lines_of_files_gone(source('billing', 'billing_invoice_lines')) }}",
) }}

{%- set incremental = is_incremental_with(['source_loaded_at', 'flagged_at']) %}

with

source as (
    select * from {{ source('billing', 'billing_invoice_lines') }}
    {% if incremental -%}
        -- files ingested after the last build's (ingestion times only grow)
        where _loaded_at > (
            select coalesce(max(source_loaded_at), cast('1900-01-01' as {{ adapter.dispatch('timestamp_type', 'provider_recon')() }}))
            from {{ this }}
        )
    {%- endif %}
),

typed as (
    select
        -- ids
        {{ clean_id('invoice_id') }} as invoice_id,
        {{ clean_id('invoice_line_id') }} as invoice_line_id,
        {{ clean_id('billing_account_id') }} as billing_account_id,
        upper(trim(product_code)) as product_lookup_key,
        -- strings
        {{ clean_text('billed_customer_name') }} as billed_customer_name,
        {{ normalise_customer_name('billed_customer_name') }} as billed_customer_name_normalised,
        case
            when lower(trim(invoice_status)) in ('open', 'closed', 'void')
                then lower(trim(invoice_status))
        end as invoice_status,
        {{ clean_id('currency') }} as currency,
        {{ clean_text('billing_period') }} as raw_billing_period,
        {{ clean_text('product_code') }} as raw_product_code,
        {{ clean_text('billed_quantity') }} as raw_billed_quantity,
        {{ clean_text('unit_price') }} as raw_unit_price,
        {{ clean_text('line_amount') }} as raw_line_amount,
        {{ clean_text('invoice_status') }} as raw_invoice_status,
        _file_name as source_file_name,
        -- numbers
        _source_row_number as source_row_number,
        {{ parse_whole_number('billed_quantity') }} as billed_quantity,
        {{ parse_decimal('unit_price') }} as unit_price,
        {{ parse_decimal('line_amount') }} as line_amount,
        -- dates
        {{ parse_month('billing_period') }} as billing_month,
        -- timestamps
        _loaded_at as source_loaded_at
    from source
),

flagged as (
    select
        *,
        coalesce(invoice_line_id, source_file_name || ':' || source_row_number) as record_id,
        invoice_status is null as has_unknown_status,
        coalesce(invoice_status = 'void', false) as is_void,
        billing_month is null as has_unparseable_billing_period,
        billed_quantity is null as has_unparseable_quantity,
        raw_unit_price is not null and unit_price is null as has_unparseable_unit_price,
        raw_line_amount is not null and line_amount is null as has_unparseable_line_amount
    from typed
),

{{ copies_flagged_again(source('billing', 'billing_invoice_lines'), incremental) }}

select * from final
