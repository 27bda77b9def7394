{#-
    Monthly retention by acquisition cohort: one row per cohort month and
    month since the first order. Guests are left out.

    - cohort_month: the calendar month (UTC) of the customer's first counted
      order (is_counted_order in fct_orders); customers without one have no
      cohort.
    - The grid runs from month 0 to the last month with any order in the
      data, over the months in which the shop had at least one order, so a
      cohort's quiet month shows 0 active customers instead of no row.
    - active_customer_count: cohort customers with a counted order in that
      month. Month 0 retention is therefore always 1.
    - net_revenue: the cohort's fct_orders net revenue in that month,
      cancellations included (in the month they happen). Cancellations dated
      before a customer's first order (refunds of orders outside the data)
      are left out. cumulative_net_revenue adds up the cohort's months so
      far; divided by cohort_size it is revenue per acquired customer.
-#}
with

orders as (

    select * from {{ ref("fct_orders") }}

),

order_months as (

    select
        customer_id,
        order_id,
        is_counted_order,
        net_revenue,
        cast({{ dbt.date_trunc("month", "ordered_at") }} as date)
            as activity_month

    from orders

),

cohorts as (

    select
        customer_id,
        min(activity_month) as cohort_month

    from order_months
    where customer_id is not null and is_counted_order
    group by 1

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size

    from cohorts
    group by 1

),

shop_months as (

    -- every month with at least one order, guests' included
    select distinct activity_month from order_months

),

grid as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        shop_months.activity_month

    from cohort_sizes
    inner join shop_months
        on cohort_sizes.cohort_month <= shop_months.activity_month

),

cohort_activity as (

    select
        cohorts.cohort_month,
        order_months.activity_month,

        count(
            distinct case
                when order_months.is_counted_order
                    then order_months.customer_id
            end
        ) as active_customer_count,
        count(case when order_months.is_counted_order then 1 end)
            as order_count,
        {{ behaviour_money_sum("order_months.net_revenue") }} as net_revenue

    from order_months
    inner join cohorts
        on order_months.customer_id = cohorts.customer_id
    where order_months.activity_month >= cohorts.cohort_month
    group by 1, 2

),

final as (

    select
        grid.cohort_month,
        cast({{ dbt.datediff(
            "grid.cohort_month", "grid.activity_month", "month"
        ) }} as integer) as months_since_first_order,

        grid.activity_month,
        grid.cohort_size,
        coalesce(cohort_activity.active_customer_count, 0)
            as active_customer_count,
        cast(coalesce(cohort_activity.active_customer_count, 0) as double)
        / grid.cohort_size as retention_rate,
        coalesce(cohort_activity.order_count, 0) as order_count,
        cast(coalesce(cohort_activity.net_revenue, 0) as double)
            as net_revenue,
        cast(sum(coalesce(cohort_activity.net_revenue, 0)) over (
            partition by grid.cohort_month
            order by grid.activity_month
            rows between unbounded preceding and current row
        ) as double) as cumulative_net_revenue

    from grid
    left join cohort_activity
        on
            grid.cohort_month = cohort_activity.cohort_month
            and grid.activity_month = cohort_activity.activity_month

)

select * from final
