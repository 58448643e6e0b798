"""The watch: delay and loss rules, swept every minute, one set-based statement per rule (DESIGN §5).

Each rule is an INSERT … SELECT that opens an alert for every subject whose condition holds and has
no alert for it yet, and an UPDATE … FROM that resolves, with a note saying why, the open alerts whose
condition has cleared. Nothing loops over parcels in Python, and each statement starts from an index
that holds only what can be due, so a rule's cost follows what is due, not the size of the tables:

| rule | due when | read through |
|---|---|---|
| missed_run | a frozen manifest line not picked at a stop the run departed from, the parcel still waiting there | runs of the last `watch_lookback_days` (ix_run_cutoff_at) → their departed stops → ix_manifest_entry_to_pick (lines not yet picked, by stop) |
| late_in_transit | picked up on a run, still with a courier `watch_late_after_min` after the run's planned end | runs ended in the window → ix_manifest_entry_on_board (picked, not dropped, by run) |
| suspected_loss | the run closed while a parcel picked on it is still with the courier (also opened by `report_missing`) | runs closed in the window → ix_manifest_entry_on_board |
| awaiting_receipt | handed over, not confirmed within `watch_receipt_within_min` | ix_parcel_awaiting_receipt (state, last_event_at where state = 'awaiting_receipt') |
| bag_mismatch | opened by unbag; resolved here when every parcel missing from the bag is found | the open alerts |
| due_at_risk | not returned, due before the end of the next `watch_risk_working_days` working day(s), and no parcel for the way back accepted yet | ix_dossier_open_due (due_at where returned_at IS NULL) |
| overdue | past due_at and not returned | ix_dossier_open_due |
| overdue_again | past the new day of the latest apology issued (postal/apologies.py) and not returned | ix_apology_slip_dossier_id |

Each candidate row is then checked against ix_alert_subject (one probe), and resolving starts from the open
alerts of a kind (uq_alert_open_subject) joined to their subject by primary key: a set that is due by
definition. The runs in the window are a few dozen a day, read through their cutoff index.

The deadlines are derived from the columns the custody and run code already keep (run ends_at and
closed_at, stop departed_at, manifest picked_at and dropped_at, parcel state and last_event_at,
dossier due_at and returned_at), so no copy of a deadline can drift from the truth, no write path has to
keep one, and the thresholds can change without rewriting rows.

One alert per condition: a subject with an unresolved alert of the kind gets no second one (the partial
unique index; the INSERT also says ON CONFLICT DO NOTHING so two sweeps at once cannot fail), and one
whose alert someone resolved after the condition began gets none again for that same occurrence (the
`since` of each rule: the departure, the run's end, the close, the handover, the receipt of the dossier).
The run rules look back `watch_lookback_days`: a run older than that is not read again, and what it
left behind was flagged then and stays open until it clears.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlmodel import Session

from models import AlertKind, ParcelState
from postal import db, statuses
from postal.alerts import SEVERITY
from postal.clock import LOCAL_TZ, as_utc, local
from postal.config import Settings
from postal.workdays import DEFAULT_CALENDAR, Calendar

Counts = dict[AlertKind, tuple[int, int]]  # kind → (opened, resolved)


@dataclass(frozen=True)
class Thresholds:
    """The rules' settings (DESIGN §5 defaults, from postal/config.py)."""

    late_after: timedelta = timedelta(minutes=30)
    receipt_within: timedelta = timedelta(minutes=30)
    risk_working_days: int = 1
    lookback: timedelta = timedelta(days=7)

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(timedelta(minutes=settings.watch_late_after_min), timedelta(minutes=settings.watch_receipt_within_min),
                   settings.watch_risk_working_days, timedelta(days=settings.watch_lookback_days))


@dataclass(frozen=True)
class Moments:
    """The instants a sweep compares with, as driver parameters."""

    now: object
    since: object  # the oldest run cutoff read
    late_before: object  # a run that ended before this is late for what it still carries
    receipt_before: object  # a handover before this should have been confirmed
    horizon: object  # a dossier due before this is at risk
    today: object  # the local day: an apology's new day before it is past
    at: datetime | None = None  # now, as a time (not a parameter)


def risk_horizon(now: datetime, working_days: int, calendar: Calendar = DEFAULT_CALENDAR) -> datetime:
    """The end (local midnight) of the n-th working day after today: a dossier due before it is near."""
    day = local(now).date()
    for _ in range(working_days):
        day = calendar.next_working_day(day + timedelta(days=1))
    return as_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ))


def moments(session: Session, now: datetime, limits: Thresholds, calendar: Calendar = DEFAULT_CALENDAR) -> Moments:
    return Moments(
        now=db.time_param(session, now), since=db.time_param(session, now - limits.lookback),
        late_before=db.time_param(session, now - limits.late_after), receipt_before=db.time_param(session, now - limits.receipt_within),
        horizon=db.time_param(session, risk_horizon(now, limits.risk_working_days, calendar)),
        today=local(now).date().isoformat() if db.is_sqlite(session) else local(now).date(), at=as_utc(now),
    )


def q(text: str) -> str:
    """A constant of this module as an SQL literal (literals, not parameters, let SQLite use partial indexes)."""
    return "'" + text.replace("'", "''") + "'"


# -- the statements ---------------------------------------------------------------------------------------
# Every candidate query answers (subject_id, subject_code, since, note) per subject. Each is written in the
# order it should run, the due side first, as nested loops over indexes; both engines are told to follow it:
# SQLite by CROSS JOIN, PostgreSQL by FOLLOW_WRITTEN_ORDER. Left to itself, PostgreSQL estimates the lines on
# board a run as an average over runs and, with few runs, hashes every parcel in flight instead; the same
# overestimates would have it JIT-compile each statement, which costs more than running it.
FOLLOW_WRITTEN_ORDER = ("SET LOCAL join_collapse_limit = 1", "SET LOCAL enable_hashjoin = off",
                        "SET LOCAL enable_mergejoin = off", "SET LOCAL jit = off")

OPEN = """INSERT INTO alert (kind, severity, subject_type, subject_id, subject_code, opened_at, state, note)
    SELECT {kind}, {severity}, {subject}, c.subject_id, c.subject_code, ?, 'open', c.note FROM ({candidates}) c
    WHERE NOT EXISTS (SELECT 1 FROM alert a WHERE a.subject_type = {subject} AND a.subject_id = c.subject_id
                        AND a.kind = {kind} AND (a.state <> 'resolved' OR a.opened_at >= c.since))
    ON CONFLICT DO NOTHING"""

RESOLVE = """UPDATE alert SET state = 'resolved', resolved_at = ?,
        note = substr(CASE WHEN alert.note = '' THEN '' ELSE alert.note || ? END || {why}, 1, 1000)
    FROM {table} s
    WHERE alert.kind = {kind} AND alert.state <> 'resolved' AND alert.subject_type = {subject}
      AND s.id = alert.subject_id AND ({cleared})"""

# The manifest lines of the run (or stop) just read: on SQLite a join that CROSS JOIN keeps inside, on
# PostgreSQL a LATERAL subquery (OFFSET 0 keeps it from being flattened), so the run is always the outer side.
LINES = {
    "sqlite": ("manifest_entry e", "{where} AND "),
    "postgresql": ("LATERAL (SELECT e.parcel_id FROM manifest_entry e WHERE {where} OFFSET 0) e", ""),
}

MISSED_RUN = """SELECT p.id AS subject_id, p.code AS subject_code, MAX(s.departed_at) AS since,
        'Chuyến ' || MAX(r.id) || ' đã rời điểm nhận mà không nhận bì.' AS note
    FROM run r CROSS JOIN run_stop s CROSS JOIN {lines} CROSS JOIN parcel p
    WHERE r.cutoff_at >= ? AND r.cutoff_at <= ? AND r.frozen_at IS NOT NULL
      AND s.run_id = r.id AND s.departed_at IS NOT NULL AND s.departed_at <= ?
      AND {lines_where}p.id = e.parcel_id AND p.state = 'at_site' AND p.holder_site_id = s.site_id
      AND p.last_event_at <= s.departed_at
    GROUP BY p.id, p.code"""
TO_PICK = "e.pick_stop_id = s.id AND e.picked_at IS NULL"  # ix_manifest_entry_to_pick

ON_BOARD = """SELECT p.id AS subject_id, p.code AS subject_code, MAX(r.{since}) AS since, 'Chuyến ' || MAX(r.id) || {note} AS note
    FROM run r CROSS JOIN {{lines}} CROSS JOIN parcel p
    WHERE r.cutoff_at >= ? AND r.cutoff_at <= ? AND {run_due}
      AND {{lines_where}}p.id = e.parcel_id AND p.state = 'in_transit'
    GROUP BY p.id, p.code"""
PICKED_NOT_DROPPED = "e.run_id = r.id AND e.picked_at IS NOT NULL AND e.dropped_at IS NULL"  # ix_manifest_entry_on_board
LATE_IN_TRANSIT = ON_BOARD.format(since="ends_at", note=q(" đã quá giờ về dự kiến mà bì vẫn do bưu tá giữ."),
                                  run_due="r.ends_at <= ?")
SUSPECTED_LOSS = ON_BOARD.format(since="closed_at", note=q(" đã kết thúc khi bì vẫn do bưu tá giữ, chưa bàn giao."),
                                 run_due="r.closed_at <= ?")  # closed (not by run.state: its index holds every run ever closed)
LINES_OF = {"missed_run": TO_PICK, "late_in_transit": PICKED_NOT_DROPPED, "suspected_loss": PICKED_NOT_DROPPED}


AWAITING_RECEIPT = """SELECT p.id AS subject_id, p.code AS subject_code, p.last_event_at AS since,
        'Đã bàn giao cho ' || st.name || ' nhưng chưa được xác nhận nhận.' AS note
    FROM parcel p CROSS JOIN site st
    WHERE p.state = 'awaiting_receipt' AND p.last_event_at <= ? AND st.id = p.holder_site_id"""

# A result is on its way back once a parcel for the way back has been accepted somewhere.
RESULT_MOVING = """EXISTS (SELECT 1 FROM parcel rp WHERE rp.dossier_id = {dossier}.id
    AND rp.direction IN ('to_center', 'to_citizen') AND rp.state <> 'created')"""

DUE_AT_RISK = f"""SELECT d.id AS subject_id, d.code AS subject_code, d.received_at AS since,
        'Sắp đến hạn trả mà kết quả chưa trên đường về.' AS note
    FROM dossier d
    WHERE d.returned_at IS NULL AND d.due_at > ? AND d.due_at <= ? AND NOT {RESULT_MOVING.format(dossier="d")}"""

OVERDUE = """SELECT d.id AS subject_id, d.code AS subject_code, d.received_at AS since,
        'Quá hạn trả kết quả mà chưa trả cho người dân: cần phiếu xin lỗi và hẹn lại (mẫu 04).' AS note
    FROM dossier d
    WHERE d.returned_at IS NULL AND d.due_at <= ?"""

# The latest apology's new day: a dossier re-appointed is judged against it as well as against due_at.
LATEST_NEW_DUE = "(SELECT max(ap.new_due) FROM apology_slip ap WHERE ap.dossier_id = {dossier}.id)"
OVERDUE_AGAIN = f"""SELECT d.id AS subject_id, d.code AS subject_code, d.received_at AS since,
        'Đã quá cả ngày hẹn lại trong phiếu xin lỗi mà chưa trả kết quả.' AS note
    FROM dossier d
    WHERE d.returned_at IS NULL AND d.due_at <= ? AND {LATEST_NEW_DUE.format(dossier="d")} < ?"""

# Why a parcel's alert cleared, from where the parcel is now.
PARCEL_WHY = "CASE s.state " + " ".join(f"WHEN {q(state)} THEN {q(note)}" for state, note in {
    ParcelState.IN_TRANSIT: "Tự đóng: bì đã được bưu tá nhận chuyển.",
    ParcelState.AWAITING_RECEIPT: "Tự đóng: bì đã được bàn giao, chờ bên nhận xác nhận.",
    ParcelState.AT_SITE: "Tự đóng: bì đã được bên nhận xác nhận nhận.",
    ParcelState.MISSING: "Tự đóng: bì đã bị báo thất lạc (xem cảnh báo nghi thất lạc).",
    ParcelState.OUT_FOR_DELIVERY: "Tự đóng: bì đang được mang đi giao cho người dân.",
    ParcelState.DELIVERED: "Tự đóng: bì đã được giao cho người dân.",
}.items()) + f" ELSE {q('Tự đóng: điều kiện cảnh báo không còn.')} END"

RETURNED = q("Tự đóng: đã trả kết quả cho người dân.")
DUE_AT_RISK_WHY = f"""CASE WHEN s.returned_at IS NOT NULL THEN {RETURNED}
    WHEN s.due_at <= ? THEN {q("Tự đóng: đã quá hạn (xem cảnh báo quá hạn).")}
    ELSE {q("Tự đóng: kết quả đã trên đường về.")} END"""

# A bag's missing parcels are those its unbag event recorded as missing (evidence.missing).
BAG_STILL_MISSING = {
    "sqlite": """EXISTS (SELECT 1 FROM custody_event ev
        CROSS JOIN json_each(CASE WHEN json_valid(ev.evidence) THEN ev.evidence ELSE '{}' END, '$.missing') j
        CROSS JOIN parcel p
        WHERE ev.bag_id = s.id AND ev.action = 'unbag' AND p.code = j.value AND p.state = 'missing')""",
    "postgresql": """EXISTS (SELECT 1 FROM custody_event ev
        CROSS JOIN LATERAL jsonb_array_elements_text(CAST(NULLIF(ev.evidence, '') AS jsonb) -> 'missing') AS j(value)
        CROSS JOIN parcel p
        WHERE ev.bag_id = s.id AND ev.action = 'unbag' AND p.code = j.value AND p.state = 'missing')""",
}


# When an open alert's condition no longer holds: the complement of its candidate query, checked per
# open alert through the subject's primary key and ix_manifest_entry_parcel_id.
STILL_MISSED = """EXISTS (SELECT 1 FROM manifest_entry e CROSS JOIN run_stop rs
    WHERE e.parcel_id = s.id AND e.picked_at IS NULL AND rs.id = e.pick_stop_id AND rs.departed_at IS NOT NULL
      AND rs.site_id = s.holder_site_id)"""  # (a parcel bagged where it waits is still waiting there)
STILL_ON_BOARD = """EXISTS (SELECT 1 FROM manifest_entry e CROSS JOIN run r
    WHERE e.parcel_id = s.id AND e.picked_at IS NOT NULL AND e.dropped_at IS NULL AND r.id = e.run_id AND {run_due})"""


@dataclass(frozen=True)
class Rule:
    """One kind of alert: how it opens (None: opened by custody scans) and how it clears."""

    kind: AlertKind
    subject: str  # parcel | dossier | bag: the alert's subject_type, and the table the subject lives in
    candidates: str | None
    cleared: str
    why: str


RULES: tuple[Rule, ...] = (
    Rule(AlertKind.MISSED_RUN, "parcel", MISSED_RUN, f"s.state <> 'at_site' OR NOT {STILL_MISSED}", PARCEL_WHY),
    Rule(AlertKind.LATE_IN_TRANSIT, "parcel", LATE_IN_TRANSIT,
         f"s.state <> 'in_transit' OR NOT {STILL_ON_BOARD.format(run_due='r.ends_at <= ?')}", PARCEL_WHY),
    Rule(AlertKind.AWAITING_RECEIPT, "parcel", AWAITING_RECEIPT,
         "s.state <> 'awaiting_receipt' OR s.last_event_at > ?", PARCEL_WHY),  # or received and handed over again since
    Rule(AlertKind.SUSPECTED_LOSS, "parcel", SUSPECTED_LOSS,  # a parcel reported missing stays suspected until found
         f"s.state NOT IN ('in_transit', 'missing') OR (s.state = 'in_transit' AND NOT "
         f"{STILL_ON_BOARD.format(run_due='r.closed_at <= ?')})", PARCEL_WHY),
    Rule(AlertKind.BAG_MISMATCH, "bag", None, "NOT {bag_still_missing}", q("Tự đóng: các bì thiếu đã được tìm thấy.")),
    Rule(AlertKind.DUE_AT_RISK, "dossier", DUE_AT_RISK,
         f"s.returned_at IS NOT NULL OR s.due_at <= ? OR {RESULT_MOVING.format(dossier='s')}", DUE_AT_RISK_WHY),
    Rule(AlertKind.OVERDUE, "dossier", OVERDUE, "s.returned_at IS NOT NULL", RETURNED),
    Rule(AlertKind.OVERDUE_AGAIN, "dossier", OVERDUE_AGAIN,
         f"s.returned_at IS NOT NULL OR NOT {LATEST_NEW_DUE.format(dossier='s')} < ?",
         f"CASE WHEN s.returned_at IS NOT NULL THEN {RETURNED} ELSE {q('Tự đóng: đã hẹn lại một ngày mới.')} END"),
)


def open_params(kind: AlertKind, m: Moments) -> tuple:
    """The candidate query's parameters, in the order of its placeholders."""
    return {
        AlertKind.MISSED_RUN: (m.since, m.now, m.now),
        AlertKind.LATE_IN_TRANSIT: (m.since, m.late_before, m.late_before),
        AlertKind.SUSPECTED_LOSS: (m.since, m.now, m.now),
        AlertKind.AWAITING_RECEIPT: (m.receipt_before,),
        AlertKind.DUE_AT_RISK: (m.now, m.horizon),
        AlertKind.OVERDUE: (m.now,),
        AlertKind.OVERDUE_AGAIN: (m.now, m.today),
    }[kind]


def resolve_params(kind: AlertKind, m: Moments) -> tuple:
    """Parameters of the why (SET) and cleared (WHERE) expressions, in that order."""
    return {
        AlertKind.LATE_IN_TRANSIT: (m.late_before,),
        AlertKind.AWAITING_RECEIPT: (m.receipt_before,),
        AlertKind.SUSPECTED_LOSS: (m.now,),
        AlertKind.DUE_AT_RISK: (m.now, m.now),
        AlertKind.OVERDUE_AGAIN: (m.today,),
    }.get(kind, ())


def candidates_sql(rule: Rule, dialect: str) -> str:
    """The rule's candidate query for this engine."""
    if rule.kind not in LINES_OF:
        return rule.candidates
    lines, lines_where = LINES[dialect]
    where = LINES_OF[rule.kind]
    return rule.candidates.format(lines=lines.format(where=where), lines_where=lines_where.format(where=where))


def open_sql(rule: Rule, dialect: str) -> str:
    return OPEN.format(kind=q(rule.kind), severity=q(SEVERITY[rule.kind]), subject=q(rule.subject),
                       candidates=candidates_sql(rule, dialect))


def resolve_sql(rule: Rule, dialect: str) -> str:
    cleared = rule.cleared.format(bag_still_missing=BAG_STILL_MISSING[dialect]) if rule.subject == "bag" else rule.cleared
    return RESOLVE.format(kind=q(rule.kind), subject=q(rule.subject), table=rule.subject, why=rule.why, cleared=cleared)


# -- the sweep -------------------------------------------------------------------------------------------


def follow_written_order(session: Session) -> None:
    """For the current transaction only (PostgreSQL; SQLite follows CROSS JOIN order by itself)."""
    if session.get_bind().dialect.name == "postgresql":
        for setting in FOLLOW_WRITTEN_ORDER:
            db.raw(session, setting)


def sweep_rule(session: Session, rule: Rule, m: Moments, settings: Settings | None = None) -> tuple[int, int]:
    """Resolve what cleared, then open what is due: one short write transaction per rule. A dossier found
    late is told to the one-stop system in the same transaction (postal/statuses.py)."""
    dialect = session.get_bind().dialect.name
    with db.writing(session):
        follow_written_order(session)
        resolved = db.raw(session, resolve_sql(rule, dialect), (m.now, "\n", *resolve_params(rule.kind, m))).rowcount
        opened = 0
        if rule.candidates is not None:
            opened = db.raw(session, open_sql(rule, dialect), (m.now, *open_params(rule.kind, m))).rowcount
            statuses.tell_late(session, settings, rule.kind, m.at)
    return max(opened or 0, 0), max(resolved or 0, 0)


def sweep(session: Session, now: datetime, *, settings: Settings | None = None,
          calendar: Calendar = DEFAULT_CALENDAR) -> Counts:
    """Run every rule once as of `now`: per kind, how many alerts were opened and resolved. Idempotent."""
    limits = Thresholds.of(settings) if settings is not None else Thresholds()
    m = moments(session, now, limits, calendar)
    return {rule.kind: sweep_rule(session, rule, m, settings) for rule in RULES}


def bare(session: Session, now: datetime, *, settings: Settings | None = None) -> dict[AlertKind, int]:
    """The rules' candidate queries alone (no alert written): what is due now, per kind. For benchmarks."""
    limits = Thresholds.of(settings) if settings is not None else Thresholds()
    m = moments(session, now, limits)
    dialect = session.get_bind().dialect.name
    follow_written_order(session)
    found = {rule.kind: len(db.raw(session, candidates_sql(rule, dialect), open_params(rule.kind, m)).all())
             for rule in RULES if rule.candidates is not None}
    db.end_reading(session)
    return found
