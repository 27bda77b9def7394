{#-
    Generic test for a segment map such as the seed rfm_segments: every
    combination of recency, frequency and monetary score (1-5 each, 125
    cells) must fall into exactly one row's ranges. Fails with one row per
    cell that no row or several rows claim, with how many claim it.
        data_tests:
          - rfm_segments_cover_every_cell
-#}
{% test rfm_segments_cover_every_cell(model) %}

with

scores as (
    {%- for score in range(1, 6) %}
    select {{ score }} as score
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

cells as (

    select
        recency.score as recency_score,
        frequency.score as frequency_score,
        monetary.score as monetary_score

    from scores as recency
    cross join scores as frequency
    cross join scores as monetary

),

claims as (

    select
        cells.recency_score,
        cells.frequency_score,
        cells.monetary_score,
        count(segments.rfm_segment) as claiming_row_count

    from cells
    left join {{ model }} as segments
        on
            cells.recency_score
            between segments.recency_score_min and segments.recency_score_max
            and cells.frequency_score
            between segments.frequency_score_min
            and segments.frequency_score_max
            and cells.monetary_score
            between segments.monetary_score_min
            and segments.monetary_score_max
    group by
        cells.recency_score,
        cells.frequency_score,
        cells.monetary_score

)

select * from claims
where claiming_row_count != 1

{% endtest %}
