CREATE TABLE orders (id INTEGER NOT NULL, amount DECIMAL(8,2), placed DATE, note VARCHAR);
INSERT INTO orders VALUES (1, 9.99, DATE '2024-05-01', 'first'), (2, NULL, NULL, NULL);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 5;
