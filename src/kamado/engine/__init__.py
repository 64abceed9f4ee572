"""Runs what users submit: a scheduler with a fixed number of slots, and the state machines
that move each job from queued to a final status (training today; processing, transform and
tuning join it). Everything a job is lives in the store, so a restarted server resumes."""
