"""Small programs for the people who integrate with the pipeline, to copy and adapt."""
