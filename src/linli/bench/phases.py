"""The phases of one flash-sale run, computed the same way for linli over HTTP and for the raw engine client.

A rush has two phases with different work: while units remain every attempt that wins takes the hot row
and writes an order (the opening rush); once the last unit is gone every attempt is a refusal. One
attempts-per-second figure mixes them in a proportion set by quota ÷ buyers, so each is reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from linli.bench.harness import percentile


@dataclass(frozen=True)
class Attempt:
    started: float  # seconds since the run began
    ended: float
    bought: bool
    failed: bool = False  # neither a purchase nor a clean refusal (an error, counted apart)


@dataclass(frozen=True)
class RunFigures:
    attempts: int
    sold: int
    errors: int
    attempts_per_second: float
    purchases_per_second: float  # units sold / time from the start to the end of the last successful purchase
    refusals_per_second: float  # attempts that began after the sell-out / from the first's start to the last's end
    refusals_after_sell_out: int
    p50_ms: float
    p99_ms: float


def figures(attempts: list[Attempt], *, elapsed: float) -> RunFigures:
    purchases = [a for a in attempts if a.bought]
    sold_out_at = max((a.ended for a in purchases), default=0.0)
    after = [a for a in attempts if purchases and not a.bought and not a.failed and a.started >= sold_out_at]
    span = max((a.ended for a in after), default=0.0) - min((a.started for a in after), default=0.0)
    latencies = [(a.ended - a.started) * 1000 for a in attempts]
    return RunFigures(
        attempts=len(attempts),
        sold=len(purchases),
        errors=sum(a.failed for a in attempts),
        attempts_per_second=len(attempts) / elapsed if elapsed > 0 else 0.0,
        purchases_per_second=len(purchases) / sold_out_at if sold_out_at > 0 else 0.0,
        refusals_per_second=len(after) / span if span > 0 else 0.0,
        refusals_after_sell_out=len(after),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
    )


def mean(runs: list[RunFigures]) -> RunFigures:
    """The mean of several runs of the same work (the engine runs just before and just after linli)."""
    n = len(runs)
    return RunFigures(
        attempts=sum(r.attempts for r in runs) // n,
        sold=sum(r.sold for r in runs) // n,
        errors=sum(r.errors for r in runs),
        attempts_per_second=sum(r.attempts_per_second for r in runs) / n,
        purchases_per_second=sum(r.purchases_per_second for r in runs) / n,
        refusals_per_second=sum(r.refusals_per_second for r in runs) / n,
        refusals_after_sell_out=sum(r.refusals_after_sell_out for r in runs) // n,
        p50_ms=sum(r.p50_ms for r in runs) / n,
        p99_ms=sum(r.p99_ms for r in runs) / n,
    )


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0
