-- resources-templates-read: test://template/{id}/data, {id} substituted
SELECT
  $id AS id,
  true AS templateTest,
  'Data for ID: ' || $id AS data
