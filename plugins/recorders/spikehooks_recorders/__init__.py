"""spikehooks-recorders."""
