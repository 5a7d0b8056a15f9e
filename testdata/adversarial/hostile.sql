-- What the adversarial trial of issue 14 wrote against: a real table, a
-- sequence, a serial column, functions that turn the session read-write or
-- write, and dblink. Loaded by the TestAdversarial… tests of bench and of
-- the CLI.
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE TABLE victim (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO victim SELECT g, 'row ' || g FROM generate_series(1, 100) g;
CREATE SEQUENCE victim_seq;
SELECT setval('victim_seq', 7);
CREATE TABLE serial_victim (id serial PRIMARY KEY, note text);
CREATE FUNCTION flip_read_only() RETURNS text LANGUAGE sql VOLATILE
    AS $$ SELECT set_config('default_transaction_read_only', 'off', false) $$;
CREATE FUNCTION set_read_write() RETURNS text LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN SET default_transaction_read_only = off; RETURN current_setting('default_transaction_read_only'); END $$;
CREATE FUNCTION churn() RETURNS int LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN
        DELETE FROM victim WHERE id = (SELECT min(id) FROM victim);
        INSERT INTO victim VALUES (100000 + (random() * 1000000)::int, 'churned');
        RETURN 1;
    END $$;
-- Fails every call as a lock not granted within lock_timeout does, at once:
-- a condition of the server's, not a fault of the statement.
CREATE FUNCTION lock_timeout_now() RETURNS int LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN RAISE EXCEPTION 'canceling statement due to lock timeout' USING ERRCODE = 'lock_not_available'; END $$;
