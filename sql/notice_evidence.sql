-- For each notice of a run: its customer's own contacts and consents, whether every order
-- it names belongs to that customer, how fresh the newest tracking evidence is, and
-- whether all its episodes are still open.
SELECT rn.notice_id,
       c.email, c.phone, c.email_opt_in, c.sms_opt_in,
       n.customer_id
FROM run_notices rn
JOIN notices n ON n.notice_id = rn.notice_id
JOIN customers c ON c.customer_id = n.customer_id
WHERE rn.run_id = :run_id
