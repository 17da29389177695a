// What a site using Uppy runs as its backend, as Uppy's docs describe it: an S3 client
// (the AWS SDK) that creates and completes multipart uploads and presigns requests.
// Bench-only, on 127.0.0.1, for the Uppy modes of upload.mjs.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, ListPartsCommand, PutBucketCorsCommand, PutObjectCommand, S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/**
 * Starts the backend for S3 storage `s3` ({endpoint, region, bucket, accessKeyId,
 * secretAccessKey}), storing under `prefix`, for pages on `origin`. Returns its URL and stop().
 */
export async function startUppyBackend({ s3, prefix, origin }) {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Presigned URLs must not carry a checksum of an empty body.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const Bucket = s3.bucket;
  // Uppy 6 calls storage itself (create, complete) from the page: it needs POST and DELETE.
  await client.send(new PutBucketCorsCommand({
    Bucket,
    CORSConfiguration: {
      CORSRules: [{
        AllowedOrigins: [origin], AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
        AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 3600,
      }],
    },
  }));
  const sign = (command) => getSignedUrl(client, command, { expiresIn: 3600 });
  const keyFor = (name) => `${prefix}uppy/${randomUUID()}-${name}`;

  const routes = {
    // Uppy 5's callbacks.
    async create({ name, type }) {
      const Key = keyFor(name);
      const out = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: type }));
      return { key: Key, uploadId: out.UploadId };
    },
    async signPart({ key, uploadId, partNumber }) {
      return { url: await sign(new UploadPartCommand({ Bucket, Key: key, UploadId: uploadId, PartNumber: partNumber })) };
    },
    async signPut({ name, type }) {
      const Key = keyFor(name);
      return { method: 'PUT', url: await sign(new PutObjectCommand({ Bucket, Key, ContentType: type })), headers: { 'content-type': type } };
    },
    async complete({ key, uploadId, parts }) {
      const out = await client.send(new CompleteMultipartUploadCommand({
        Bucket, Key: key, UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
      }));
      return { location: out.Location ?? '' };
    },
    async abort({ key, uploadId }) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }));
      return {};
    },
    async list({ key, uploadId }) {
      const out = await client.send(new ListPartsCommand({ Bucket, Key: key, UploadId: uploadId }));
      return (out.Parts ?? []).map((p) => ({ PartNumber: p.PartNumber, Size: p.Size, ETag: p.ETag }));
    },
    // Uppy 6's one callback: presign whatever request the page is about to send.
    async request(r) {
      const Key = r.uploadId ? r.key : r.method === 'DELETE' ? r.key : `${prefix}uppy/${r.key}`;
      const base = { Bucket, Key };
      let command;
      if (r.method === 'PUT' && r.uploadId) command = new UploadPartCommand({ ...base, UploadId: r.uploadId, PartNumber: r.partNumber });
      else if (r.method === 'PUT') command = new PutObjectCommand({ ...base, ContentType: r.contentType });
      else if (r.method === 'POST' && r.uploadId) command = new CompleteMultipartUploadCommand({ ...base, UploadId: r.uploadId });
      else if (r.method === 'POST') command = new CreateMultipartUploadCommand(base);
      else if (r.method === 'GET') command = new ListPartsCommand({ ...base, UploadId: r.uploadId });
      else if (r.method === 'DELETE' && r.uploadId) command = new AbortMultipartUploadCommand({ ...base, UploadId: r.uploadId });
      else command = new DeleteObjectCommand(base);
      return { url: await sign(command), key: Key };
    },
  };

  const server = createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': origin, 'access-control-allow-headers': 'content-type' };
    if (req.method === 'OPTIONS') { res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST' }).end(); return; }
    const route = routes[new URL(req.url, 'http://x').pathname.slice(1)];
    if (req.method !== 'POST' || !route) { res.writeHead(404, cors).end(); return; }
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = await route(JSON.parse(Buffer.concat(chunks).toString() || '{}'));
      res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (e) {
      res.writeHead(500, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ error: String(e) }));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((r) => server.close(r)),
  };
}
