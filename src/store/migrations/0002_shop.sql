-- The merchant's shop: what the dialogue core answers from (see src/shop/).
--
-- Same portable SQL as 0001. Dates are `YYYY-MM-DD` text, timestamps RFC 3339 text, money
-- decimal text ("39.90"); lists with no identity of their own (FAQ questions and tags, product
-- attributes) are JSON text read by kefu, not by SQL.

CREATE TABLE customers (
    id       TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    phone    TEXT NOT NULL,
    email    TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL
);

CREATE TABLE products (
    sku         TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    attributes  TEXT NOT NULL DEFAULT '{}',
    price       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    stock       INTEGER NOT NULL
);

CREATE TABLE orders (
    number      TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    placed_at   TEXT NOT NULL,
    total       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    address     TEXT NOT NULL
);

CREATE INDEX orders_customer ON orders (customer_id, placed_at);

CREATE TABLE order_items (
    order_number TEXT NOT NULL REFERENCES orders (number) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    sku          TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    PRIMARY KEY (order_number, seq)
);

CREATE TABLE shipments (
    order_number    TEXT PRIMARY KEY NOT NULL,
    carrier         TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status          TEXT NOT NULL,
    eta             TEXT
);

CREATE TABLE shipment_events (
    order_number TEXT NOT NULL REFERENCES shipments (order_number) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    at           TEXT NOT NULL,
    status       TEXT NOT NULL,
    location     TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (order_number, seq)
);

CREATE TABLE returns (
    rma           TEXT PRIMARY KEY NOT NULL,
    order_number  TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    refund_amount TEXT,
    refunded_at   TEXT
);

CREATE TABLE return_policies (
    language           TEXT PRIMARY KEY NOT NULL,
    return_window_days INTEGER NOT NULL,
    conditions         TEXT NOT NULL,
    refund_days        INTEGER NOT NULL
);

CREATE TABLE faq (
    id        TEXT PRIMARY KEY NOT NULL,
    language  TEXT NOT NULL,
    questions TEXT NOT NULL,
    answer    TEXT NOT NULL,
    tags      TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE promotions (
    code        TEXT NOT NULL,
    language    TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts      TEXT NOT NULL,
    ends        TEXT NOT NULL,
    PRIMARY KEY (code, language)
);

CREATE TABLE collectibles (
    asset_id          TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    owner_customer_id TEXT NOT NULL,
    licence           TEXT NOT NULL DEFAULT '',
    resale_allowed    INTEGER NOT NULL,
    royalty_percent   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE collectible_transfers (
    asset_id         TEXT NOT NULL REFERENCES collectibles (asset_id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    from_customer_id TEXT,
    to_customer_id   TEXT NOT NULL,
    at               TEXT NOT NULL,
    PRIMARY KEY (asset_id, seq)
);

-- One row. Every import bumps it; a running server reloads its snapshot when it moves.
CREATE TABLE shop_revision (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    revision INTEGER NOT NULL,
    -- 1 once the demo shop (or anything) was loaded: the demo is loaded only into a new database.
    seeded   INTEGER NOT NULL
);
INSERT INTO shop_revision (id, revision, seeded) VALUES (1, 0, 0);

-- What the dialogue core made of each caller turn, for `kefu report`.
CREATE TABLE call_turns (
    call_id    TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    said       TEXT NOT NULL,
    intent     TEXT NOT NULL,
    confidence REAL NOT NULL,
    -- JSON object: slot name -> value.
    slots      TEXT NOT NULL DEFAULT '{}',
    -- -1 (angry) .. 1 (pleased), this turn alone.
    sentiment  REAL NOT NULL,
    reply      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (call_id, seq)
);

-- How the dialogue ended for a call: resolved by the bot or handed to a person.
CREATE TABLE call_outcomes (
    call_id   TEXT PRIMARY KEY NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    outcome   TEXT NOT NULL CHECK (outcome IN ('resolved', 'handed_over', 'abandoned')),
    skill     TEXT NOT NULL DEFAULT '',
    summary   TEXT NOT NULL DEFAULT '',
    sentiment REAL NOT NULL DEFAULT 0
);
