{#-
    rules_from_order_lines(order_lines, item_column, consequent_column,
                           antecedent_list_column)
    The association rules of one kind of item bought together, e.g. products
    or categories: the query both rules marts share. Returns a complete
    query, to be wrapped in a CTE:

        rules as (
            {{ rules_from_order_lines(
                "order_lines",
                item_column="product_id",
                consequent_column="consequent_product_id",
                antecedent_list_column="antecedent_product_ids",
            ) }}
        )

    `order_lines` is a relation or CTE with the columns of int_order_lines.
    A basket is an order as the set of distinct `item_column` values of the
    merchandise lines bought in it: return lines and non-merchandise lines
    (postage, fees) are left out, a returned item stays in the basket it
    was bought in, and lines whose item is null are left out, so an order
    with none of them is no basket (rules_from_baskets). Mining, thresholds
    and metrics: rules_from_baskets.

    Columns, in this order: antecedent_key, `consequent_column` (the
    consequent item), `antecedent_list_column` (the sorted antecedent
    items), then the counts and metrics of rules_from_baskets.
-#}
{% macro rules_from_order_lines(
    order_lines, item_column, consequent_column, antecedent_list_column
) -%}

    with

    baskets as (

        select
            order_id as basket_id,
            {{ item_column }} as item_id

        from {{ order_lines }}
        where
            not is_return
            and is_merchandise

    ),

    mined_rules as (

        {{ rules_from_baskets("baskets") }}

    ),

    named as (

        select
            antecedent_key,
            consequent_item as {{ consequent_column }},

            antecedent_items as {{ antecedent_list_column }},
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

        from mined_rules

    )

    select * from named
{%- endmacro %}
