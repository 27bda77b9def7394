{#-
    Category association rules: one row per rule, i.e. per antecedent of
    one or two categories and one consequent category.

    A basket is an order as the set of distinct categories of the
    merchandise products bought in it; products without a category are
    left out, and an order with no categorised merchandise is no basket.
    Inputs without categories (Online Retail) give an empty table.
    Otherwise the same rules as association_rules: the same baskets,
    thresholds, mining and metrics (macros rules_from_order_lines() and
    rules_from_baskets()).
-#}
with

order_lines as (

    select * from {{ ref("int_order_lines") }}

),

rules as (

    {{ rules_from_order_lines(
        "order_lines",
        item_column="category",
        consequent_column="consequent_category",
        antecedent_list_column="antecedent_categories",
    ) }}

)

select * from rules
