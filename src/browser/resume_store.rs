//! Resume records in IndexedDB, one per unfinished upload, keyed by file fingerprint.

use crate::core::resume::{RecordError, ResumeRecord};
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

const DATABASE: &str = "partway";
const STORE: &str = "uploads";

/// The IndexedDB store of resume records.
pub struct ResumeStore {
    db: Rexie,
}

/// A stored record, read back: the record, or why it was unusable.
pub type Stored = (String, Result<ResumeRecord, RecordError>);

fn idb(e: rexie::Error) -> String {
    format!("IndexedDB: {e}")
}

impl ResumeStore {
    /// Opens (and on first use creates) the database.
    pub async fn open() -> Result<ResumeStore, String> {
        let db = Rexie::builder(DATABASE)
            .version(1)
            .add_object_store(ObjectStore::new(STORE))
            .build()
            .await
            .map_err(idb)?;
        Ok(ResumeStore { db })
    }

    /// Writes a record under `key`, replacing what was there.
    pub async fn put(&self, key: &str, record: &ResumeRecord) -> Result<(), String> {
        let value = JsValue::from_str(&crate::browser::json::to_text(record)?);
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(idb)?;
        tx.store(STORE)
            .map_err(idb)?
            .put(&value, Some(&JsValue::from_str(key)))
            .await
            .map_err(idb)?;
        tx.done().await.map_err(idb)?;
        Ok(())
    }

    /// Removes the record under `key`, if any.
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(idb)?;
        tx.store(STORE)
            .map_err(idb)?
            .delete(JsValue::from_str(key))
            .await
            .map_err(idb)?;
        tx.done().await.map_err(idb)?;
        Ok(())
    }

    /// Reads the record under `key` and checks it at `now_ms` (ms since the Unix epoch).
    pub async fn get(
        &self,
        key: &str,
        now_ms: u64,
    ) -> Result<Option<Result<ResumeRecord, RecordError>>, String> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(idb)?;
        let value = tx
            .store(STORE)
            .map_err(idb)?
            .get(JsValue::from_str(key))
            .await
            .map_err(idb)?;
        Ok(value.map(|v| parse(&v, now_ms)))
    }

    /// Every stored record, checked at `now_ms`.
    pub async fn all(&self, now_ms: u64) -> Result<Vec<Stored>, String> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(idb)?;
        let store = tx.store(STORE).map_err(idb)?;
        let pairs = store.scan(None, None, None, None).await.map_err(idb)?;
        Ok(pairs
            .into_iter()
            .map(|(k, v)| (k.as_string().unwrap_or_default(), parse(&v, now_ms)))
            .collect())
    }
}

/// A stored record read with the browser's JSON parser, then checked as the core says.
fn parse(value: &JsValue, now_ms: u64) -> Result<ResumeRecord, RecordError> {
    let text = value
        .as_string()
        .ok_or_else(|| RecordError::Corrupt("not a text record".into()))?;
    let js = crate::browser::json::parse(&text).map_err(RecordError::Corrupt)?;
    let schema = js_sys::Reflect::get(&js, &JsValue::from_str("schema"))
        .ok()
        .and_then(|s| s.as_f64());
    ResumeRecord::check_schema(schema)?;
    let record: ResumeRecord = crate::browser::json::from_js(js).map_err(RecordError::Corrupt)?;
    record.checked(now_ms)
}

/// Keeps one upload's record up to date without piling up writes: while a write runs,
/// newer states replace each other and only the latest is written next. A record with
/// thousands of parts is rewritten a bounded number of times, and always in order.
#[derive(Clone)]
pub struct RecordKeeper {
    store: std::rc::Rc<ResumeStore>,
    key: String,
    state: std::rc::Rc<std::cell::RefCell<KeeperState>>,
}

#[derive(Default)]
struct KeeperState {
    /// The next state to write: `Some(None)` deletes the record.
    pending: Option<Option<ResumeRecord>>,
    writing: bool,
}

impl RecordKeeper {
    /// A keeper of the record under `key`.
    pub fn new(store: std::rc::Rc<ResumeStore>, key: String) -> Self {
        RecordKeeper {
            store,
            key,
            state: Default::default(),
        }
    }

    /// Saves `record`, or deletes the record when `None`.
    pub fn save(&self, record: Option<ResumeRecord>) {
        let start = {
            let mut state = self.state.borrow_mut();
            state.pending = Some(record);
            !std::mem::replace(&mut state.writing, true)
        };
        if start {
            let me = self.clone();
            wasm_bindgen_futures::spawn_local(async move { me.flush().await });
        }
    }

    async fn flush(&self) {
        loop {
            let next = self.state.borrow_mut().pending.take();
            let Some(next) = next else { break };
            let result = match &next {
                Some(record) => self.store.put(&self.key, record).await,
                None => self.store.delete(&self.key).await,
            };
            if let Err(e) = result {
                // Resume is a safety net: losing a write costs a re-sent part at most.
                web_sys::console::warn_1(
                    &format!("partway: could not save resume state: {e}").into(),
                );
            }
        }
        self.state.borrow_mut().writing = false;
    }
}
