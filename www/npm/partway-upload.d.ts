// Types of the <partway-upload> element, its events and the package's functions.
// Written by hand; the embedding contract in the README is the reference.

/** A file as the companion server recorded it. */
export interface PartwayFileInfo {
  id: string;
  name: string;
  size: number;
  content_type: string;
  /**
   * The whole file's SHA-256, hex, when the server computed it from the stored bytes
   * (local storage and one-part S3 files: at complete; other S3 files: by the checks
   * after upload, with `file-sha256`, so not yet in `partway-complete`).
   */
  sha256: string | null;
  /** With `file-sha256`: the whole file's SHA-256, hex, as the widget read it. */
  client_sha256?: string;
  /**
   * Storage's own checksum of the object: with `sha256` the composite
   * `<base64>-<parts>` (S3), with `crc64nvme` the whole object's CRC, base64.
   */
  checksum?: string | null;
  /** How storage checked the bytes. */
  checksum_mode?: PartwayChecksum;
  /**
   * The checks after upload: `pending` until they ran; `quarantined` when the content is
   * not what was declared or allowed (the file is then not served).
   */
  processing?: 'pending' | 'done' | 'quarantined' | 'failed';
  /** The type the file's first bytes show, when they show one. */
  detected_type?: string;
  /** Why it was quarantined, or its checks failed. */
  processing_note?: string;
  /** Whether the server made a thumbnail (images). */
  has_thumbnail?: boolean;
  /** Seconds since 1970. */
  created_at: number;
}

/**
 * `sha256`: each part's SHA-256, and the composite at complete. `crc64nvme`: each
 * part's CRC-64/NVME, and the whole file's, checked by storage over the joined object.
 */
export type PartwayChecksum = 'sha256' | 'crc64nvme';

/** A row's status, as its `data-status` attribute spells it. */
export type PartwayStatus =
  | 'queued' | 'hashing' | 'uploading' | 'paused' | 'done' | 'failed' | 'cancelled';

/** Why a restriction refused a file (no byte was sent, no request made). */
export type PartwayRejectCode =
  | 'type_not_allowed' | 'file_too_large' | 'too_many_files' | 'total_too_large';

/** Why an upload failed: the server's error codes, plus the client's own. */
export type PartwayErrorCode =
  | 'network' | 'timeout' | 'url_expired' | 'file_unreadable' | 'http_error'
  | 'invalid_request' | 'unauthorized' | 'not_found' | 'file_too_large'
  | 'type_not_allowed' | 'quota_exceeded' | 'upload_not_active' | 'part_mismatch'
  | 'checksum_mismatch' | 'signature_invalid' | 'quarantined' | 'internal' | 'busy' | 'too_many_uploads'
  | 'rate_limited' | 'unknown';

export interface PartwayAddDetail {
  id: string;
  name: string;
  size: number;
  type: string;
  /** The file's path inside a dropped folder. */
  relativePath?: string;
}

export interface PartwayRejectDetail {
  name: string;
  size: number;
  code: PartwayRejectCode;
  message: string;
}

export interface PartwayProgressDetail {
  id: string;
  bytesSent: number;
  bytesTotal: number;
  /** 0 to 100; never decreases. */
  percent: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
}

export interface PartwayCompleteDetail {
  id: string;
  file: PartwayFileInfo;
  /** Absolute, signed, needs no token; it expires. */
  downloadUrl: string;
}

export interface PartwayErrorDetail {
  id: string;
  code: PartwayErrorCode;
  message: string;
  /** Whether `retry(id)` may succeed without changing anything. */
  retryable: boolean;
}

export interface PartwayCancelDetail {
  id: string;
}

export interface PartwayIdleDetail {
  done: number;
  failed: number;
  cancelled: number;
}

/** An upload, as a change made elsewhere tells of it. */
export interface PartwayUploadSummary {
  id: string;
  name: string;
  size: number;
}

/**
 * A change to the user's files made elsewhere (another tab, device or app), with the
 * `live` attribute. `id` numbers the user's changes.
 */
export interface PartwayRemoteDetail {
  id: number;
  type: 'file.created' | 'file.deleted' | 'file.processed' | 'upload.created' | 'upload.aborted';
  /** For `file.*`. */
  file?: PartwayFileInfo;
  /** For `upload.*`; for `file.created`, the upload that stored it. */
  upload?: PartwayUploadSummary;
}

/** The element's events; all bubble and cross shadow roots. */
export interface PartwayEventMap {
  'partway-add': CustomEvent<PartwayAddDetail>;
  'partway-reject': CustomEvent<PartwayRejectDetail>;
  'partway-progress': CustomEvent<PartwayProgressDetail>;
  'partway-complete': CustomEvent<PartwayCompleteDetail>;
  'partway-error': CustomEvent<PartwayErrorDetail>;
  'partway-cancel': CustomEvent<PartwayCancelDetail>;
  'partway-idle': CustomEvent<PartwayIdleDetail>;
  'partway-remote': CustomEvent<PartwayRemoteDetail>;
}

/** One row of the `files` snapshot. */
export interface PartwayFileSnapshot {
  id: string;
  name: string;
  size: number;
  type: string;
  relativePath?: string;
  status: PartwayStatus;
  percent: number;
  uploadId: string | null;
  file: PartwayFileInfo | null;
  downloadUrl: string | null;
  /** Why the row failed; a row refused by a restriction carries the reject code. */
  error: { code: PartwayErrorCode | PartwayRejectCode; message: string } | null;
}

/** Keys of the words the widget shows; `messages` may override any of them. */
export type PartwayMessageKey =
  | 'dropHint' | 'dropHintDisabled' | 'pauseAll' | 'resumeAll' | 'pause' | 'resume'
  | 'cancel' | 'retry' | 'download' | 'allFiles' | 'progressOf' | 'statusQueued'
  | 'statusHashing' | 'statusUploading' | 'statusPaused' | 'statusDone' | 'statusFailed'
  | 'statusCancelled' | 'timeLeft' | 'announceDone' | 'announceFailed' | 'announceManyDone'
  | 'announceMany' | 'announceRejected'
  | 'rejectType' | 'rejectSize' | 'rejectCount' | 'rejectTotal' | 'offline' | 'unfinished'
  | 'unfinishedItem' | 'noteResumed' | 'noteGone' | 'noteUnchecked' | 'recordCorrupt'
  | 'recordOtherVersion' | 'recordExpired' | 'recordInconsistent' | 'errorNetwork'
  | 'errorTimeout' | 'errorUrlExpired' | 'errorUnreadable' | 'errorTooLarge' | 'errorType'
  | 'errorQuota' | 'errorSignIn' | 'errorChecksum' | 'errorGeneric' | 'errorHttp'
  | 'errorPartGaveUp' | 'processingPending' | 'processingQuarantined' | 'processingFailed';

export type PartwayMessages = Partial<Record<PartwayMessageKey, string>>;

/** Returns a bearer token for the companion server; called lazily and after a 401. */
export type PartwayGetToken = () => string | Promise<string>;

/** The <partway-upload> element. */
export interface PartwayUploadElement extends HTMLElement {
  /** Called before the first API request and once again after a 401. */
  getToken?: PartwayGetToken;
  /** Per-element overrides of the widget's words. */
  messages: PartwayMessages;
  /** A snapshot of every row. */
  readonly files: PartwayFileSnapshot[];
  /** Adds files as if picked; restrictions apply. */
  addFiles(files: FileList | File[]): void;
  pauseAll(): void;
  resumeAll(): void;
  cancelAll(): void;
  /** Tries a failed row again, from what storage already holds. */
  retry(id: string): void;
  /** Removes finished rows and starts the `partway-idle` counts again. */
  clear(): void;

  addEventListener<K extends keyof PartwayEventMap>(
    type: K, listener: (this: PartwayUploadElement, ev: PartwayEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener<K extends keyof HTMLElementEventMap>(
    type: K, listener: (this: PartwayUploadElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(
    type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PartwayEventMap>(
    type: K, listener: (this: PartwayUploadElement, ev: PartwayEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(
    type: K, listener: (this: PartwayUploadElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(
    type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions): void;
}

/** A size: bytes, or text such as `"500 MiB"` or `"2 GB"`. */
export type PartwaySize = number | string;

/** The options of `mount()`: the element's attributes in camelCase, and its properties. */
export interface PartwayOptions {
  /** API base URL; default the page's origin. */
  endpoint?: string;
  /** A static bearer token. */
  token?: string;
  getToken?: PartwayGetToken;
  /** As on `<input type=file>`: `image/*,.pdf`. */
  accept?: string;
  maxFileSize?: PartwaySize;
  maxTotalSize?: PartwaySize;
  maxFiles?: number;
  /** Default true. */
  multiple?: boolean;
  /** Parts in flight per file, 1 to 16. */
  parallel?: number;
  /** Files uploading at once, 1 to 16 (default 4); a file of one part counts a quarter, one up to 1 MiB a sixteenth. */
  parallelFiles?: number;
  /** Seconds without progress before a part is sent again (default 30). */
  partTimeout?: number;
  /** Seconds before an unanswered API call is made again (default 30). */
  apiTimeout?: number;
  partSize?: PartwaySize;
  /** How storage checks the bytes (default `sha256`). */
  checksum?: PartwayChecksum;
  /** Also send the whole file's SHA-256, read as a stream (attribute `file-sha256`). */
  fileSha256?: boolean;
  /** BCP 47; default the page's language. */
  locale?: string;
  disabled?: boolean;
  /** Subscribe to the user's file changes made elsewhere (`partway-remote`). */
  live?: boolean;
  messages?: PartwayMessages;
  /** Where the wasm is served, when not next to the module (a CDN). */
  wasmUrl?: string | URL;
}

/** Loads the wasm (once) and registers <partway-upload>. */
export function load(options?: { wasmUrl?: string | URL }): Promise<CustomElementConstructor>;

/** Creates a configured <partway-upload> inside `target` and returns it. */
export function mount(target: Element, options?: PartwayOptions): Promise<PartwayUploadElement>;

declare global {
  interface HTMLElementTagNameMap {
    'partway-upload': PartwayUploadElement;
  }
}
