{#-
    rules_from_baskets(baskets)
    Association rules mined Apriori-style from `baskets`, a relation or CTE
    name with columns basket_id and item_id (one row per item in a basket;
    repeats are collapsed). Returns a complete query, to be wrapped in a CTE:

        rules as (
            {{ rules_from_baskets("baskets") }}
        )

    Vars:
    - association_min_support (0 < s <= 1): an itemset is frequent when it
      is in at least that share of the baskets.
    - association_min_confidence (0 <= c <= 1): a rule A -> C is kept when
      at least that share of the baskets with A also hold C.
    - association_max_itemset_size (2 or 3): 3 also mines rules with two
      antecedent items.
    Both thresholds are compared as whole numbers (see
    rules_decimal_fraction), so a value exactly at a threshold is kept.

    Steps: frequent single items; pairs counted only from frequent items;
    triples counted only from candidates whose three pairs are all frequent
    (Apriori pruning: an itemset can only be frequent if all its subsets
    are); then every frequent pair gives two rules and every frequent triple
    three, each with one consequent.

    Columns: antecedent_items (sorted list), antecedent_key (the sorted
    items joined by "|", see rules_key_item), antecedent_item_count,
    consequent_item, the counts antecedent_basket_count,
    consequent_basket_count, rule_basket_count, total_baskets, and the
    metrics. With A, C and AC the basket counts of the antecedent, the
    consequent and both, and N the total:
        antecedent_support = A/N, consequent_support = C/N, support = AC/N
        confidence  = AC/A
        lift        = confidence / consequent_support
        leverage    = support - antecedent_support * consequent_support
        conviction  = (1 - consequent_support) / (1 - confidence)
        zhangs_metric = leverage / max(support * (1 - antecedent_support),
                        antecedent_support * (consequent_support - support))
        jaccard     = AC / (A + C - AC)
        kulczynski  = (AC/A + AC/C) / 2
    Each is computed from the whole-number counts. A metric whose
    denominator is 0 is null: conviction when confidence is 1 (the rule
    never fails), zhangs_metric when the antecedent is in every basket.
    The others cannot divide by zero for a frequent itemset.
-#}
{% macro rules_from_baskets(baskets) -%}
    {%- set support = rules_decimal_fraction(
        "association_min_support", 0, 1, allow_min=false
    ) -%}
    {%- set confidence = rules_decimal_fraction(
        "association_min_confidence", 0, 1
    ) -%}
    {%- set max_itemset_size = var("association_max_itemset_size") -%}
    {%- if max_itemset_size | string not in ["2", "3"] -%}
        {{ exceptions.raise_compiler_error(
            "The var association_max_itemset_size is '" ~ max_itemset_size
            ~ "'; it must be 2 (rules with one antecedent item) or 3 (also "
            ~ "rules with two antecedent items)."
        ) }}
    {%- endif -%}
    {%- set is_frequent -%}
        count(*) * {{ support[1] }} >= {{ support[0] }} * totals.total_baskets
    {%- endset -%}

    with

    basket_items as (

        select distinct
            basket_id,
            item_id

        from {{ baskets }}
        where item_id is not null

    ),

    totals as (

        -- every basket counts, also those with a single item
        select count(distinct basket_id) as total_baskets
        from basket_items

    ),

    frequent_items as (

        select
            basket_items.item_id,
            count(*) as basket_count

        from basket_items
        cross join totals
        group by basket_items.item_id, totals.total_baskets
        having {{ is_frequent }}

    ),

    frequent_item_baskets as (

        select
            basket_items.basket_id,
            basket_items.item_id

        from basket_items
        inner join frequent_items
            on basket_items.item_id = frequent_items.item_id

    ),

    pair_baskets as (

        -- each pair of frequent items that share a basket, in item order
        select
            first_item.basket_id,
            first_item.item_id as item_1,
            second_item.item_id as item_2

        from frequent_item_baskets as first_item
        inner join frequent_item_baskets as second_item
            on
                first_item.basket_id = second_item.basket_id
                and first_item.item_id < second_item.item_id

    ),

    frequent_pairs as (

        select
            pair_baskets.item_1,
            pair_baskets.item_2,
            count(*) as basket_count

        from pair_baskets
        cross join totals
        group by
            pair_baskets.item_1, pair_baskets.item_2, totals.total_baskets
        having {{ is_frequent }}

    ),

    {%- if max_itemset_size | int == 3 %}

    candidate_triples as (

        -- item_1 < item_2 < item_3 where all three pairs are frequent
        select
            pair_12.item_1,
            pair_12.item_2,
            pair_13.item_2 as item_3

        from frequent_pairs as pair_12
        inner join frequent_pairs as pair_13
            on
                pair_12.item_1 = pair_13.item_1
                and pair_12.item_2 < pair_13.item_2
        inner join frequent_pairs as pair_23
            on
                pair_12.item_2 = pair_23.item_1
                and pair_13.item_2 = pair_23.item_2

    ),

    candidate_triple_baskets as {{ materialized_cte() }} (

        -- the baskets holding the first two items of a candidate triple.
        -- Materialized: left to itself the planner joins the pair baskets
        -- with every item of the same basket first (60 million rows on the
        -- bundled sample, 30 s instead of 0.3 s).
        select
            pair_baskets.basket_id,
            candidate_triples.item_1,
            candidate_triples.item_2,
            candidate_triples.item_3

        from pair_baskets
        inner join candidate_triples
            on
                pair_baskets.item_1 = candidate_triples.item_1
                and pair_baskets.item_2 = candidate_triples.item_2

    ),

    frequent_triples as (

        select
            candidate_triple_baskets.item_1,
            candidate_triple_baskets.item_2,
            candidate_triple_baskets.item_3,
            count(*) as basket_count

        from candidate_triple_baskets
        inner join frequent_item_baskets as third_item
            on
                candidate_triple_baskets.basket_id = third_item.basket_id
                and candidate_triple_baskets.item_3 = third_item.item_id
        cross join totals
        group by
            candidate_triple_baskets.item_1,
            candidate_triple_baskets.item_2,
            candidate_triple_baskets.item_3,
            totals.total_baskets
        having {{ is_frequent }}

    ),

    {%- endif %}

    antecedents as (

        -- every frequent itemset that can be a rule's left-hand side
        select
            {{ rules_item_list(["item_id"]) }} as antecedent_items,
            {{ rules_key_item("item_id") }} as antecedent_key,
            1 as antecedent_item_count,
            basket_count as antecedent_basket_count

        from frequent_items

        {%- if max_itemset_size | int == 3 %}

        union all

        select
            {{ rules_item_list(["item_1", "item_2"]) }} as antecedent_items,
            {{ rules_key_item("item_1") }} || '|' || {{ rules_key_item("item_2") }}
                as antecedent_key,
            2 as antecedent_item_count,
            basket_count as antecedent_basket_count

        from frequent_pairs
        {%- endif %}

    ),

    frequent_itemsets as (

        -- every frequent itemset of two or more items; item_3 is null for
        -- a pair
        select
            item_1,
            item_2,
            cast(null as {{ dbt.type_string() }}) as item_3,
            basket_count

        from frequent_pairs

        {%- if max_itemset_size | int == 3 %}

        union all

        select
            item_1,
            item_2,
            item_3,
            basket_count

        from frequent_triples
        {%- endif %}

    ),

    rule_splits as (

        -- which item of an itemset is the consequent: 1 the last, 2 the
        -- middle one of a triple (the first of a pair), 3 the first
        select 1 as split_position
        union all
        select 2 as split_position
        union all
        select 3 as split_position

    ),

    candidate_rules as (

        -- one row per (antecedent, consequent) split of a frequent itemset:
        -- two per pair, three per triple. Written as one join over all
        -- itemsets rather than a union of one select per split: Spark
        -- inlines a CTE at every reference, and five references to the
        -- pairs and triples (each repeating the whole basket pipeline) cost
        -- it 4 s of planning and 16 s in all on the bundled sample, against
        -- 1.4 s and 10 s this way.
        select
            case
                when frequent_itemsets.item_3 is null
                    then case rule_splits.split_position
                        when 1 then {{ rules_key_item("frequent_itemsets.item_1") }}
                        else {{ rules_key_item("frequent_itemsets.item_2") }}
                    end
                else case rule_splits.split_position
                    when 1
                        then
                            {{ rules_key_item("frequent_itemsets.item_1") }}
                            || '|'
                            || {{ rules_key_item("frequent_itemsets.item_2") }}
                    when 2
                        then
                            {{ rules_key_item("frequent_itemsets.item_1") }}
                            || '|'
                            || {{ rules_key_item("frequent_itemsets.item_3") }}
                    else
                        {{ rules_key_item("frequent_itemsets.item_2") }}
                        || '|'
                        || {{ rules_key_item("frequent_itemsets.item_3") }}
                end
            end as antecedent_key,
            case
                when frequent_itemsets.item_3 is null
                    then case rule_splits.split_position
                        when 1 then frequent_itemsets.item_2
                        else frequent_itemsets.item_1
                    end
                else case rule_splits.split_position
                    when 1 then frequent_itemsets.item_3
                    when 2 then frequent_itemsets.item_2
                    else frequent_itemsets.item_1
                end
            end as consequent_item,
            frequent_itemsets.basket_count as rule_basket_count

        from frequent_itemsets
        inner join rule_splits
            on
                rule_splits.split_position
                <= case when frequent_itemsets.item_3 is null then 2 else 3 end

    ),

    confident_rules as (

        select
            antecedents.antecedent_items,
            candidate_rules.antecedent_key,
            antecedents.antecedent_item_count,
            candidate_rules.consequent_item,
            antecedents.antecedent_basket_count,
            frequent_items.basket_count as consequent_basket_count,
            candidate_rules.rule_basket_count,
            totals.total_baskets

        from candidate_rules
        inner join antecedents
            on candidate_rules.antecedent_key = antecedents.antecedent_key
        inner join frequent_items
            on candidate_rules.consequent_item = frequent_items.item_id
        cross join totals
        where
            candidate_rules.rule_basket_count * {{ confidence[1] }}
            >= {{ confidence[0] }} * antecedents.antecedent_basket_count

    ),

    measured as (

        select
            *,
            cast(antecedent_basket_count as double)
            / total_baskets as antecedent_support,
            cast(consequent_basket_count as double)
            / total_baskets as consequent_support,
            cast(rule_basket_count as double)
            / total_baskets as support,
            cast(rule_basket_count as double)
            / antecedent_basket_count as confidence,
            cast(rule_basket_count as double) * total_baskets
            / (
                cast(antecedent_basket_count as double)
                * consequent_basket_count
            ) as lift,
            cast(
                rule_basket_count * total_baskets
                - antecedent_basket_count * consequent_basket_count
                as double
            )
            / (cast(total_baskets as double) * total_baskets)
                as leverage,
            -- null when confidence is 1: the rule never fails
            case
                when rule_basket_count < antecedent_basket_count
                    then
                        cast(total_baskets - consequent_basket_count
                            as double)
                        * antecedent_basket_count
                        / (
                            cast(total_baskets as double)
                            * (antecedent_basket_count - rule_basket_count)
                        )
            end as conviction,
            -- null when the antecedent is in every basket (0 / 0)
            cast(
                rule_basket_count * total_baskets
                - antecedent_basket_count * consequent_basket_count
                as double
            )
            / nullif(
                greatest(
                    rule_basket_count
                    * (total_baskets - antecedent_basket_count),
                    antecedent_basket_count
                    * (consequent_basket_count - rule_basket_count)
                ),
                0
            ) as zhangs_metric,
            cast(rule_basket_count as double)
            / (
                antecedent_basket_count
                + consequent_basket_count
                - rule_basket_count
            ) as jaccard,
            (
                cast(rule_basket_count as double)
                / antecedent_basket_count
                + cast(rule_basket_count as double)
                / consequent_basket_count
            )
            / 2 as kulczynski

        from confident_rules

    )

    select * from measured
{%- endmacro %}

{#-
    rules_key_item(item)
    An item as written in antecedent_key: "%" as "%25" and "|" as "%7C", so
    that the "|" between items is the only one and no two antecedents
    share a key (the item "A|B" against the pair A, B). Ids without either
    character are unchanged.
-#}
{% macro rules_key_item(item) -%}
    replace(replace({{ item }}, '%', '%25'), '|', '%7C')
{%- endmacro %}
