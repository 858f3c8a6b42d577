{#- The RAW layer: one table per raw file family, every file column as text, plus
    _file_name (the file's base name), _source_row_number (the record's position in its
    file, 1 for the first record after the header; "later wins" orders by file name, then
    this) and _loaded_at (when this copy of the file was ingested: incremental models
    downstream take the files whose (_file_name, _loaded_at) they have not seen).

    On DuckDB, `on-run-start` ingests the CSV files of RECON_RAW_DIR incrementally: each file
    is parsed once and recorded in <raw schema>.raw_file_loads; a file that changed is
    re-ingested (its rows deleted and inserted again), a file gone from the folder has its
    rows removed, an unchanged file is skipped. On Snowflake the same tables are loaded by
    `recon load` (recon/load.py), with the same registry. Sources are ordinary relations on
    every engine (unit tests need that too). -#}

{#- Each family: the file pattern, and the contract's columns (section 1.1) that its table
    has even before any file arrives (a family without files is an empty table). The last,
    contract_entitlements (contract 5.1), is optional: no file is a normal state. -#}
{% macro raw_file_families() -%}
    {{ return({
        'crm_accounts': {
            'pattern': 'crm_accounts.csv',
            'columns': ['account_id', 'account_name', 'account_status', 'go_live_date',
                        'billing_account_id', 'last_modified_at'],
        },
        'crm_providers': {
            'pattern': 'crm_providers.csv',
            'columns': ['crm_provider_id', 'account_id', 'npi', 'provider_name',
                        'provider_status', 'department', 'location', 'last_modified_at'],
        },
        'ops_intake_log': {
            'pattern': 'ops_intake_log*.csv',
            'columns': ['event_id', 'event_at', 'customer_name', 'account_id', 'npi',
                        'provider_name', 'department', 'location', 'product', 'status',
                        'go_live_date'],
        },
        'billing_invoice_lines': {
            'pattern': 'billing_invoice_lines*.csv',
            'columns': ['invoice_id', 'invoice_line_id', 'billing_account_id',
                        'billed_customer_name', 'billing_period', 'product_code',
                        'billed_quantity', 'unit_price', 'line_amount', 'invoice_status',
                        'currency'],
        },
        'contract_entitlements': {
            'pattern': 'contract_entitlements*.csv',
            'columns': ['entitlement_id', 'account_id', 'product_code', 'contracted_seats',
                        'start_date', 'end_date', 'last_modified_at'],
        },
    }) }}
{%- endmacro %}

{% macro create_raw_relations() -%}
    {{ return(adapter.dispatch('create_raw_relations', 'provider_recon')()) }}
{%- endmacro %}

{% macro default__create_raw_relations() -%}
    select 1
{%- endmacro %}

{% macro duckdb__create_raw_relations() -%}
    {%- if execute -%}
        {%- if target.database | lower == target.schema | lower -%}
            {{ exceptions.raise_compiler_error(
                "The DuckDB file '" ~ target.database ~ ".duckdb' has the name of the schema '"
                ~ target.schema ~ "', which DuckDB cannot tell apart: name the file differently "
                ~ "(RECON_DUCKDB_PATH, default data/provider_recon.duckdb).") }}
        {%- endif -%}
        {%- set raw_dir = env_var('RECON_RAW_DIR', 'data/raw') -%}
        {%- set raw_schema = env_var('RECON_RAW_SCHEMA', 'raw') -%}
        {%- set statements = [raw_registry_ddl(raw_schema)] -%}
        {%- for family, spec in raw_file_families().items() -%}
            {%- do statements.extend(ingest_raw_family(raw_dir, raw_schema, family, spec)) -%}
        {%- endfor -%}
        {%- do run_query(statements | join(';\n')) -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro raw_registry_ddl(raw_schema) -%}
    create schema if not exists {{ raw_schema }};
    create table if not exists {{ raw_schema }}.raw_file_loads (
        family varchar not null,
        file_name varchar not null,
        file_size bigint not null,
        file_modified_at timestamp not null,
        content_md5 varchar not null,
        row_count bigint not null,
        loaded_at timestamp not null,
        primary key (family, file_name)
    )
{%- endmacro %}

{#- One family's statements: make sure its table exists (an older project had views here),
    then compare the folder with the registry file by file. A file is unchanged when its size
    and modification time are the recorded ones and it was not modified in the second it was
    loaded (file times here have whole seconds: the "racy" case of git's index); otherwise its
    content hash decides. Only reads run here; the caller runs every family's statements in
    one transaction and commits it: a failure leaves the tables and the registry as they were. -#}
{% macro ingest_raw_family(raw_dir, raw_schema, family, spec) -%}
    {%- set table = raw_schema ~ '.' ~ family -%}
    {%- set statements = [] -%}
    {%- set relations = {} -%}
    {%- for row in run_query(
        "select table_name, table_type from information_schema.tables where table_schema = '"
        ~ raw_schema ~ "' and table_name in ('" ~ family ~ "', 'raw_file_loads')") -%}
        {%- do relations.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set table_columns = [] -%}
    {%- if relations.get(family) == 'BASE TABLE' -%}
        {%- for column in adapter.get_columns_in_relation(api.Relation.create(
            database=target.database, schema=raw_schema, identifier=family)) -%}
            {%- do table_columns.append(column.name | lower) -%}
        {%- endfor -%}
    {%- else -%}
        {%- if relations.get(family) == 'VIEW' -%}
            {%- do statements.append('drop view ' ~ table) -%}
        {%- endif -%}
        {%- set column_ddl = [] -%}
        {%- for column in spec['columns'] -%}
            {%- do column_ddl.append(adapter.quote(column) ~ ' varchar') -%}
            {%- do table_columns.append(column) -%}
        {%- endfor -%}
        {%- do statements.append(
            'create table ' ~ table ~ ' (' ~ column_ddl | join(', ')
            ~ ', _file_name varchar, _source_row_number bigint, _loaded_at timestamp)') -%}
    {%- endif -%}

    {%- set loaded = {} -%}
    {%- if 'raw_file_loads' in relations -%}
        {%- for row in run_query(
            "select file_name, file_size, file_modified_at, content_md5,"
            ~ " file_modified_at < loaded_at - interval 1 second as is_settled"
            ~ " from " ~ raw_schema ~ ".raw_file_loads where family = '" ~ family ~ "'") -%}
            {%- do loaded.update({row[0]: row}) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- set present = [] -%}
    {%- for file in run_query(
        "select filename, regexp_extract(filename, '[^/\\\\]+$') as file_name, size,"
        ~ " last_modified at time zone 'UTC' as modified_at"
        ~ " from read_blob(" ~ raw_sql_string(raw_dir ~ '/' ~ spec['pattern']) ~ ")"
        ~ " order by file_name") -%}
        {%- set path, file_name, size, modified_at = file[0], file[1], file[2], file[3] -%}
        {%- do present.append(file_name) -%}
        {%- set record = loaded.get(file_name) -%}
        {%- set is_settled = record is not none and record[1] == size
            and record[2] == modified_at and record[4] -%}
        {%- if not is_settled -%}
            {%- set content_md5 = run_query(
                "select md5(content) from read_blob(" ~ raw_sql_string(path) ~ ")"
            ).rows[0][0] -%}
            {%- if record is not none and record[3] == content_md5 -%}
                {%- do statements.append(
                    "update " ~ raw_schema ~ ".raw_file_loads set file_size = " ~ size
                    ~ ", file_modified_at = '" ~ modified_at ~ "', loaded_at = now() at time zone 'UTC'"
                    ~ " where family = '" ~ family ~ "' and file_name = "
                    ~ raw_sql_string(file_name)) -%}
            {%- else -%}
                {%- do statements.extend(ingest_raw_file(raw_schema, family, table,
                    table_columns, spec['columns'], path, file_name, size, modified_at,
                    content_md5)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for file_name in loaded if file_name not in present -%}
        {%- do statements.append(
            "delete from " ~ table ~ " where _file_name = " ~ raw_sql_string(file_name)) -%}
        {%- do statements.append(
            "delete from " ~ raw_schema ~ ".raw_file_loads where family = '" ~ family
            ~ "' and file_name = " ~ raw_sql_string(file_name)) -%}
        {{- log('raw: ' ~ file_name ~ ' is gone from the folder: its rows leave ' ~ table,
            info=true) -}}
    {%- endfor -%}
    {{- return(statements) -}}
{%- endmacro %}

{#- The statements that parse one file into its family's table, replacing any earlier copy
    of it. Header names are matched trimmed and in lower case; columns the table lacks are
    added (text; `table_columns` is kept up to date for the family's next file), columns the
    file lacks stay NULL. An empty file, or one without the contract's columns (a wrong
    delimiter reads as one column), stops the build naming the file and what is missing. -#}
{% macro ingest_raw_file(raw_schema, family, table, table_columns, required_columns, path,
    file_name, size, modified_at, content_md5) -%}
    {%- if size == 0 -%}
        {{ exceptions.raise_compiler_error(
            "raw file " ~ file_name ~ " is empty (0 bytes): not even a header line. Replace it"
            ~ " with the export, or remove it from " ~ env_var('RECON_RAW_DIR', 'data/raw') ~ ".") }}
    {%- endif -%}
    {%- set reader = "read_csv(" ~ raw_sql_string(path) ~ ", header = true,"
        ~ " all_varchar = true, delim = ',', quote = '\"', escape = '\"')" -%}
    {%- set selected = [] -%}
    {%- set file_columns = [] -%}
    {%- for column in run_query('describe select * from ' ~ reader).columns[0].values() -%}
        {%- set name = column | trim | lower -%}
        {%- do file_columns.append(name) -%}
        {%- do selected.append(adapter.quote(column) ~ ' as ' ~ adapter.quote(name)) -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for column in required_columns if column not in file_columns -%}
        {%- do missing.append(column) -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            "raw file " ~ file_name ~ " lacks the column(s) " ~ missing | join(', ')
            ~ " (its header reads: " ~ file_columns | join(' | ') ~ "). Files are"
            ~ " comma-separated with a header line (contract section 1.1).") }}
    {%- endif -%}
    {%- set statements = [] -%}
    {%- for name in file_columns if name not in table_columns -%}
        {%- do statements.append(
            'alter table ' ~ table ~ ' add column ' ~ adapter.quote(name) ~ ' varchar') -%}
        {%- do table_columns.append(name) -%}
    {%- endfor -%}
    {%- do statements.append(
        'delete from ' ~ table ~ ' where _file_name = ' ~ raw_sql_string(file_name)) -%}
    {%- do statements.append(
        'insert into ' ~ table ~ ' by name select ' ~ selected | join(', ') ~ ', '
        ~ raw_sql_string(file_name) ~ ' as _file_name,'
        ~ ' row_number() over () as _source_row_number,'
        ~ " now() at time zone 'UTC' as _loaded_at from " ~ reader) -%}
    {%- do statements.append(
        "delete from " ~ raw_schema ~ ".raw_file_loads where family = '" ~ family
        ~ "' and file_name = " ~ raw_sql_string(file_name)) -%}
    {%- do statements.append(
        "insert into " ~ raw_schema ~ ".raw_file_loads select '" ~ family ~ "', "
        ~ raw_sql_string(file_name) ~ ", " ~ size ~ ", '" ~ modified_at ~ "', '"
        ~ content_md5 ~ "', count(*), now() at time zone 'UTC' from " ~ table
        ~ " where _file_name = " ~ raw_sql_string(file_name)) -%}
    {{- log('raw: ' ~ file_name ~ ' to be ingested into ' ~ table, info=true) -}}
    {{- return(statements) -}}
{%- endmacro %}

{% macro raw_sql_string(text) -%}
    {{- return("'" ~ (text | string | replace("'", "''")) ~ "'") -}}
{%- endmacro %}
