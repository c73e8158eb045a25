-- tools-call-error: the call fails, so the result has isError: true
SELECT error('This tool intentionally returns an error for testing') AS text
