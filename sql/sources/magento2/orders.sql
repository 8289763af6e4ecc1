-- Magento 2.4: orders changed since :since (sales_order.updated_at changes on every state
-- change, so cancellations, refunds and shipments arrive as changed orders).
-- order_id is the increment_id customers see ("000000123").
-- Status: state canceled -> cancelled, closed (fully refunded) -> refunded, a custom status
-- "delivered" -> delivered, every other state (new, pending_payment, processing, complete,
-- holded, payment_review) -> open. "complete" means invoiced and shipped, not delivered.
-- promised_by and channel are NULL: mapping.toml's promise_days and default_channel apply.
SELECT so.increment_id AS order_id,
       CASE WHEN so.customer_id IS NULL THEN CONCAT('guest-', so.increment_id)
            ELSE CONCAT('', so.customer_id) END AS customer_id,
       so.created_at AS placed_at,
       NULL AS promised_by,
       CASE WHEN so.status = 'delivered' THEN 'delivered'
            WHEN so.state = 'canceled' THEN 'cancelled'
            WHEN so.state = 'closed' THEN 'refunded'
            ELSE 'open' END AS status,
       NULL AS channel
FROM {prefix}sales_order so
WHERE so.updated_at >= :since
