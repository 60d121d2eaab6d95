"""The `declscan` command line."""
