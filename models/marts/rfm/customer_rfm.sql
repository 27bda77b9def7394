{#-
    Recency, frequency and monetary value with 1-5 scores and a named
    segment: one row per customer with at least one order before the as-of
    date. Guests (no customer id) are left out.

    - As-of date: the macro as_of_date() (var as_of_date, by default the day
      after the last event). Orders on or after it are ignored.
    - Orders come from fct_orders; only counted orders (is_counted_order)
      count. Cancellations and return-only orders are not orders, but their
      returns do reduce monetary.
    - recency_days: days from the date of the last order to the as-of date.
    - frequency: distinct orders.
    - monetary: net_revenue (merchandise purchases less returns) of all
      the customer's orders before the as-of date, floored at 0. It is
      summed as a fixed-point decimal (6 places), so that equal spends tie
      exactly whatever the row order.
    - Scores: macro rfm_score(), from the share of customers with a strictly
      worse value (recency reversed: longer ago is worse). Ties share a
      score, the best value gets 5 and the worst 1, all-equal gives 3.
    - rfm_segment: the row of seed rfm_segments whose score ranges contain
      the customer's three scores.
-#}
with

orders as (

    select * from {{ ref("fct_orders") }}

),

rfm_segments as (

    select * from {{ ref("rfm_segments") }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

orders_before_as_of as (

    select
        orders.*,
        as_of.as_of_date

    from orders
    cross join as_of
    where
        orders.customer_id is not null
        and orders.ordered_at < as_of.as_of_date

),

customers as (

    select
        customer_id,
        as_of_date,
        max(case when is_counted_order then ordered_at end)
            as last_ordered_at,
        count(case when is_counted_order then order_id end) as frequency,
        -- fixed-point, so the same spend sums to the same value in any
        -- order; 32 integer digits, as one line may reach 1e24 (price and
        -- quantity up to 1e12 each), which overflowed the 22 of numeric
        greatest({{ behaviour_money_sum("net_revenue") }}, 0) as monetary

    from orders_before_as_of
    group by 1, 2
    having count(case when is_counted_order then order_id end) > 0

),

measured as (

    select
        customer_id,
        as_of_date,
        last_ordered_at,
        cast({{ dbt.datediff(
            "cast(last_ordered_at as date)", "as_of_date", "day"
        ) }} as bigint) as recency_days,
        frequency,
        cast(monetary as double) as monetary

    from customers

),

ranked as (

    -- how many customers are strictly worse on each measure
    select
        *,
        rank() over (order by recency_days desc) - 1
            as recency_worse_count,
        rank() over (order by frequency) - 1 as frequency_worse_count,
        rank() over (order by monetary) - 1 as monetary_worse_count

    from measured

),

scored as (

    select
        *,
        {{ rfm_score("recency_worse_count") }} as recency_score,
        {{ rfm_score("frequency_worse_count") }} as frequency_score,
        {{ rfm_score("monetary_worse_count") }} as monetary_score

    from ranked

),

final as (

    select
        scored.customer_id,
        scored.as_of_date,
        scored.last_ordered_at,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,

        cast(scored.recency_score as {{ dbt.type_string() }})
        || cast(scored.frequency_score as {{ dbt.type_string() }})
        || cast(scored.monetary_score as {{ dbt.type_string() }}) as rfm_cell,
        rfm_segments.rfm_segment

    from scored
    left join rfm_segments
        on
            scored.recency_score between rfm_segments.recency_score_min
            and rfm_segments.recency_score_max
            and scored.frequency_score between rfm_segments.frequency_score_min
            and rfm_segments.frequency_score_max
            and scored.monetary_score between rfm_segments.monetary_score_min
            and rfm_segments.monetary_score_max

)

select * from final
