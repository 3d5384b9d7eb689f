"""BM25 for the full-text side: document frequencies and lengths kept in Postgres, with the chunks.

Postgres's ``ts_rank_cd`` has no inverse document frequency and no BM25 length normalisation. Triggers on the chunk
table keep what BM25 needs in the same transaction as every chunk write (insert, delete, update, COPY, truncate):
``knowledge_lexeme`` (how many chunks hold each lexeme) and the one ``knowledge_lexiconstats`` row (how many chunks
there are and how many distinct lexemes they hold in all, for the average chunk length). A chunk's length is its
number of distinct lexemes (``length(search_vector)``); a term's frequency is its number of positions.

``knowledge_bm25_terms`` turns a question into the lexemes to rank by, with their IDF: every question word the
chunks hold, or, once the table holds more than ``budget`` chunks, the rarest words while the chunks they match stay
within ``budget`` (the rarest is always kept). It replaces ``knowledge_lexical_tsquery``, which estimated the
frequencies from the planner's statistics; these are exact.
"""

import importlib

from django.db import migrations, models

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION knowledge_lexicon_apply(vectors tsvector[], sign integer) RETURNS void
LANGUAGE sql AS $fn$
    UPDATE knowledge_lexiconstats
    SET chunks = chunks + sign * cardinality(vectors),
        lexemes = lexemes + sign * (SELECT COALESCE(sum(length(v)), 0) FROM unnest(vectors) AS v)
    WHERE id = 1;
    INSERT INTO knowledge_lexeme AS l (lexeme, chunks)
    SELECT lexeme, sign * count(*) FROM unnest(vectors) AS v, unnest(tsvector_to_array(v)) AS lexeme
    GROUP BY lexeme ORDER BY lexeme
    ON CONFLICT (lexeme) DO UPDATE SET chunks = l.chunks + excluded.chunks;
    DELETE FROM knowledge_lexeme
    WHERE sign < 0 AND chunks <= 0
      AND lexeme IN (SELECT lexeme FROM unnest(vectors) AS v, unnest(tsvector_to_array(v)) AS lexeme);
$fn$;

CREATE OR REPLACE FUNCTION knowledge_chunk_lexicon() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- Every writer takes the statistics row before any lexeme row, so concurrent ingestions queue here
    -- instead of deadlocking on the lexemes they share.
    INSERT INTO knowledge_lexiconstats (id, chunks, lexemes) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
    PERFORM 1 FROM knowledge_lexiconstats WHERE id = 1 FOR UPDATE;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM knowledge_lexeme;
        UPDATE knowledge_lexiconstats SET chunks = 0, lexemes = 0 WHERE id = 1;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM knowledge_lexicon_apply(ARRAY(SELECT search_vector FROM new_rows), 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM knowledge_lexicon_apply(ARRAY(SELECT search_vector FROM old_rows), -1);
    ELSE
        -- Updates that leave the text alone (a new embedding) change nothing here.
        PERFORM knowledge_lexicon_apply(ARRAY(
            SELECT o.search_vector FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.search_vector IS DISTINCT FROM n.search_vector
        ), -1);
        PERFORM knowledge_lexicon_apply(ARRAY(
            SELECT n.search_vector FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.search_vector IS DISTINCT FROM n.search_vector
        ), 1);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER knowledge_chunk_lexicon_insert AFTER INSERT ON knowledge_chunk
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION knowledge_chunk_lexicon();
CREATE TRIGGER knowledge_chunk_lexicon_delete AFTER DELETE ON knowledge_chunk
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION knowledge_chunk_lexicon();
CREATE TRIGGER knowledge_chunk_lexicon_update AFTER UPDATE ON knowledge_chunk
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_chunk_lexicon();
CREATE TRIGGER knowledge_chunk_lexicon_truncate AFTER TRUNCATE ON knowledge_chunk
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_chunk_lexicon();

CREATE OR REPLACE FUNCTION knowledge_bm25_terms(
    config regconfig, words text, budget double precision,
    OUT query tsquery, OUT lexemes text[], OUT idfs double precision[], OUT average_length double precision
) LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
    total double precision;
    total_lexemes double precision;
BEGIN
    SELECT s.chunks, s.lexemes INTO total, total_lexemes FROM knowledge_lexiconstats s WHERE s.id = 1;
    total := COALESCE(total, 0);
    average_length := CASE WHEN total > 0 THEN GREATEST(total_lexemes / total, 1) ELSE 1 END;
    SELECT array_agg(lexeme ORDER BY rarity), array_agg(ln(1 + (total - df + 0.5) / (df + 0.5)) ORDER BY rarity)
    INTO lexemes, idfs
    FROM (
        SELECT lexeme, df,
               row_number() OVER (ORDER BY df, lexeme) AS rarity,
               sum(df) OVER (ORDER BY df, lexeme) AS cumulative
        FROM (
            SELECT DISTINCT w.lexeme, l.chunks::double precision AS df
            FROM unnest(tsvector_to_array(to_tsvector(config, words))) AS w(lexeme)
            JOIN knowledge_lexeme l ON l.lexeme = w.lexeme
            WHERE l.chunks > 0
        ) present
    ) ranked
    WHERE total <= budget OR rarity = 1 OR cumulative <= budget;
    IF lexemes IS NOT NULL THEN
        query := array_to_string(ARRAY(
            SELECT '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''' FROM unnest(lexemes) AS lexeme
        ), ' | ')::tsquery;
    END IF;
END
$fn$;

DROP FUNCTION IF EXISTS knowledge_lexical_tsquery(regconfig, text, double precision);
"""

BACKFILL = r"""
INSERT INTO knowledge_lexiconstats (id, chunks, lexemes)
SELECT 1, count(*), COALESCE(sum(length(search_vector)), 0) FROM knowledge_chunk
ON CONFLICT (id) DO UPDATE SET chunks = excluded.chunks, lexemes = excluded.lexemes;
INSERT INTO knowledge_lexeme (lexeme, chunks)
SELECT lexeme, count(*) FROM knowledge_chunk, unnest(tsvector_to_array(search_vector)) AS lexeme GROUP BY lexeme;
"""

DROP = """
DROP TRIGGER IF EXISTS knowledge_chunk_lexicon_insert ON knowledge_chunk;
DROP TRIGGER IF EXISTS knowledge_chunk_lexicon_delete ON knowledge_chunk;
DROP TRIGGER IF EXISTS knowledge_chunk_lexicon_update ON knowledge_chunk;
DROP TRIGGER IF EXISTS knowledge_chunk_lexicon_truncate ON knowledge_chunk;
DROP FUNCTION IF EXISTS knowledge_chunk_lexicon();
DROP FUNCTION IF EXISTS knowledge_lexicon_apply(tsvector[], integer);
DROP FUNCTION IF EXISTS knowledge_bm25_terms(regconfig, text, double precision);
"""

# Going back restores the full-text query function this one replaces.
PREVIOUS = importlib.import_module("knowledge.migrations.0002_lexical_tsquery").CREATE


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0004_ingestionworker"),
    ]

    operations = [
        migrations.CreateModel(
            name="Lexeme",
            fields=[
                ("lexeme", models.TextField(primary_key=True, serialize=False)),
                ("chunks", models.IntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="LexiconStats",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chunks", models.BigIntegerField(default=0)),
                ("lexemes", models.BigIntegerField(default=0, help_text="The sum of every chunk's distinct lexemes.")),
            ],
            options={
                "verbose_name_plural": "lexicon stats",
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP + PREVIOUS),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
