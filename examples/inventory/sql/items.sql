-- The catalogue, inline so the example needs no set-up step.
WITH items(id, name, category, price, stock, added) AS (
  VALUES
    (1, 'apple',  'fruit', 0.50::DECIMAL(10,2), 120, DATE '2024-01-15'),
    (2, 'banana', 'fruit', 0.25::DECIMAL(10,2), 0,   DATE '2024-02-01'),
    (3, 'carrot', 'veg',   0.75::DECIMAL(10,2), 40,  DATE '2024-03-10'),
    (4, 'daikon', 'veg',   NULL,                 7,   NULL)
)
SELECT id, name, category, price, stock, added
FROM items
WHERE ($category IS NULL OR category = $category)
  AND stock >= $min_stock
ORDER BY id
