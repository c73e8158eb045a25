SELECT 'Hello, ' || $name || '!' as greeting
