-- The whole file's SHA-256 (hex) as the client read it, when it was asked to compute
-- one: kept on the upload from the complete request (a repeated or resumed complete
-- finds it there) and on the file, where the checks after upload compare it with the
-- stored bytes.
ALTER TABLE uploads ADD COLUMN client_sha256 TEXT;
ALTER TABLE files ADD COLUMN client_sha256 TEXT;
