{#-
    Product association rules ("baskets with these products also hold that
    one"): one row per rule, i.e. per antecedent of one or two products and
    one consequent product.

    A basket is an order as the set of distinct merchandise products bought
    in it. Only orders with at least one merchandise purchase are baskets,
    so cancellation and return-only orders are not; a returned item stays
    in the basket it was bought in (baskets are what was purchased).
    Non-merchandise lines (postage, fees) are left out, and an order with
    nothing else is no basket. Single-item baskets count in total_baskets.

    Mining, thresholds and metric formulas: macro rules_from_baskets().
-#}
with

order_lines as (

    select * from {{ ref("int_order_lines") }}

),

baskets as (

    select
        order_id as basket_id,
        product_id as item_id

    from order_lines
    where
        not is_return
        and is_merchandise

),

rules as (

    {{ rules_from_baskets("baskets") }}

),

final as (

    select
        antecedent_key,
        consequent_item as consequent_product_id,

        antecedent_items as antecedent_product_ids,
        antecedent_item_count,
        antecedent_basket_count,
        consequent_basket_count,
        rule_basket_count,
        total_baskets,
        antecedent_support,
        consequent_support,
        support,
        confidence,
        lift,
        leverage,
        conviction,
        zhangs_metric,
        jaccard,
        kulczynski

    from rules

)

select * from final
