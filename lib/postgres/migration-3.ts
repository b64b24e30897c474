/**
 * Schema migration 3: the read models and stream lifecycle of the PostgreSQL store.
 *
 * - `events.category`: the stream id's part before its first '-' (NULL when it has none), a
 *   stored generated column, indexed with the position (`readCategory`, category filters); and an
 *   index of (type, position) (`readByType`, type filters). Both index scans return a view in
 *   global order without touching another view's rows.
 * - `streams_ids`: the stream ids in byte order (collation "C" compares the UTF-8 bytes), for the
 *   keyset pages of `listStreams`; `streams.first_position`, the position of the stream's first
 *   event, set by the append that creates the row and never changed after.
 * - `stream_meta`: per stream, its retention rules and deletes (the embedded store's `$$meta`
 *   events): written only under the stream's advisory lock, as `streams.version` is, so a delete
 *   checks its expected version exactly as an append does. `position` is a position allocated by
 *   the change's transaction (no event holds it): the change's place in global order.
 * - `consumers`: each durable consumer's saved checkpoint (the position of the last event it
 *   handled) and the filter it was saved with.
 * - `append_one` again, now also refusing a hard-deleted stream (status 3) and taking `no_stream`
 *   or 0 for a stream that reads as empty after a soft delete (its versions go on).
 */
export const MIGRATION_3 = (s: string): string => `
    ALTER TABLE ${s}.events ADD COLUMN category text GENERATED ALWAYS AS
      (CASE WHEN strpos(stream_id, '-') > 0 THEN left(stream_id, strpos(stream_id, '-') - 1) END) STORED;
    CREATE INDEX events_category ON ${s}.events (category, position) WHERE category IS NOT NULL;
    CREATE INDEX events_type ON ${s}.events (type, position);
    CREATE INDEX streams_ids ON ${s}.streams ((stream_id COLLATE "C"));
    ALTER TABLE ${s}.streams ADD COLUMN first_position bigint;
    UPDATE ${s}.streams st SET first_position =
      (SELECT e.position FROM ${s}.events e WHERE e.stream_id = st.stream_id ORDER BY e.version LIMIT 1);
    CREATE TABLE ${s}.stream_meta (
      stream_id text PRIMARY KEY,
      max_count bigint,
      max_age_ms bigint,
      truncate_before bigint,
      hard_deleted boolean NOT NULL DEFAULT false,
      position bigint NOT NULL
    );
    CREATE TABLE ${s}.consumers (
      name text PRIMARY KEY,
      position bigint NOT NULL,
      filter text
    );
    CREATE OR REPLACE FUNCTION ${s}.append_one(keys bigint[], p_stream text, p_expected bigint, p_command text, p_ts bigint,
      p_types text[], p_data text[], p_data_bytes bytea[], p_meta text[], p_meta_bytes bytea[], p_ids text[])
    RETURNS TABLE (status int, tx text, a bigint, b bigint, c bigint, d text)
    LANGUAGE plpgsql AS $$
    DECLARE
      cur bigint;
      n int := cardinality(p_types);
      f bigint;
      x xid8;
      r record;
      m record;
      empty boolean := false;
    BEGIN
      PERFORM pg_advisory_xact_lock(k) FROM unnest(keys) AS k;
      IF p_command IS NOT NULL THEN
        SELECT * INTO r FROM ${s}.commands WHERE command_id = p_command;
        IF FOUND THEN
          RETURN QUERY SELECT 2, NULL::text, r.first_version, r.last_version, r.position, r.stream_id;
          RETURN;
        END IF;
      END IF;
      SELECT version INTO cur FROM ${s}.streams WHERE stream_id = p_stream;
      cur := coalesce(cur, 0);
      SELECT hard_deleted, truncate_before INTO m FROM ${s}.stream_meta WHERE stream_id = p_stream;
      IF FOUND THEN
        IF m.hard_deleted THEN
          RETURN QUERY SELECT 3, NULL::text, cur, NULL::bigint, NULL::bigint, NULL::text;
          RETURN;
        END IF;
        empty := cur > 0 AND coalesce(m.truncate_before, 0) > cur;
      END IF;
      IF NOT (p_expected = -1 OR (p_expected = -2 AND (cur = 0 OR empty)) OR (p_expected = -3 AND cur > 0 AND NOT empty)
              OR p_expected = cur OR (empty AND p_expected = 0)) THEN
        RETURN QUERY SELECT 1, NULL::text, cur, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
      END IF;
      SELECT ap.first, ap.tx INTO f, x FROM ${s}.allocate_positions(n) AS ap;
      INSERT INTO ${s}.events (position, stream_id, version, type, data, data_bytes, metadata, metadata_bytes, event_id, command_id, ts)
        SELECT f + i - 1, p_stream, cur + i, p_types[i], p_data[i], p_data_bytes[i], p_meta[i], p_meta_bytes[i], p_ids[i], p_command, p_ts
        FROM generate_series(1, n) AS i;
      INSERT INTO ${s}.streams (stream_id, version, position, first_position) VALUES (p_stream, cur + n, f + n - 1, f)
        ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position;
      IF p_command IS NOT NULL THEN
        INSERT INTO ${s}.commands (command_id, stream_id, first_version, last_version, position) VALUES (p_command, p_stream, cur + 1, cur + n, f + n - 1);
      END IF;
      RETURN QUERY SELECT 0, x::text, cur + 1, cur + n, f + n - 1, NULL::text;
    END $$;
`;
