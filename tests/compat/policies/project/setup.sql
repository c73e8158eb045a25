CREATE TABLE staff (id INTEGER, name VARCHAR, salary INTEGER, ssn VARCHAR);
INSERT INTO staff VALUES (1, 'boss', 900, '111'), (2, 'dev', 500, '222'), (3, 'intern', 100, '333');
