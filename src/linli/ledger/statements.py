"""Statements (对账单): what moved on a leader's accounts in a day or a month, and the brand's commission report.

A leader's statement for a period (a day or a calendar month in the brand's time zone, [start, end)):

- opening balances = the sums of the leader's entries posted before `start` (pending, available, withdrawing);
- lines = every ledger transaction with an entry on the leader's accounts posted in [start, end), in
  posting order (posted_at, transaction id), each with the amount it moved on each account and the
  balances after it. A transaction that names a commission line (or an order) shows that order: masked
  member, product, paid amount, rule and rate, the line's current status and the date its commission
  becomes available. Any other transaction (tier bonus, withdrawals) is shown by its kind
  (TRANSACTION_KIND_TEXT) or, for a kind this module does not know, by its memo;
- closing balances = opening + what the lines moved.

`reconcile_statement` checks that arithmetic line by line and that the closing (and opening) balances
equal the ledger's own sums at the period's edges, computed by an independent query.

The brand report groups the commission lines of orders paid in a date range (brand time zone) by
community (the community of the order's leader) and by live session, with a totals row that is
computed by its own query, so that the rows can be checked to sum back to it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.errors import InvalidInput
from linli.leaders import service as leaders
from linli.ledger import views
from linli.ledger.models import (
    LEADER_AVAILABLE,
    LEADER_KINDS,
    LEADER_PENDING,
    LEADER_WITHDRAWING,
    LINE_PENDING,
    TX_ACCRUAL,
    TX_CLAWBACK,
    TX_SETTLEMENT,
    TX_TIER_BONUS,
    TX_WITHDRAWAL_PAID,
    TX_WITHDRAWAL_RELEASED,
    TX_WITHDRAWAL_REQUESTED,
    TX_WITHDRAWAL_RETURNED,
    CommissionLine,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from linli.ledger.service import LeaderBalances, find_leader_accounts
from linli.ledger.tier_bonus import month_bounds
from linli.live import service as live
from linli.money import yuan
from linli.pagination import PageParams
from linli.timefmt import format_cell

PERIOD_DAY = "day"
PERIOD_MONTH = "month"
PERIODS = (PERIOD_DAY, PERIOD_MONTH)
# Dates outside these years are refused: nobody has a statement there, and the far ends would overflow
# when converted between time zones.
MIN_YEAR, MAX_YEAR = 2000, 2100
STREAM_BATCH = 500
MAX_REPORT_DAYS = 366
REPORT_GROUPS = ("community", "session")

# What a leader reads for each kind of transaction (the kinds are declared in ledger.models, the withdrawal
# kinds included). A kind missing here is shown by its memo.
TRANSACTION_KIND_TEXT: dict[str, str] = {
    TX_ACCRUAL: "佣金入账（待结算）",
    TX_CLAWBACK: "退款扣回佣金",
    TX_SETTLEMENT: "结算：待结算转可提现",
    TX_TIER_BONUS: "阶梯奖励",
    TX_WITHDRAWAL_REQUESTED: "申请提现",
    TX_WITHDRAWAL_PAID: "提现到账",
    TX_WITHDRAWAL_RELEASED: "提现未成功，退回可提现",
    TX_WITHDRAWAL_RETURNED: "提现被退回，退回可提现",
}

ZERO = LeaderBalances(pending_fen=0, available_fen=0, withdrawing_fen=0)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def kind_text(kind: str, memo: str) -> str:
    return TRANSACTION_KIND_TEXT.get(kind) or memo or kind


def plus(a: LeaderBalances, b: LeaderBalances) -> LeaderBalances:
    return LeaderBalances(
        pending_fen=a.pending_fen + b.pending_fen,
        available_fen=a.available_fen + b.available_fen,
        withdrawing_fen=a.withdrawing_fen + b.withdrawing_fen,
    )


def _as_tuple(b: LeaderBalances) -> tuple[int, int, int]:
    return (b.pending_fen, b.available_fen, b.withdrawing_fen)


# --- periods and dates ----------------------------------------------------------------------------


def parse_date(text: str, *, code: str) -> date:
    """A YYYY-MM-DD date between MIN_YEAR and MAX_YEAR, or a 422 with `code`."""
    value = text.strip()
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("日期格式应为 YYYY-MM-DD", code=code) from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise InvalidInput(f"日期须在 {MIN_YEAR} 年到 {MAX_YEAR} 年之间", code=code)
    return parsed


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise InvalidInput("对账周期只能是 day（日）或 month（月）", code="statement_period_invalid")
    return period


def period_bounds(*, period: str, on: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the day or calendar month containing `on`, in the brand's time zone."""
    check_period(period)
    if not MIN_YEAR <= on.year <= MAX_YEAR:
        raise InvalidInput(f"日期须在 {MIN_YEAR} 年到 {MAX_YEAR} 年之间", code="statement_date_invalid")
    zone = ZoneInfo(timezone)
    if period == PERIOD_DAY:
        after = on + timedelta(days=1)
        return datetime(on.year, on.month, on.day, tzinfo=zone), datetime(after.year, after.month, after.day, tzinfo=zone)
    return month_bounds(period_label(PERIOD_MONTH, on), timezone)


def period_label(period: str, on: date) -> str:
    return on.isoformat() if period == PERIOD_DAY else f"{on.year:04d}-{on.month:02d}"


# --- the statement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderDetail:
    """The order behind a commission-related line, as the leader may see it (member masked)."""

    order_id: int
    commission_line_id: int
    member_name: str
    member_phone: str
    product_name: str
    quantity: int
    paid_fen: int
    rule: str
    rule_text: str
    rule_version: int
    rate_bp: int
    referral_bp: int
    status: str  # the commission line's status now
    status_text: str
    available_from_date: date | None  # brand time zone; None until the order completes


@dataclass(frozen=True)
class SettledOrder:
    """One order's share of a settlement: settlement posts one transaction per leader and batch, and each
    commission line names it, so the statement lists the orders a settlement moved and how much of each."""

    detail: OrderDetail
    settled_fen: int


@dataclass(frozen=True)
class StatementLine:
    transaction_id: int
    posted_at: datetime
    kind: str
    kind_text: str
    memo: str
    order_id: int | None
    refund_id: int | None
    order: OrderDetail | None
    moved: LeaderBalances  # signed fen moved on each of the leader's accounts by this transaction
    balance_after: LeaderBalances
    settled_orders: list[SettledOrder] = field(default_factory=list)  # a settlement's orders (sum = its movement)


@dataclass(frozen=True)
class Statement:
    brand_id: int
    leader_id: int
    period: str
    on: date
    label: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    opening: LeaderBalances
    moved: LeaderBalances  # the period's total movement
    closing: LeaderBalances  # opening + moved
    line_count: int
    lines: list[StatementLine] = field(default_factory=list)
    accounts: dict[int, str] = field(default_factory=dict, repr=False)  # the leader's account id → kind


def _sum_columns(accounts: dict[int, str]) -> list:
    columns = []
    for kind in LEADER_KINDS:
        ids = [account_id for account_id, k in accounts.items() if k == kind]
        amount = case((LedgerEntry.account_id.in_(ids), LedgerEntry.amount_fen), else_=0) if ids else literal(0)
        columns.append(func.coalesce(func.sum(amount), 0))
    return columns


def _balances(row: Iterable) -> LeaderBalances:
    pending, available, withdrawing = (int(v or 0) for v in row)
    return LeaderBalances(pending_fen=pending, available_fen=available, withdrawing_fen=withdrawing)


async def _sums(session: AsyncSession, accounts: dict[int, str], *conditions: ColumnElement[bool]) -> LeaderBalances:
    if not accounts:
        return ZERO
    row = (
        await session.execute(select(*_sum_columns(accounts)).where(LedgerEntry.account_id.in_(list(accounts)), *conditions))
    ).one()
    return _balances(row)


def _before(key: tuple[datetime, int]) -> ColumnElement[bool]:
    """Entries posted before the transaction at `key` (posting order: posted_at, then transaction id)."""
    posted_at, transaction_id = key
    return or_(
        LedgerEntry.posted_at < posted_at,
        and_(LedgerEntry.posted_at == posted_at, LedgerEntry.transaction_id < transaction_id),
    )


async def open_statement(*, session: AsyncSession, brand_id: int, leader_id: int, period: str, on: date) -> Statement:
    """The statement's header: opening, the period's movement, closing and the number of lines (no lines)."""
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    start, end = period_bounds(period=period, on=on, timezone=brand.timezone)
    accounts = {a.id: a.kind for a in (await find_leader_accounts(session=session, brand_id=brand_id, leader_id=leader_id)).values()}
    opening = await _sums(session, accounts, LedgerEntry.posted_at < start)
    in_period = (LedgerEntry.posted_at >= start, LedgerEntry.posted_at < end)
    moved = await _sums(session, accounts, *in_period)
    count = 0
    if accounts:
        count = int(
            await session.scalar(
                select(func.count(func.distinct(LedgerEntry.transaction_id))).where(
                    LedgerEntry.account_id.in_(list(accounts)), *in_period
                )
            )
            or 0
        )
    return Statement(
        brand_id=brand_id, leader_id=leader_id, period=period, on=on, label=period_label(period, on),
        timezone=brand.timezone, starts_at=start, ends_at=end, opening=opening, moved=moved,
        closing=plus(opening, moved), line_count=count, accounts=accounts,
    )


async def _fetch_lines(
    session: AsyncSession,
    statement: Statement,
    *,
    after: tuple[datetime, int] | None,
    offset: int,
    limit: int,
    balance_before: LeaderBalances | None,
) -> list[StatementLine]:
    """Up to `limit` lines after the keyset `after` (or from `offset`), described; balances carried from
    `balance_before` (None: computed from the ledger for the first line fetched)."""
    if not statement.accounts:
        return []
    query = (
        select(LedgerEntry.transaction_id, LedgerEntry.posted_at, *_sum_columns(statement.accounts))
        .where(
            LedgerEntry.account_id.in_(list(statement.accounts)),
            LedgerEntry.posted_at >= statement.starts_at,
            LedgerEntry.posted_at < statement.ends_at,
        )
        .group_by(LedgerEntry.transaction_id, LedgerEntry.posted_at)
        .order_by(LedgerEntry.posted_at, LedgerEntry.transaction_id)
        .offset(offset)
        .limit(limit)
    )
    if after is not None:
        posted_at, transaction_id = after
        query = query.where(
            or_(
                LedgerEntry.posted_at > posted_at,
                and_(LedgerEntry.posted_at == posted_at, LedgerEntry.transaction_id > transaction_id),
            )
        )
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    if balance_before is None:
        balance_before = await _sums(session, statement.accounts, _before((rows[0][1], rows[0][0])))
    transactions = {
        t.id: t
        for t in await session.scalars(select(LedgerTransaction).where(LedgerTransaction.id.in_([r[0] for r in rows])))
    }
    details = await _order_details(session, statement, transactions.values())
    settled = await _settled_orders(
        session, statement, [t.id for t in transactions.values() if t.kind == TX_SETTLEMENT]
    )
    lines = []
    running = balance_before
    for row in rows:
        transaction = transactions[row[0]]
        moved = _balances(row[2:])
        running = plus(running, moved)
        detail = details.get(("line", transaction.commission_line_id)) or details.get(("order", transaction.order_id))
        lines.append(
            StatementLine(
                transaction_id=transaction.id, posted_at=transaction.posted_at, kind=transaction.kind,
                kind_text=kind_text(transaction.kind, transaction.memo), memo=transaction.memo,
                order_id=transaction.order_id, refund_id=transaction.refund_id, order=detail, moved=moved,
                balance_after=running, settled_orders=settled.get(transaction.id, []),
            )
        )
    return lines


async def _order_details(
    session: AsyncSession, statement: Statement, transactions: Iterable[LedgerTransaction]
) -> dict[tuple[str, int | None], OrderDetail]:
    """Order details keyed by ("line", commission line id) and ("order", order id), for the transactions that
    name one. Only this leader's commission lines are read, so no other leader's member is ever shown."""
    line_ids = {t.commission_line_id for t in transactions if t.commission_line_id is not None}
    order_ids = {t.order_id for t in transactions if t.commission_line_id is None and t.order_id is not None}
    if not line_ids and not order_ids:
        return {}
    names = []
    if line_ids:
        names.append(CommissionLine.id.in_(line_ids))
    if order_ids:
        names.append(CommissionLine.order_id.in_(order_ids))
    rows = list(
        await session.scalars(
            select(CommissionLine).where(
                CommissionLine.brand_id == statement.brand_id, CommissionLine.leader_id == statement.leader_id, or_(*names)
            )
        )
    )
    found: dict[tuple[str, int | None], OrderDetail] = {}
    for detail in await _describe(session, statement, rows):
        found[("line", detail.commission_line_id)] = detail
        found[("order", detail.order_id)] = detail
    return found


async def _describe(session: AsyncSession, statement: Statement, rows: list[CommissionLine]) -> list[OrderDetail]:
    details = []
    for view in await views.describe_lines(session=session, brand_id=statement.brand_id, lines=rows):
        line = view.line
        details.append(
            OrderDetail(
                order_id=line.order_id, commission_line_id=line.id, member_name=view.member_name,
                member_phone=view.member_phone, product_name=line.product_name, quantity=line.quantity,
                paid_fen=line.paid_fen, rule=line.rule, rule_text=views.rule_text(line.rule),
                rule_version=view.rule_version, rate_bp=line.rate_bp, referral_bp=line.referral_bp, status=line.status,
                status_text=views.STATUS_TEXT.get(line.status, line.status), available_from_date=view.available_from_date,
            )
        )
    return details


async def _settled_orders(
    session: AsyncSession, statement: Statement, transaction_ids: list[int]
) -> dict[int, list[SettledOrder]]:
    """The orders each settlement transaction moved (this leader's lines only), in line order."""
    if not transaction_ids:
        return {}
    rows = list(
        await session.scalars(
            select(CommissionLine)
            .where(
                CommissionLine.brand_id == statement.brand_id, CommissionLine.leader_id == statement.leader_id,
                CommissionLine.settlement_transaction_id.in_(transaction_ids),
            )
            .order_by(CommissionLine.id)
        )
    )
    found: dict[int, list[SettledOrder]] = {}
    for line, detail in zip(rows, await _describe(session, statement, rows), strict=True):
        found.setdefault(line.settlement_transaction_id, []).append(SettledOrder(detail=detail, settled_fen=line.settled_fen))
    return found


async def leader_statement(
    *, session: AsyncSession, brand_id: int, leader_id: int, period: str, on: date, page: PageParams | None = None
) -> Statement:
    """The leader's statement for the day or month containing `on` (brand time zone): header and lines
    (all of them, or one page in posting order; a page's running balances are still absolute)."""
    statement = await open_statement(session=session, brand_id=brand_id, leader_id=leader_id, period=period, on=on)
    if page is not None:
        lines = await _fetch_lines(
            session, statement, after=None, offset=page.offset, limit=page.page_size,
            balance_before=statement.opening if page.offset == 0 else None,
        )
    else:
        lines = [line async for batch in statement_batches(session=session, statement=statement) for line in batch]
    return replace(statement, lines=lines)


async def statement_batches(
    *, session: AsyncSession, statement: Statement, batch_size: int = STREAM_BATCH
) -> AsyncIterator[list[StatementLine]]:
    """All of the statement's lines in posting order, a batch at a time (keyset: memory stays bounded)."""
    after: tuple[datetime, int] | None = None
    running = statement.opening
    while True:
        batch = await _fetch_lines(session, statement, after=after, offset=0, limit=batch_size, balance_before=running)
        if not batch:
            return
        yield batch
        last = batch[-1]
        after, running = (last.posted_at, last.transaction_id), last.balance_after


# --- reconciliation -------------------------------------------------------------------------------


async def ledger_balances_before(
    *, session: AsyncSession, brand_id: int, leader_id: int, before: datetime
) -> LeaderBalances:
    """The leader's balances from the ledger's entries posted before `before`, by account kind (a query of
    its own, independent of how a statement finds its accounts and lines)."""
    rows = await session.execute(
        select(LedgerAccount.kind, func.sum(LedgerEntry.amount_fen))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.brand_id == brand_id, LedgerAccount.leader_id == leader_id, LedgerEntry.posted_at < before)
        .group_by(LedgerAccount.kind)
    )
    sums = {kind: int(total or 0) for kind, total in rows.all()}
    return LeaderBalances(
        pending_fen=sums.get(LEADER_PENDING, 0), available_fen=sums.get(LEADER_AVAILABLE, 0),
        withdrawing_fen=sums.get(LEADER_WITHDRAWING, 0),
    )


async def reconcile_statement(
    *, session: AsyncSession, brand_id: int, leader_id: int, period: str, on: date
) -> list[str]:
    """What does not add up in the leader's statement (empty when it reconciles):

    opening + every line's movement = closing, line by line (each line's balance after = the previous one's
    + its movement), the number of lines is the header's, and opening and closing equal the ledger's
    balances at the period's start and end computed independently from the entries.
    """
    statement = await open_statement(session=session, brand_id=brand_id, leader_id=leader_id, period=period, on=on)
    where = f"leader {leader_id} {period} {statement.label}"
    problems: list[str] = []
    running = statement.opening
    count = 0
    async for batch in statement_batches(session=session, statement=statement):
        for line in batch:
            running = plus(running, line.moved)
            count += 1
            if line.settled_orders and sum(p.settled_fen for p in line.settled_orders) != line.moved.available_fen:
                problems.append(
                    f"{where}: settlement {line.transaction_id} lists orders worth"
                    f" {sum(p.settled_fen for p in line.settled_orders)}, moved {line.moved.available_fen}"
                )
            if line.balance_after != running:
                problems.append(
                    f"{where}: line of transaction {line.transaction_id} shows balance {_as_tuple(line.balance_after)},"
                    f" previous + movement is {_as_tuple(running)}"
                )
    if running != statement.closing:
        problems.append(f"{where}: opening + lines = {_as_tuple(running)}, closing = {_as_tuple(statement.closing)}")
    if count != statement.line_count:
        problems.append(f"{where}: {count} lines listed, header says {statement.line_count}")
    for label, edge, shown in (("opening", statement.starts_at, statement.opening), ("closing", statement.ends_at, statement.closing)):
        ledger = await ledger_balances_before(session=session, brand_id=brand_id, leader_id=leader_id, before=edge)
        if ledger != shown:
            problems.append(f"{where}: {label} {_as_tuple(shown)} but the ledger has {_as_tuple(ledger)} at {edge.isoformat()}")
    return problems


async def reconcile_leaders(*, session: AsyncSession, brand_id: int, on: date) -> list[str]:
    """reconcile_statement for the day and the month of `on`, for every leader of the brand with accounts."""
    leader_ids = await session.scalars(
        select(LedgerAccount.leader_id)
        .where(LedgerAccount.brand_id == brand_id, LedgerAccount.leader_id.is_not(None))
        .distinct()
        .order_by(LedgerAccount.leader_id)
    )
    problems: list[str] = []
    for leader_id in list(leader_ids):
        for period in PERIODS:
            problems += await reconcile_statement(session=session, brand_id=brand_id, leader_id=leader_id, period=period, on=on)
    return problems


# --- CSV ------------------------------------------------------------------------------------------

CSV_BOM = "\ufeff"  # Excel reads a UTF-8 file as UTF-8 (and shows Chinese) only with the byte order mark
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def percent(bp: int) -> str:
    """Basis points as a percentage: 1500 → "15%", 1250 → "12.5%"."""
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def text_cell(value: str) -> str:
    """Free text (names, products, memos) that a spreadsheet must not run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


STATEMENT_CSV_HEADERS = [
    "记账时间", "类型", "订单号", "邻居", "手机号", "商品", "数量", "实付(分)", "实付(元)", "规则", "佣金率", "拉新加成",
    "当前状态", "可提现日期",
    "待结算变动(分)", "待结算变动(元)", "可提现变动(分)", "可提现变动(元)", "提现中变动(分)", "提现中变动(元)",
    "待结算余额(分)", "待结算余额(元)", "可提现余额(分)", "可提现余额(元)", "提现中余额(分)", "提现中余额(元)",
    "说明", "记账编号",
]


def _money(b: LeaderBalances | None) -> list[str]:
    if b is None:
        return [""] * 6
    return [c for fen in _as_tuple(b) for c in (str(fen), yuan(fen))]


def _csv_row(line: StatementLine, timezone: str) -> list[str]:
    order_cells = (
        _order_cells(line.order) if line.order is not None
        else [str(line.order_id or ""), "", "", "", "", "", "", "", "", "", "", ""]
    )
    return [
        format_cell(line.posted_at, timezone), text_cell(line.kind_text), *order_cells, *_money(line.moved),
        *_money(line.balance_after), text_cell(line.memo), str(line.transaction_id),
    ]


def _order_cells(o: OrderDetail) -> list[str]:
    return [
        str(o.order_id), text_cell(o.member_name), o.member_phone, text_cell(o.product_name), str(o.quantity),
        str(o.paid_fen), yuan(o.paid_fen), o.rule_text, percent(o.rate_bp), percent(o.referral_bp), o.status_text,
        o.available_from_date.isoformat() if o.available_from_date else "待提货后确定",
    ]


def _settled_order_row(part: SettledOrder) -> list[str]:
    """A breakdown row under its settlement: the amount is in the note, not the movement columns, so the
    movement columns still sum to the period's total."""
    return ["", "其中：订单结算", *_order_cells(part.detail), *[""] * 12, f"本单结算 {yuan(part.settled_fen)} 元", ""]


def _summary_row(title: str, at: datetime | None, timezone: str, moved: LeaderBalances | None,
                 balance: LeaderBalances | None) -> list[str]:
    return [format_cell(at, timezone) if at else "", title, *[""] * 12, *_money(moved), *_money(balance), "", ""]


async def statement_csv(*, session: AsyncSession, statement: Statement, batch_size: int = STREAM_BATCH) -> AsyncIterator[bytes]:
    """The statement as CSV (UTF-8 with BOM, Chinese headers), one chunk per batch of lines: an opening
    row, the lines, a totals row and a closing row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        chunk = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return chunk

    buffer.write(CSV_BOM)
    writer.writerow(STATEMENT_CSV_HEADERS)
    writer.writerow(_summary_row("期初余额", statement.starts_at, statement.timezone, None, statement.opening))
    yield flush()
    async for batch in statement_batches(session=session, statement=statement, batch_size=batch_size):
        for line in batch:
            writer.writerow(_csv_row(line, statement.timezone))
            writer.writerows(_settled_order_row(part) for part in line.settled_orders)
        yield flush()
    writer.writerow(_summary_row("本期合计", None, statement.timezone, statement.moved, None))
    writer.writerow(_summary_row("期末余额", statement.ends_at, statement.timezone, None, statement.closing))
    yield flush()


# --- the brand's commission report ----------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    key: int | None  # community id or live session id; None: orders placed outside any live session
    name: str
    orders: int
    paid_fen: int
    refunded_fen: int
    accrued_fen: int
    clawed_back_fen: int
    settled_fen: int  # moved to available (a clawback after settlement is taken from available)
    pending_fen: int  # still pending: net commission of lines not settled yet

    @property
    def net_fen(self) -> int:
        return self.accrued_fen - self.clawed_back_fen


@dataclass(frozen=True)
class CommissionReport:
    brand_id: int
    date_from: date
    date_to: date
    timezone: str
    starts_at: datetime
    ends_at: datetime
    by_community: list[ReportRow]
    by_session: list[ReportRow]
    total: ReportRow


def _report_columns() -> list:
    line = CommissionLine
    pending = case((line.status == LINE_PENDING, line.commission_fen - line.clawed_back_fen), else_=0)
    return [
        func.count(line.id), func.coalesce(func.sum(line.paid_fen), 0), func.coalesce(func.sum(line.refunded_fen), 0),
        func.coalesce(func.sum(line.commission_fen), 0), func.coalesce(func.sum(line.clawed_back_fen), 0),
        func.coalesce(func.sum(line.settled_fen), 0), func.coalesce(func.sum(pending), 0),
    ]


def _row(key: int | None, name: str, values: Iterable) -> ReportRow:
    orders, paid, refunded, accrued, clawed, settled, pending = (int(v or 0) for v in values)
    return ReportRow(key=key, name=name, orders=orders, paid_fen=paid, refunded_fen=refunded, accrued_fen=accrued,
                     clawed_back_fen=clawed, settled_fen=settled, pending_fen=pending)


def _fold(rows: Iterable[ReportRow], key: int | None, name: str) -> ReportRow:
    rows = list(rows)
    return ReportRow(
        key=key, name=name, orders=sum(r.orders for r in rows), paid_fen=sum(r.paid_fen for r in rows),
        refunded_fen=sum(r.refunded_fen for r in rows), accrued_fen=sum(r.accrued_fen for r in rows),
        clawed_back_fen=sum(r.clawed_back_fen for r in rows), settled_fen=sum(r.settled_fen for r in rows),
        pending_fen=sum(r.pending_fen for r in rows),
    )


def check_report_range(*, date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise InvalidInput("结束日期不能早于开始日期", code="report_range_reversed")
    if (date_to - date_from).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(f"一次最多查询 {MAX_REPORT_DAYS} 天", code="report_range_too_long")


OFF_SESSION_NAME = "非直播订单"


async def commission_report(*, session: AsyncSession, brand_id: int, date_from: date, date_to: date) -> CommissionReport:
    """Commission of the orders paid from `date_from` to `date_to` inclusive (brand time zone), by
    community and by live session, as things stand now."""
    check_report_range(date_from=date_from, date_to=date_to)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    start, _ = period_bounds(period=PERIOD_DAY, on=date_from, timezone=brand.timezone)
    _, end = period_bounds(period=PERIOD_DAY, on=date_to, timezone=brand.timezone)
    scope = (CommissionLine.brand_id == brand_id, CommissionLine.paid_at >= start, CommissionLine.paid_at < end)

    per_leader = (
        await session.execute(select(CommissionLine.leader_id, *_report_columns()).where(*scope).group_by(CommissionLine.leader_id))
    ).all()
    leader_rows = await leaders.leaders_by_ids(session=session, leader_ids={r[0] for r in per_leader})
    communities = await brands.communities_by_ids(
        session=session, community_ids={leader.community_id for leader in leader_rows.values()}
    )
    by_community_id: dict[int, list[ReportRow]] = {}
    for r in per_leader:
        community_id = leader_rows[r[0]].community_id
        by_community_id.setdefault(community_id, []).append(_row(community_id, "", r[1:]))
    by_community = [
        _fold(rows, community_id, communities[community_id].name) for community_id, rows in sorted(by_community_id.items())
    ]

    per_session = (
        await session.execute(select(CommissionLine.session_id, *_report_columns()).where(*scope).group_by(CommissionLine.session_id))
    ).all()
    titles = await live.sessions_by_ids(
        session=session, brand_id=brand_id, session_ids={r[0] for r in per_session if r[0] is not None}
    )

    def session_order(r: ReportRow) -> tuple[int, float, int]:
        """Sessions by start time, orders outside any session last."""
        if r.key is None:
            return (1, 0.0, 0)
        return (0, titles[r.key].scheduled_start_at.timestamp(), r.key)

    by_session = sorted(
        (_row(r[0], OFF_SESSION_NAME if r[0] is None else titles[r[0]].title, r[1:]) for r in per_session),
        key=session_order,
    )
    total = _row(None, "合计", (await session.execute(select(*_report_columns()).where(*scope))).one())
    return CommissionReport(
        brand_id=brand_id, date_from=date_from, date_to=date_to, timezone=brand.timezone, starts_at=start, ends_at=end,
        by_community=by_community, by_session=by_session, total=total,
    )


def check_report_group(group_by: str) -> str:
    if group_by not in REPORT_GROUPS:
        raise InvalidInput("分组只能是 community（社区）或 session（直播场次）", code="report_group_invalid")
    return group_by


REPORT_CSV_AMOUNTS = ("实付", "退款", "佣金", "扣回", "净佣金", "已结算", "待结算")


def report_csv(report: CommissionReport, *, group_by: str) -> bytes:
    """One grouping of the report as CSV (UTF-8 with BOM), its rows then the totals row."""
    check_report_group(group_by)
    rows = report.by_community if group_by == "community" else report.by_session
    buffer = io.StringIO()
    buffer.write(CSV_BOM)
    writer = csv.writer(buffer)
    first = ("社区ID", "社区") if group_by == "community" else ("直播场次ID", "直播场次")
    writer.writerow([*first, "订单数", *[f"{label}({unit})" for label in REPORT_CSV_AMOUNTS for unit in ("分", "元")]])
    for row in [*rows, report.total]:
        amounts = (row.paid_fen, row.refunded_fen, row.accrued_fen, row.clawed_back_fen, row.net_fen, row.settled_fen,
                   row.pending_fen)
        writer.writerow(
            ["" if row.key is None else str(row.key), text_cell(row.name), str(row.orders),
             *[c for fen in amounts for c in (str(fen), yuan(fen))]]
        )
    return buffer.getvalue().encode("utf-8")
