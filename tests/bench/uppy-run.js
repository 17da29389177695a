// Shared by the Uppy entries: adds the files, uploads them, and times add to done in the page.
export async function timedUpload(uppy, files, label) {
  const t0 = performance.now();
  uppy.addFiles(files.map((f) => ({ name: f.name, type: f.type || 'application/octet-stream', data: f })));
  const result = await uppy.upload();
  const seconds = (performance.now() - t0) / 1000;
  if (!result || result.failed.length > 0 || result.successful.length !== files.length) {
    throw new Error(`${label} failed: ${result?.failed?.map((f) => String(f.error)).join('; ')}`);
  }
  return { seconds };
}
