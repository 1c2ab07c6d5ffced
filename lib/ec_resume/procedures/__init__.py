"""One thin entry module per plugin procedure: read parameters, call the core, write the step summary."""
