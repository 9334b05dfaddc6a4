-- Demo data, loaded once into an empty database. Explicit ids keep the demo's examples stable.
INSERT INTO users (id, first_name, last_name, email, phone) VALUES
    (1, 'Ines', 'Okafor', 'ines.okafor@example.com', '+1 555 0101'),
    (2, 'Tomasz', 'Wierzba', 'tomasz.w@example.net', '+1 555 0102'),
    (3, 'Aiko', 'Brennan', 'aiko.brennan@example.org', '+1 555 0103'),
    (4, 'Rafael', 'Quist', 'rquist@example.com', '+1 555 0104');

INSERT INTO products (id, name, description, price_cents, stock) VALUES
    (1, 'Cast-iron skillet 26 cm', 'Pre-seasoned cast-iron frying pan for stove, oven and campfire', 3900, 14),
    (2, 'Enamel dutch oven 5 qt', 'Heavy enamelled casserole pot with lid, for braising and bread', 8900, 6),
    (3, 'Chef knife 20 cm', 'Carbon steel chef knife with a walnut handle', 6400, 9),
    (4, 'Bamboo cutting board', 'Large reversible bamboo board with a juice groove', 2900, 25),
    (5, 'Pour-over coffee kettle', 'Gooseneck stainless steel kettle, 1 litre, for pour-over coffee', 4500, 11),
    (6, 'Ceramic coffee dripper', 'Hand-glazed ceramic pour-over dripper, size 02', 2400, 0),
    (7, 'Linen tea towels (set of 3)', 'Stonewashed linen kitchen towels in sage, oat and rust', 2200, 30),
    (8, 'Stainless mixing bowls (set of 3)', 'Nesting stainless steel mixing bowls with non-slip base', 3400, 12),
    (9, 'Wool throw blanket', 'Soft lambswool throw for the sofa, herringbone weave', 9800, 4),
    (10, 'Beeswax candles (pair)', 'Hand-dipped beeswax taper candles, 25 cm', 1600, 40);

INSERT INTO orders (user_id, product_id, price_cents, status, created_at, refunded_at) VALUES
    (1, 1, 3900, 'placed', '2025-05-02 10:14:00', NULL),
    (1, 5, 4500, 'placed', '2025-05-20 18:03:00', NULL),
    (2, 3, 6400, 'placed', '2025-04-11 09:30:00', NULL),
    (2, 7, 2200, 'refunded', '2025-03-28 12:00:00', '2025-04-02 15:10:00'),
    (3, 9, 9800, 'placed', '2025-06-01 16:45:00', NULL),
    (4, 2, 8900, 'placed', '2025-05-15 08:20:00', NULL);
