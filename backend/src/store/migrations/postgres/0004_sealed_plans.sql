-- A saved plan awaiting approval is sealed in the vault (AES-256-GCM, AAD
-- bound to the run and project ids): plan_blob now holds the base64
-- ciphertext, plan_nonce its nonce and plan_key_id the vault key that sealed
-- it. A row with plan_blob but no plan_key_id is a plan stored in the clear
-- before this migration: it is still applied once approved, and cleared when
-- its run ends. Plans of runs that have ended are of no use: dropped here.
ALTER TABLE runs ADD COLUMN plan_key_id TEXT;
ALTER TABLE runs ADD COLUMN plan_nonce TEXT;
UPDATE runs SET plan_blob = NULL WHERE status IN ('succeeded', 'failed', 'canceled');
