-- server-sse-polling calls test_reconnection over a raw POST and reads the SSE stream: the
-- priming event (id, empty data), the retry field and the result are checked. Closing the
-- stream mid-call (so the client resumes with Last-Event-ID) would take code in the server;
-- the suite accepts a result on the first stream (reported as INFO).
SELECT 'Reconnection test completed successfully' AS text
