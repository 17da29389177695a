// Shared by the Uppy entries: adds one file, uploads it, and times add to done in the page.
export async function timedUpload(uppy, file, label) {
  const t0 = performance.now();
  uppy.addFile({ name: file.name, type: file.type || 'application/octet-stream', data: file });
  const result = await uppy.upload();
  const seconds = (performance.now() - t0) / 1000;
  if (!result || result.failed.length > 0 || result.successful.length !== 1) {
    throw new Error(`${label} failed: ${result?.failed?.map((f) => String(f.error)).join('; ')}`);
  }
  return { seconds };
}
