-- Call records and their timelines.
--
-- Kept to SQL that SQLite and PostgreSQL both accept: TEXT and INTEGER columns only, `$n`
-- parameters in the queries, no AUTOINCREMENT/SERIAL, no JSON functions. Timestamps are
-- RFC 3339 UTC text with exactly three fractional digits, so text order is time order.

CREATE TABLE calls (
    id          TEXT PRIMARY KEY NOT NULL,
    sip_call_id TEXT NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_uri    TEXT NOT NULL,
    to_uri      TEXT NOT NULL,
    -- Which kefu node handled the call; a restarting node closes only its own calls.
    node        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    answered_at TEXT,
    -- NULL while the call is live.
    ended_at    TEXT,
    end_cause   TEXT,
    codec       TEXT,
    digits      TEXT NOT NULL DEFAULT '',
    -- JSON array of strings, appended to by one UPDATE (see `push_flow_step`).
    flow_path   TEXT NOT NULL DEFAULT '[]',
    recording   TEXT
);

-- Newest-first listings walk this index backwards.
CREATE INDEX calls_started_at ON calls (started_at, id);
-- `kefu calls show` accepts the SIP Call-ID.
CREATE INDEX calls_sip_call_id ON calls (sip_call_id);
-- Live calls, for the live listing and for closing a crashed node's calls (few rows).
CREATE INDEX calls_live ON calls (started_at) WHERE ended_at IS NULL;

CREATE TABLE call_events (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    -- 1, 2, 3, ... per call, in the order the events were written.
    seq     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (call_id, seq)
);
