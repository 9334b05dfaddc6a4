-- Harbor & Pine, a fictional kitchen and home shop. Created on first use by shop.py.
CREATE TABLE IF NOT EXISTS users (
    id          INTEGER PRIMARY KEY,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE,
    phone       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS products (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
    stock        INTEGER NOT NULL CHECK (stock >= 0)
);

CREATE TABLE IF NOT EXISTS orders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    product_id   INTEGER NOT NULL REFERENCES products(id),
    price_cents  INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'refunded')),
    created_at   TEXT NOT NULL DEFAULT (datetime('now')),
    refunded_at  TEXT
);

CREATE TABLE IF NOT EXISTS notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    method       TEXT NOT NULL CHECK (method IN ('email', 'phone')),
    destination  TEXT NOT NULL,
    sent_at      TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, product_id, status);
