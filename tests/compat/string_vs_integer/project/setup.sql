CREATE TABLE users (id INTEGER, name VARCHAR);
INSERT INTO users VALUES (1, 'ann'), (2, 'bob'), (30, 'cy');
