-- compose.yaml: one database per service (each service owns its schema and migrations).
-- Run once by the postgres image on an empty data volume, as the POSTGRES_USER.
CREATE DATABASE ledgerline_invoicing;
CREATE DATABASE ledgerline_rendering;
CREATE DATABASE ledgerline_notification;
CREATE DATABASE ledgerline_export;
