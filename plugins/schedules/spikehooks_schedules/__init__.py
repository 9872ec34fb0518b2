"""spikehooks-schedules."""
