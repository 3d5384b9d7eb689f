"""The full-text side's query: every question word OR-ed, pruned to the rarest words on large tables.

Ranking every chunk that shares a common word with the question is what makes full-text search slow on big
tables, and common words say little about relevance anyway. So once the table holds more than ``budget`` chunks,
the words are taken rarest first (frequencies from the planner's statistics for the column) while the chunks they
are estimated to match stay within ``budget``; the rarest word is always kept. PL/pgSQL caches the plans of these
catalogue queries per connection, which keeps the call at a fraction of a millisecond.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION knowledge_lexical_tsquery(config regconfig, words text, budget double precision)
RETURNS tsquery LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
    total double precision;
    elems text[];
    freqs real[];
    pruned tsquery;
BEGIN
    SELECT reltuples INTO total FROM pg_class WHERE oid = 'knowledge_chunk'::regclass;
    IF total IS NULL OR total <= budget THEN
        RETURN websearch_to_tsquery(config, words);
    END IF;
    SELECT most_common_elems::text::text[], most_common_elem_freqs INTO elems, freqs
    FROM pg_stats
    WHERE schemaname = current_schema() AND tablename = 'knowledge_chunk' AND attname = 'search_vector';
    IF elems IS NULL THEN
        RETURN websearch_to_tsquery(config, words);
    END IF;
    -- A word the statistics do not list is rarer than the rarest listed one; the planner assumes half of it.
    SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''', ' | ')::tsquery INTO pruned
    FROM (
        SELECT lexeme,
               row_number() OVER (ORDER BY estimate, lexeme) AS rarity,
               sum(estimate) OVER (ORDER BY estimate, lexeme) AS cumulative
        FROM (
            SELECT lexeme,
                   COALESCE(freqs[array_position(elems, lexeme)], freqs[cardinality(elems) + 1] / 2) * total AS estimate
            FROM unnest(tsvector_to_array(to_tsvector(config, words))) AS lexeme
        ) estimated
    ) ranked
    WHERE rarity = 1 OR cumulative <= budget;
    RETURN COALESCE(pruned, websearch_to_tsquery(config, words));
END
$fn$;
"""

DROP = "DROP FUNCTION IF EXISTS knowledge_lexical_tsquery(regconfig, text, double precision);"


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
