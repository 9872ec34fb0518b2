"""spikehooks-checkpoint."""
