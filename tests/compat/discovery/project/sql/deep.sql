SELECT 'from sql/deep.sql' AS v
