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

    Baskets: macro rules_from_order_lines(), shared with
    association_rules_by_category. Mining, thresholds and metric formulas:
    macro rules_from_baskets().
-#}
with

order_lines as (

    select * from {{ ref("int_order_lines") }}

),

rules as (

    {{ rules_from_order_lines(
        "order_lines",
        item_column="product_id",
        consequent_column="consequent_product_id",
        antecedent_list_column="antecedent_product_ids",
    ) }}

)

select * from rules
