// Uppy 6 as a site would set it up: @uppy/core + @uppy/aws-s3 at their defaults, with the
// `signRequest` callback answered by the site's backend (../uppy-backend.mjs); the page
// then talks to storage itself. Bundled by uppy-bundle.mjs.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import { timedUpload } from '../uppy-run.js';

// `files` (many) or `file` (one).
window.benchUppy = async ({ backend, file, files }) => {
  const uppy = new Uppy({ autoProceed: false }).use(AwsS3, {
    signRequest: async (request) => {
      const res = await fetch(`${backend}/request`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request),
      });
      if (!res.ok) throw new Error(`sign: ${res.status} ${await res.text()}`);
      return res.json();
    },
  });
  return timedUpload(uppy, files ?? [file], 'Uppy 6');
};
