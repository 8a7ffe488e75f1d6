"""Scheduled jobs (settlement, tier bonus, binding expiry, payout sync, pruning): each period runs once, across workers."""
