"""Pure pipeline stages: each takes the FormDocument (and page images) and returns an enriched one."""
