-- memory.vector and memory.halfvec: text format, typmod, casts, operators, errors.
SET search_path = public, memory;

SELECT '[1,2,3]'::vector, '[ 1.5 , -2e-3 ,3e7 ]'::vector, '[0.0001,1e-05]'::vector;
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2.5,-65504]'::halfvec, '[0.1]'::halfvec;
SELECT dims('[1,2,3]'::vector), dims('[1,2]'::halfvec), l2_norm('[3,4]'::vector), l2_norm('[3,4]'::halfvec);
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector);

-- distances, as functions and operators
SELECT l2_distance('[0,0]'::vector, '[3,4]'), '[0,0]'::vector <-> '[3,4]';
SELECT cosine_distance('[1,0]'::vector, '[0,1]'), '[1,1]'::vector <=> '[2,2]', '[1,0]'::vector <=> '[-1,0]';
SELECT inner_product('[1,2]'::vector, '[3,4]'), '[1,2]'::vector <#> '[3,4]';
SELECT '[0,0]'::halfvec <-> '[3,4]', '[1,0]'::halfvec <=> '[0,1]', '[1,2]'::halfvec <#> '[3,4]';
SELECT cosine_distance('[0,0]'::vector, '[1,1]') AS zero_vector_has_no_direction;
SELECT '[1,2]'::vector = '[1,2]', '[1,2]'::vector <> '[1,3]';

-- casts
SELECT ARRAY[1,2,3]::real[]::vector, ARRAY[1.5,2]::float8[]::vector, ARRAY[4,5]::int[]::vector;
SELECT '[1,2]'::vector::real[], '[1,2]'::halfvec::real[];
SELECT '[1.5,2]'::vector::halfvec, '[1.5,2]'::halfvec::vector;
SELECT ARRAY[1,2]::real[]::halfvec(2);

-- typmod is enforced on columns
CREATE TABLE vt (id int, v vector(3), h halfvec(2));
INSERT INTO vt VALUES (1, '[1,2,3]', '[1,2]');
SELECT sqlstate_of($$INSERT INTO vt (v) VALUES ('[1,2]')$$);
SELECT sqlstate_of($$INSERT INTO vt (h) VALUES ('[1,2,3]')$$);
SELECT sqlstate_of($$INSERT INTO vt (v) VALUES (ARRAY[1,2]::real[])$$);
SELECT id, v, h FROM vt;
SELECT v <-> '[1,2,4]' FROM vt;

-- nearest neighbours with plain ORDER BY
CREATE TABLE items (id int, embedding vector(2));
INSERT INTO items SELECT i, ARRAY[cos(i), sin(i)]::real[] FROM generate_series(1, 20) i;
SELECT id FROM items ORDER BY embedding <=> '[1,0]' LIMIT 3;
SELECT id FROM items ORDER BY embedding <-> '[0,1]' LIMIT 3;

-- errors: malformed text 22P02, NaN/inf/empty/mismatch 22000, range 22003, too many dims 54000
SELECT sqlstate_of($$SELECT '1,2'::vector$$);
SELECT sqlstate_of($$SELECT '[1,,2]'::vector$$);
SELECT sqlstate_of($$SELECT '[1,a]'::vector$$);
SELECT sqlstate_of($$SELECT '[]'::vector$$);
SELECT sqlstate_of($$SELECT '[1,NaN]'::vector$$);
SELECT sqlstate_of($$SELECT '[inf]'::vector$$);
SELECT sqlstate_of($$SELECT '[1e50]'::vector$$);
SELECT sqlstate_of($$SELECT '[70000]'::halfvec$$);
SELECT sqlstate_of($$SELECT ARRAY['NaN']::real[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY[1,NULL]::real[]::vector$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector <-> '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::halfvec <=> '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector$$);
SELECT dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);
SELECT sqlstate_of($$CREATE TABLE bad (v vector(0))$$);
SELECT sqlstate_of($$CREATE TABLE bad (v vector(16001))$$);
SELECT sqlstate_of($$CREATE TABLE bad (v vector(3, 2))$$);
-- a plain error shows message, detail and hint
SELECT '[1,2]'::vector <-> '[1,2,3]';
SELECT '[1,NaN]'::vector;

-- binary COPY round trip
COPY (SELECT v, h FROM vt) TO '/tmp/memory_ext_vt.bin' WITH (FORMAT binary);
CREATE TABLE vt2 (v vector(3), h halfvec(2));
COPY vt2 FROM '/tmp/memory_ext_vt.bin' WITH (FORMAT binary);
SELECT v, h FROM vt2;
DROP TABLE vt, vt2, items;
