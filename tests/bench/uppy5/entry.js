// Uppy 5 as a site would set it up: @uppy/core + @uppy/aws-s3 at their defaults, its five
// callbacks answered by the site's backend (../uppy-backend.mjs). Bundled by uppy-bundle.mjs.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import { timedUpload } from '../uppy-run.js';

// `files` (many) or `file` (one).
window.benchUppy = async ({ backend, file, files }) => {
  const call = async (route, body) => {
    const res = await fetch(`${backend}/${route}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const uppy = new Uppy({ autoProceed: false }).use(AwsS3, {
    getUploadParameters: (f) => call('signPut', { name: f.name, type: f.type }),
    createMultipartUpload: (f) => call('create', { name: f.name, type: f.type }),
    signPart: (_f, { key, uploadId, partNumber }) => call('signPart', { key, uploadId, partNumber }),
    listParts: (_f, { key, uploadId }) => call('list', { key, uploadId }),
    abortMultipartUpload: (_f, { key, uploadId }) => call('abort', { key, uploadId }),
    completeMultipartUpload: (_f, { key, uploadId, parts }) => call('complete', { key, uploadId, parts }),
  });
  return timedUpload(uppy, files ?? [file], 'Uppy 5');
};
