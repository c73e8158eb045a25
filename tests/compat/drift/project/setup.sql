CREATE TABLE items(id INTEGER, name VARCHAR, price DECIMAL(6,2), stock INTEGER);
INSERT INTO items VALUES (1, 'apple', 0.50, 10), (2, 'pear', 1.25, 0), (3, 'fig', 3.00, 4);
CREATE TABLE orders(id INTEGER, item_id INTEGER, qty INTEGER);
INSERT INTO orders VALUES (1, 1, 2);
CREATE VIEW in_stock AS SELECT id, name FROM items WHERE stock > 0;
