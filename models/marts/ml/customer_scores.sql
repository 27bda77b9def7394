{#-
    The model outputs a dashboard needs, on one typed row per customer of
    dim_customers (guests are left out). The Python marts it joins cannot
    carry an enforced contract; this model does, so BI tools get stable
    names and types whatever the Python models return.

    - Every join is a left join on customer_id: a customer without an order
      before the as-of date has no RFM segment, k-means segment or churn
      score, and those columns are null.
    - top_recommended_product_id is rank 1 of product_recommendations.
-#}
with

customers as (

    select customer_id from {{ ref("dim_customers") }}

),

customer_rfm as (

    select
        customer_id,
        rfm_segment

    from {{ ref("customer_rfm") }}

),

customer_segments as (

    select
        customer_id,
        segment_id,
        segment_name

    from {{ ml_model_output("customer_segments") }}

),

churn_predictions as (

    select
        customer_id,
        churn_probability,
        churn_risk,
        churn_reason

    from {{ ml_model_output("churn_predictions") }}

),

product_recommendations as (

    select
        customer_id,
        product_id,
        reason

    from {{ ml_model_output("product_recommendations") }}
    where rank = 1

),

final as (

    select
        customers.customer_id,

        customer_rfm.rfm_segment,
        customer_segments.segment_id,
        customer_segments.segment_name,
        churn_predictions.churn_probability,
        churn_predictions.churn_risk,
        churn_predictions.churn_reason,
        product_recommendations.product_id as top_recommended_product_id,
        product_recommendations.reason as top_recommendation_reason

    from customers
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
    left join customer_segments
        on customers.customer_id = customer_segments.customer_id
    left join churn_predictions
        on customers.customer_id = churn_predictions.customer_id
    left join product_recommendations
        on customers.customer_id = product_recommendations.customer_id

)

select * from final
