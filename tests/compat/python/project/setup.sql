CREATE TABLE notes (id INTEGER, body VARCHAR, created DATE);
INSERT INTO notes VALUES (1, 'first', DATE '2024-01-02'), (2, 'second', NULL);
