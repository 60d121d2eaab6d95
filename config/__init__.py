"""Settings (read once, at the edges) and the form's data: labels, taxonomy, validation rules."""
