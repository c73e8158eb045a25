-- tools-call-simple-text: exactly this text as one text content item
SELECT 'This is a simple text response for testing.' AS text
