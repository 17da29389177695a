-- Where storage keeps a file's thumbnail (images only), made by the job after upload.
ALTER TABLE files ADD COLUMN thumbnail_key TEXT;
