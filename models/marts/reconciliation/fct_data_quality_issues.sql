-- One row per problem found in a raw record of the billing month (CRM records, and
-- records whose own month cannot be read, belong to every month).
with

issues as (
    select * from {{ ref('int_data_quality_issues_found') }}
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "'" ~ billing_month_text() ~ "'", "'|'", 'source', "'|'", 'record_id', "'|'",
            'issue', "'|'", 'column_name', "'|'", 'source_file_name', "'|'",
            'cast(source_row_number as ' ~ dbt.type_string() ~ ')'])) }} as issue_id,
        source,
        record_id,
        issue,
        column_name,
        raw_value,
        source_file_name,
        source_row_number,
        {{ billing_month_start() }} as billing_month
    from issues
    where record_month is null or record_month = {{ billing_month_start() }}
)

select * from final
