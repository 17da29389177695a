-- The checksum storage must report for the joined object, worked out at the claim from
-- the parts storage listed (for S3, the composite of the parts' SHA-256). An object
-- found already joined counts as this upload's only if it carries it.
ALTER TABLE uploads ADD COLUMN expected_checksum TEXT;
