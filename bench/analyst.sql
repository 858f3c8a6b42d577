-- Billable providers and billed quantity per customer and product for one month, the way an
-- analyst computes them today: one DuckDB script over the raw CSV exports, no project.
--
-- Run it in the DuckDB CLI after setting three variables, e.g.
--     set variable raw_dir = 'data/raw';
--     set variable seeds_dir = 'seeds';
--     set variable billing_month = '2026-10';
-- (`recon bench` sets them and runs this file as it is; the last statement is the answer.)
-- The rules are the contract's section 2, written out by hand.

set variable month_start = cast(getvariable('billing_month') || '-01' as date);
set variable month_end = last_day(getvariable('month_start'));

-- ---------------------------------------------------------------- helpers
-- 'YYYY-MM-DD' from parts, NULL when not a real date ('2026-02-30').
create or replace temp macro day_from(y, m, d) as
    try_cast(y || '-' || lpad(m, 2, '0') || '-' || lpad(d, 2, '0') as date);

-- ISO timestamp spellings; the offset is ignored (the time as written), hours above 23 rejected.
create or replace temp macro timestamp_from(parts) as
    case
        when try_cast(parts.h as integer) <= 23
            then try_cast(
                day_from(parts.y, parts.m, parts.d) || ' ' || lpad(parts.h, 2, '0') || ':'
                || parts.mi || ':' || coalesce(nullif(parts.s, ''), '00') as timestamp
            ) + to_microseconds(coalesce(try_cast(rpad(substr(parts.f, 2, 6), 6, '0') as integer), 0))
    end;

create or replace temp macro parse_timestamp_spelling(value) as
    timestamp_from(regexp_extract(
        lower(trim(value)),
        '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[t ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})([.][0-9]+)?)?(?:z|[+-][0-9]{2}:?[0-9]{2})?$',
        ['y', 'm', 'd', 'h', 'mi', 's', 'f']
    ));

-- YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY (US order), DD-Mon-YYYY, one- or two-digit months and days.
create or replace temp macro day_from_parts(parts) as day_from(parts.y, parts.m, parts.d);

create or replace temp macro day_from_month_name(parts) as day_from(
    parts.y,
    cast(list_position(
        ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
        parts.mon
    ) as varchar),
    parts.d
);

create or replace temp macro parse_date_spelling_of(text) as coalesce(
    day_from_parts(regexp_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', ['y', 'm', 'd'])),
    day_from_parts(regexp_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', ['y', 'm', 'd'])),
    day_from_parts(regexp_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', ['m', 'd', 'y'])),
    day_from_month_name(
        regexp_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', ['d', 'mon', 'y'])
    )
);

create or replace temp macro parse_date_spelling(value) as
    parse_date_spelling_of(lower(trim(value)));

create or replace temp macro parse_date(value) as
    coalesce(parse_date_spelling(value), cast(parse_timestamp_spelling(value) as date));

create or replace temp macro parse_timestamp(value) as
    coalesce(parse_timestamp_spelling(value), cast(parse_date_spelling(value) as timestamp));

-- A billing period: YYYY-MM or any date of the month; its first day.
create or replace temp macro parse_month(value) as coalesce(
    day_from(
        regexp_extract(lower(trim(value)), '^([0-9]{4})-([0-9]{1,2})$', 1),
        regexp_extract(lower(trim(value)), '^([0-9]{4})-([0-9]{1,2})$', 2),
        '01'
    ),
    cast(date_trunc('month', parse_date(value)) as date)
);

-- Lower case, & as 'and', only letters, digits and spaces, one trailing legal suffix dropped.
create or replace temp macro normalise_customer_name(value) as nullif(
    regexp_replace(
        trim(regexp_replace(
            regexp_replace(replace(lower(value), '&', ' and '), '[^\p{L}\p{N}[:space:]]', '', 'g'),
            '[[:space:]]+', ' ', 'g'
        )),
        ' (inc|llc|ltd|corp|corporation|co|pc|pllc|lp|llp)$', ''
    ),
    ''
);

create or replace temp macro clean_id(value) as nullif(upper(trim(value)), '');

-- Spaces and dashes removed; valid when 10 digits with the Luhn check digit (prefix 80840).
create or replace temp macro luhn_doubled(digit) as
    case when digit * 2 > 9 then digit * 2 - 9 else digit * 2 end;

create or replace temp macro is_valid_npi(npi) as coalesce(
    regexp_full_match(npi, '[0-9]{10}')
    and (10 - (
        24
        + luhn_doubled(try_cast(npi[1] as integer)) + try_cast(npi[2] as integer)
        + luhn_doubled(try_cast(npi[3] as integer)) + try_cast(npi[4] as integer)
        + luhn_doubled(try_cast(npi[5] as integer)) + try_cast(npi[6] as integer)
        + luhn_doubled(try_cast(npi[7] as integer)) + try_cast(npi[8] as integer)
        + luhn_doubled(try_cast(npi[9] as integer))
    ) % 10) % 10 = try_cast(npi[10] as integer),
    false
);

-- ---------------------------------------------------------------- the answer
with

products as (
    select
        trim(product_code) as product_code,
        upper(trim(product_code)) as product_code_key,
        lower(trim(product_name)) as product_name_key,
        cast(is_billable as boolean) as is_billable,
    from read_csv(getvariable('seeds_dir') || '/products.csv', all_varchar = true)
),

valid_departments as (
    select distinct lower(trim(department)) as department_key,
    from read_csv(getvariable('seeds_dir') || '/valid_departments.csv', all_varchar = true)
    where nullif(trim(department), '') is not null
),

legacy_names as (
    select
        clean_id(account_id) as account_id,
        normalise_customer_name(legacy_name) as name_key,
    from read_csv(getvariable('seeds_dir') || '/legacy_customer_names.csv', all_varchar = true)
),

-- CRM accounts: the copy with the latest parseable last_modified_at wins.
crm_accounts as (
    select
        clean_id(account_id) as account_id,
        clean_id(billing_account_id) as billing_account_id,
        normalise_customer_name(account_name) as name_key,
    from (
        select
            *,
            row_number() over () as line_number,
        from read_csv(
            getvariable('raw_dir') || '/crm_accounts.csv',
            header = true, delim = ',', all_varchar = true, quote = '"', escape = '"'
        )
    )
    qualify row_number() over (
        partition by coalesce(clean_id(account_id), 'line:' || line_number)
        order by parse_timestamp(last_modified_at) desc nulls last, line_number desc
    ) = 1
),

billing_accounts as (
    select
        billing_account_id,
        min(account_id) as account_id,
    from crm_accounts
    where billing_account_id is not null
    group by billing_account_id
    having count(distinct account_id) = 1
),

-- Customer names: a CRM name carried by exactly one account, else a legacy name whose
-- rows agree on one CRM account.
crm_names as (
    select
        name_key,
        min(account_id) as account_id,
        count(distinct account_id) as account_count,
    from crm_accounts
    where name_key is not null
    group by name_key
),

legacy_matches as (
    select
        legacy_names.name_key,
        min(legacy_names.account_id) as account_id,
    from legacy_names
    inner join crm_accounts on legacy_names.account_id = crm_accounts.account_id
    where legacy_names.name_key is not null
    group by legacy_names.name_key
    having count(distinct legacy_names.account_id) = 1
),

customer_names as (
    select
        coalesce(crm_names.name_key, legacy_matches.name_key) as name_key,
        case
            when crm_names.account_count = 1 then crm_names.account_id
            else legacy_matches.account_id
        end as account_id,
    from crm_names
    full outer join legacy_matches on crm_names.name_key = legacy_matches.name_key
),

-- Intake events: every drop; the copy in the latest file (then the later line) wins.
intake_lines as (
    select
        *,
        row_number() over () as line_number,
    from read_csv(
        getvariable('raw_dir') || '/ops_intake_log*.csv',
        header = true, delim = ',', all_varchar = true, quote = '"', escape = '"', filename = true,
        union_by_name = true
    )
),

intake_events as (
    select
        clean_id(event_id) as event_id,
        clean_id(account_id) as account_id,
        normalise_customer_name(customer_name) as name_key,
        nullif(regexp_replace(trim(npi), '[ -]', '', 'g'), '') as npi,
        lower(trim(product)) as product_key,
        lower(trim(status)) as status,
        lower(trim(department)) as department_key,
        parse_timestamp(event_at) as event_at,
        parse_date(go_live_date) as go_live_date,
    from intake_lines
    qualify row_number() over (
        partition by coalesce(clean_id(event_id), filename || ':' || line_number)
        order by filename desc, line_number desc
    ) = 1
),

usable_events as (
    select
        coalesce(
            crm_accounts.account_id,
            customer_names.account_id,
            'UNMATCHED:' || coalesce(intake_events.name_key, '')
        ) as customer_key,
        coalesce(by_code.product_code, by_name.product_code) as product_code,
        coalesce(by_code.is_billable, by_name.is_billable) as is_billable_product,
        intake_events.npi,
        intake_events.event_id,
        intake_events.status,
        intake_events.department_key,
        intake_events.event_at,
        coalesce(intake_events.go_live_date, cast(intake_events.event_at as date)) as go_live_date,
    from intake_events
    left join crm_accounts on intake_events.account_id = crm_accounts.account_id
    left join customer_names on intake_events.name_key = customer_names.name_key
    left join products as by_code on intake_events.product_key = lower(by_code.product_code_key)
    left join products as by_name on intake_events.product_key = by_name.product_name_key
    where
        is_valid_npi(intake_events.npi)
        and coalesce(by_code.product_code, by_name.product_code) is not null
        and intake_events.status in ('live', 'pending', 'paused', 'terminated')
        and intake_events.event_at is not null
),

-- Latest usable event per customer, product and NPI by the month's end.
latest_states as (
    select *
    from usable_events
    where cast(event_at as date) <= getvariable('month_end')
    qualify row_number() over (
        partition by customer_key, product_code, npi
        order by event_at desc, event_id desc nulls last
    ) = 1
),

billable as (
    select
        latest_states.customer_key,
        latest_states.product_code,
        count(distinct latest_states.npi) as billable_providers,
    from latest_states
    inner join valid_departments
        on latest_states.department_key = valid_departments.department_key
    where
        latest_states.status = 'live'
        and latest_states.go_live_date <= getvariable('month_end')
        and latest_states.is_billable_product
    group by all
),

-- Invoice lines: every drop; the copy in the latest file (then the later line) wins.
invoice_lines as (
    select
        clean_id(billing_account_id) as billing_account_id,
        normalise_customer_name(billed_customer_name) as name_key,
        upper(trim(product_code)) as product_key,
        lower(trim(invoice_status)) as invoice_status,
        case
            when regexp_full_match(trim(billed_quantity), '[+-]?[0-9]{1,15}([.]0+)?')
                then cast(cast(trim(billed_quantity) as decimal(18, 2)) as bigint)
        end as billed_quantity,
        parse_month(billing_period) as billing_month,
    from (
        select
            *,
            row_number() over () as line_number,
        from read_csv(
            getvariable('raw_dir') || '/billing_invoice_lines*.csv',
            header = true, delim = ',', all_varchar = true, quote = '"', escape = '"', filename = true,
            union_by_name = true
        )
    )
    qualify row_number() over (
        partition by coalesce(clean_id(invoice_line_id), filename || ':' || line_number)
        order by filename desc, line_number desc
    ) = 1
),

billed as (
    select
        coalesce(
            billing_accounts.account_id,
            customer_names.account_id,
            'UNMATCHED:' || coalesce(invoice_lines.name_key, '')
        ) as customer_key,
        products.product_code,
        sum(invoice_lines.billed_quantity) as billed_quantity,
    from invoice_lines
    inner join products on invoice_lines.product_key = products.product_code_key
    left join billing_accounts
        on invoice_lines.billing_account_id = billing_accounts.billing_account_id
    left join customer_names on invoice_lines.name_key = customer_names.name_key
    where
        invoice_lines.billing_month = getvariable('month_start')
        and invoice_lines.invoice_status is distinct from 'void'
        and invoice_lines.billed_quantity is not null
    group by all
)

select
    coalesce(billable.customer_key, billed.customer_key) as customer_key,
    coalesce(billable.product_code, billed.product_code) as product_code,
    coalesce(billable.billable_providers, 0) as billable_providers,
    coalesce(billed.billed_quantity, 0) as billed_quantity,
from billable
full outer join billed
    on billable.customer_key = billed.customer_key and billable.product_code = billed.product_code
order by customer_key, product_code;
