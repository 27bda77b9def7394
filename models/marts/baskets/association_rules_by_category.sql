{#-
    Category association rules: one row per rule, i.e. per antecedent of
    one or two categories and one consequent category.

    A basket is an order as the set of distinct categories of the
    merchandise products bought in it; products without a category are
    left out, and an order with no categorised merchandise is no basket.
    Inputs without categories (Online Retail) give an empty table.
    Otherwise the same rules as association_rules: the same thresholds,
    mining and metrics (macro rules_from_baskets()).
-#}
with

order_lines as (

    select * from {{ ref("int_order_lines") }}

),

baskets as (

    select
        order_id as basket_id,
        category as item_id

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
        consequent_item as consequent_category,

        antecedent_items as antecedent_categories,
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
