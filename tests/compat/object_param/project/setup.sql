CREATE TABLE products (id INTEGER, category VARCHAR, price DOUBLE);
INSERT INTO products VALUES (1, 'fruit', 1.0), (2, 'fruit', 3.0), (3, 'veg', 2.0);
