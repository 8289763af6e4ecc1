"""The store: SQLAlchemy Core tables (the Alembic migrations create exactly these).

Raw payloads are immutable; tracking events are upserted on a natural key; every decision
(notified, suppressed, deferred, escalated, quarantined, blocked, no_channel) is a row with
its reason, so "why did or didn't this customer hear from us?" is a query.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from notify.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("mode", String(20), nullable=False),  # send | dry_run | replay
    Column("status", String(20), nullable=False),  # running | success | failed | halted
    Column("params", Text, nullable=False, default="{}"),
    Column("summary", Text, nullable=False, default="{}"),
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("payload_id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("source", String(40), nullable=False),  # carrier spec name, or "unknown"
    Column("origin", String(20), nullable=False),  # api | file | webhook
    Column("origin_ref", Text),  # file name or request path; never credentials
    Column("received_at", UTCDateTime, nullable=False),
    Column("run_id", String(250)),
    Column("body", LargeBinary, nullable=False),
    Column("parse_status", String(20), nullable=False),  # parsed | error
    Column("parse_error", Text),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", ID, primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text),
    Column("email", Text),
    Column("phone", Text),
    Column("locale", String(35), nullable=False),
    Column("timezone", String(64)),
    Column("email_opt_in", Boolean, nullable=False),
    Column("sms_opt_in", Boolean, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", ID, primary_key=True),
    Column("customer_id", ID, ForeignKey("customers.customer_id"), nullable=False, index=True),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("promised_by", String(40), nullable=False),  # as the shop gave it
    Column("promised_by_utc", UTCDateTime, nullable=False),  # end of that day, customer's zone
    Column("status", String(20), nullable=False),
    Column("channel", String(20)),
    Column("need_by", String(40)),  # optional: the customer's declared need-by date
    Column("order_value", Float),  # optional: order total in the shop's currency
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", ID, ForeignKey("orders.order_id"), primary_key=True),
    Column("line_id", ID, primary_key=True),
    Column("sku", String(100)),
    Column("title", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("shipment_id", ID, index=True),
)

shipments = Table(
    "shipments",
    metadata,
    Column("shipment_id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("carrier", String(30), nullable=False),
    Column("tracking_number", String(64), nullable=False),
    Column("service", String(100)),
    Column("shipped_at", UTCDateTime),
    Column("origin_postal_code", String(20)),
    Column("destination_postal_code", String(20)),
    Column("destination_country", String(2)),
    Index("ix_shipments_tracking", "carrier", "tracking_number"),
)

rejected_rows = Table(
    "rejected_rows",
    metadata,
    Column("rejection_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250)),
    Column("source", String(100), nullable=False),  # e.g. orders/customers.csv
    Column("row_ref", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

tracking_events = Table(
    "tracking_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("carrier", String(30), nullable=False),
    Column("tracking_number", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("local_time", String(40), nullable=False),  # ISO with the carrier's offset
    Column("status", String(30), nullable=False),
    Column("reason", String(40)),
    Column("code", String(60), nullable=False),
    Column("description", Text, nullable=False),
    Column("city", Text),
    Column("region", String(40)),
    Column("postal_code", String(20)),
    Column("country", String(3)),
    Column("payload_id", Integer, ForeignKey("raw_payloads.payload_id")),
    Column("first_seen_at", UTCDateTime, nullable=False),
    # The carrier's code says the parcel left the scan's place (a departure scan).
    Column("departed", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("carrier", "tracking_number", "occurred_at", "code", "status"),
)

eta_statements = Table(
    "eta_statements",
    metadata,
    Column("statement_id", Integer, primary_key=True, autoincrement=True),
    Column("carrier", String(30), nullable=False),
    Column("tracking_number", String(64), nullable=False),
    Column("stated_at", UTCDateTime, nullable=False),  # when we learned it (world time)
    Column("earliest", String(40)),  # date or ISO datetime as the carrier gave it
    Column("latest", String(40)),  # both empty: the carrier withdrew its ETA
    Column("payload_id", Integer, ForeignKey("raw_payloads.payload_id")),
    UniqueConstraint("carrier", "tracking_number", "stated_at"),
)

tracking_problems = Table(
    "tracking_problems",
    metadata,
    Column("problem_id", Integer, primary_key=True, autoincrement=True),
    Column("carrier", String(30), nullable=False),
    Column("tracking_number", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("code", String(60), nullable=False),
    Column("message", Text, nullable=False),
    Column("payload_id", Integer, ForeignKey("raw_payloads.payload_id")),
    UniqueConstraint("payload_id", "tracking_number", "kind", "code"),
)

delay_episodes = Table(
    "delay_episodes",
    metadata,
    Column("episode_id", ID, primary_key=True),
    Column("carrier", String(30), nullable=False),
    Column("tracking_number", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("cause", String(40), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("close_reason", String(40)),
    Column("version", Integer, nullable=False),
    Column("facts_hash", String(64), nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list of event ids
    Column("rules_version", String(40)),  # the detection rules that last judged it
    Column("incident_id", ID),  # the hub/area incident it belongs to, if any
    Column("facts", Text),  # JSON: the customer-relevant facts the version counts (cause, ETA)
    Index("ix_delay_episodes_tracking", "carrier", "tracking_number"),
)

eta_predictions = Table(
    "eta_predictions",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("episode_id", ID, primary_key=True),
    Column("earliest", String(40)),  # YYYY-MM-DD in the destination zone, or None (unknown)
    Column("latest", String(40)),
    Column("most_likely", String(40)),
    Column("confidence", Float),
    Column("method", String(40), nullable=False),
    Column("next_update_by", UTCDateTime),
    Column("p_late", Float),  # probability of arriving after promised_day
    Column("promised_day", String(10)),  # the parcel's earliest promised day (destination zone)
    Column("basis", String(80)),  # what the window was learned from (predictor and lane grain)
    Column("history", Integer),  # delivered parcels behind it
    Column("distribution", Text),  # JSON {day: probability}
    Column("rules_version", String(40)),
)

incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", ID, primary_key=True),
    Column("source", String(20), nullable=False),  # derived | feed
    Column("cause", String(40), nullable=False),
    Column("city", Text),
    Column("region", String(40)),
    Column("postal_code", String(20)),
    Column("country", String(3)),
    Column("area", String(60)),  # the rules' region of the facility
    Column("starts_at", UTCDateTime, nullable=False),
    Column("last_evidence_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime),  # None while it lasts
    Column("evidence", Text, nullable=False),  # JSON list of event ids
    Column("parcels", Integer, nullable=False),
    Column("rules_version", String(40)),
    Column("updated_at", UTCDateTime, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("notice_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=False, index=True),
    Column("first_run_id", String(250), nullable=False),
    Column("plan", Text, nullable=False),  # JSON: what targeting decided (parcels, ETA, cause)
    Column("facts", Text),  # JSON facts object the templates print (set by compose)
    Column("created_at", UTCDateTime, nullable=False),
)

notice_parcels = Table(
    "notice_parcels",
    metadata,
    Column("notice_id", ID, primary_key=True),
    Column("order_id", ID, primary_key=True),
    Column("shipment_id", ID, primary_key=True),
    Column("episode_id", ID, nullable=False, index=True),
    Index("ix_notice_parcels_order_id_shipment_id", "order_id", "shipment_id"),
)

run_notices = Table(
    "run_notices",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("notice_id", ID, primary_key=True),
    Column("channels", Text, nullable=False),  # JSON list of channels chosen for this run
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250), nullable=False, index=True),
    Column("notice_id", ID),
    Column("customer_id", ID, nullable=False, index=True),
    Column("order_ids", Text, nullable=False),  # JSON list
    Column("shipment_ids", Text, nullable=False),  # JSON list
    Column("channel", String(20)),
    Column("decision", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("eta_earliest", String(40)),
    Column("eta_latest", String(40)),
    Column("eta_confidence", Float),
    Column("cause", String(40)),
    Column("message_path", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("run_id", "customer_id", "notice_id", "channel", "decision"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("outbox_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250), nullable=False),
    Column("notice_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("subject", Text),
    Column("body_html", Text),
    Column("body_text", Text, nullable=False),
    Column("sms_segments", Integer, nullable=False, default=0),
    Column("template_version", String(64), nullable=False),
    Column("state", String(20), nullable=False),  # staged | published | quarantined | blocked
    Column("reasons", Text, nullable=False, default="[]"),
    UniqueConstraint("run_id", "notice_id", "channel"),
)

send_ledger = Table(
    "send_ledger",
    metadata,
    Column("send_key", String(64), primary_key=True),
    Column("notice_id", ID, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient_hash", String(64), nullable=False),
    Column("state", String(20), nullable=False),  # pending|sending|sent|failed_permanent|unknown
    Column("attempts", Integer, nullable=False, default=0),
    Column("provider", String(30), nullable=False),
    Column("provider_message_id", Text),
    Column("first_run_id", String(250), nullable=False),
    Column("claimed_by", String(250)),
    Column("last_error", Text),
    Column("message_path", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("worker", String(200)),  # host:pid:start of the process holding the claim
    Column("not_before", UTCDateTime),  # a pending key may not be claimed before this
    Column("retries", Integer),  # delayed retries after a confirmed delivery failure
)

# Delivery feedback (migration 0005): what providers tell us after the send.

suppressions = Table(
    "suppressions",
    metadata,
    Column("channel", String(20), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),  # never the address itself
    # opt_out | unsubscribe | bounce | spam_report | invalid_number | unreachable
    Column("kind", String(30), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("source", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),  # the event's own time: later wins
    Column("recorded_at", UTCDateTime, nullable=False),
)

provider_webhooks = Table(
    "provider_webhooks",
    metadata,
    Column("webhook_id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(20), nullable=False),  # sendgrid | twilio | oasis
    Column("endpoint", String(40), nullable=False),  # events | status | inbound | unsubscribe
    Column("sha256", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),  # exactly as received
    Column("status", String(20), nullable=False),  # accepted | rejected
    Column("reason", Text),
    Column("received_at", UTCDateTime, nullable=False),
    Column("last_received_at", UTCDateTime, nullable=False),
    Column("times_received", Integer, nullable=False),
    UniqueConstraint("provider", "endpoint", "sha256", "status"),
)

provider_events = Table(
    "provider_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(20), nullable=False),
    Column("dedupe_key", String(64), nullable=False, unique=True),  # message, event, time
    Column("provider_event_id", String(120)),  # sg_event_id: may change across retries
    Column("message_id", String(120)),
    Column("send_key", String(64), index=True),
    Column("event", String(40), nullable=False),
    Column("error_code", String(20)),
    Column("recipient_hash", String(64)),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("webhook_id", Integer, ForeignKey("provider_webhooks.webhook_id")),
    Column("effect", Text, nullable=False),  # what this event changed, or why nothing
    UniqueConstraint("provider", "provider_event_id"),
)

message_status = Table(
    "message_status",
    metadata,
    Column("send_key", String(64), primary_key=True),
    Column("provider", String(20), nullable=False),
    Column("provider_message_id", Text),
    Column("status", String(30), nullable=False),
    Column("rank", Integer, nullable=False),  # statuses only move to a higher rank
    Column("error_code", String(20)),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

shipment_labels = Table(
    "shipment_labels",
    metadata,
    # Every label (carrier, tracking number) a shipment has had: a relabelled parcel keeps
    # its shipment_id and gains a row here, so its history and notices stay continuous.
    Column("shipment_id", ID, primary_key=True),
    Column("carrier", String(30), primary_key=True),
    Column("tracking_number", String(64), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),  # world time of the run that saw it
    Index("ix_shipment_labels_tracking", "carrier", "tracking_number"),
)

cases = Table(
    "cases",
    metadata,
    # Escalations to a person: one row per case, with the whole context a support agent needs.
    Column("case_id", ID, primary_key=True),
    Column("order_id", ID, nullable=False, index=True),
    Column("customer_id", ID, nullable=False, index=True),
    Column("status", String(20), nullable=False),  # open | closed
    Column("priority", String(20), nullable=False),  # urgent | high | normal
    Column("triggers", Text, nullable=False),  # JSON list of {"key", "kind", "detail"}
    Column("suggested_resolution", Text, nullable=False),
    Column("notice_id", ID),  # the automated notice sent alongside, if any
    Column("opened_run_id", String(250), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),  # world time (the run's as-of)
    Column("updated_at", UTCDateTime, nullable=False),
    Column("context", Text),  # JSON: order, items, events, episodes, messages sent
    Column("helpdesk", String(40)),  # adapter name once exported
    Column("external_id", String(100)),  # the help desk's ticket id
    Column("exported_at", UTCDateTime),
    Column("export_error", Text),
    Column("closed_at", UTCDateTime),
    Column("close_reason", Text),
)

# Decisions by notice: "was this notice sent?" (follow-ups, the frequency cap, explain).
Index("ix_decisions_notice_id", decisions.c.notice_id)


# Order sources (shop databases): where each source's incremental extraction stands, and one
# row per extraction (counts per table, the shop-time window it covered, how it ended).
source_state = Table(
    "source_state",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("kind", String(20), nullable=False),  # sql
    Column("mapping", Text, nullable=False),  # mapping name or folder
    Column("mapping_hash", String(64), nullable=False),  # SQL files + parameters
    Column("watermark", UTCDateTime),  # shop time up to which every change is loaded
    Column("last_full_refresh_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

source_extractions = Table(
    "source_extractions",
    metadata,
    Column("extraction_id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False, index=True),
    Column("run_id", String(250)),
    Column("mode", String(20), nullable=False),  # incremental | full_refresh
    Column("reason", Text),  # why a full refresh ran
    Column("since", UTCDateTime),  # shop time the queries were asked from (None: everything)
    Column("until", UTCDateTime),  # shop time of the consistent snapshot
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False),  # running | success | failed
    Column("counts", Text, nullable=False, default="{}"),  # JSON per table
    Column("error", Text),
)

# Shipments one extraction read, per order: a stored shipment of such an order that the shop
# no longer returns was removed in the shop (e.g. a mistyped tracking number replaced).
source_seen_shipments = Table(
    "source_seen_shipments",
    metadata,
    Column("extraction_id", Integer, primary_key=True),
    Column("shipment_id", ID, primary_key=True),
    Column("order_id", ID, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("run_id", String(250), primary_key=True),  # one decision per halted run
    Column("decision", String(10), nullable=False),  # approve | reject
    Column("decided_by", Text, nullable=False),  # Airflow user (id and name) or CLI operator
    Column("reason", Text, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("blocked_rows", Integer, nullable=False, default=0),  # rows the decision covered
)
