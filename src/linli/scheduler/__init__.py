"""Scheduled jobs: settlement, tier bonus, binding expiry, payout sync and pruning, each period run once by one of any number of workers."""
