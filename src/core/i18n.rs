//! Every word the widget shows, per locale, with per-element overrides (the element's
//! `messages` property). Sizes and times are written for the locale too.

use crate::core::fail::{FailCode, FailReason};
use crate::core::note::Note;
use crate::core::resume::RecordError;
use crate::core::wire::ErrorCode;
use crate::core::FileStatus;
use std::collections::HashMap;
use std::time::Duration;

/// The locales with a full table; any other falls back to English.
pub const LOCALES: [&str; 3] = ["en", "de", "fr"];

/// Message keys, as `messages` overrides name them, with their English text.
const EN: &[(&str, &str)] = &[
    (
        "dropHint",
        "Drop files here, paste them, or press to choose",
    ),
    ("dropHintDisabled", "Uploads are turned off"),
    ("pauseAll", "Pause all"),
    ("resumeAll", "Resume all"),
    ("pause", "Pause"),
    ("resume", "Resume"),
    ("cancel", "Cancel"),
    ("retry", "Retry"),
    ("download", "Download"),
    ("allFiles", "All files"),
    ("progressOf", "Upload of {name}"),
    ("statusQueued", "waiting"),
    ("statusHashing", "preparing"),
    ("statusUploading", "uploading"),
    ("statusPaused", "paused"),
    ("statusDone", "done"),
    ("statusFailed", "failed"),
    ("statusCancelled", "cancelled"),
    ("timeLeft", "{time} left"),
    ("announceDone", "{name} uploaded."),
    ("announceFailed", "{name} failed: {message}"),
    ("announceManyDone", "{count} files uploaded."),
    ("announceMany", "Uploaded: {done}. Failed: {failed}."),
    ("announceRejected", "{name} was not added: {message}"),
    ("rejectType", "This type of file is not accepted here."),
    ("rejectSize", "This file is larger than {limit}."),
    ("rejectCount", "No more than {limit} files can be added."),
    ("rejectTotal", "All files together may not exceed {limit}."),
    (
        "offline",
        "Offline: paused, will go on when the network returns.",
    ),
    (
        "unfinished",
        "Unfinished uploads: pick the same file again to continue where it stopped.",
    ),
    (
        "unfinishedItem",
        "{name} ({size}): {done} of {count} parts stored",
    ),
    (
        "noteResumed",
        "Resumed: {stored} of {count} parts were already stored.",
    ),
    (
        "noteGone",
        "The earlier upload of this file is no longer in storage; starting over.",
    ),
    (
        "noteUnchecked",
        "Could not check the earlier upload; starting over.",
    ),
    (
        "recordCorrupt",
        "A saved upload could not be read and was discarded.",
    ),
    (
        "recordOtherVersion",
        "A saved upload from another version was discarded.",
    ),
    (
        "recordExpired",
        "A saved upload had expired and was discarded.",
    ),
    (
        "recordInconsistent",
        "A saved upload was inconsistent and was discarded.",
    ),
    (
        "errorNetwork",
        "The connection kept failing. Check the network, then retry.",
    ),
    (
        "errorTimeout",
        "The server stopped answering. Retry in a moment.",
    ),
    (
        "errorUrlExpired",
        "Upload links kept expiring before use: this computer's clock may be wrong.",
    ),
    (
        "errorUnreadable",
        "The file could not be read. Was it moved or changed?",
    ),
    (
        "errorTooLarge",
        "This file is over the server's size limit.",
    ),
    ("errorType", "The server does not accept this type of file."),
    ("errorQuota", "Your storage quota is used up."),
    (
        "errorSignIn",
        "The upload server refused the sign-in; sign in again.",
    ),
    ("errorGeneric", "The upload failed."),
    ("errorHttp", "The upload was refused (HTTP {status})."),
    (
        "errorPartGaveUp",
        "Part {part} failed {attempts} times; last error: {last}",
    ),
    (
        "errorChecksum",
        "Part of the file arrived damaged and was refused. Retry to send it again.",
    ),
    ("processingPending", "Checking the file…"),
    (
        "processingQuarantined",
        "The server quarantined this file: {reason}",
    ),
    ("processingFailed", "The server could not check this file."),
];

const DE: &[(&str, &str)] = &[
    (
        "dropHint",
        "Dateien hierher ziehen, einfügen oder zum Auswählen drücken",
    ),
    ("dropHintDisabled", "Hochladen ist ausgeschaltet"),
    ("pauseAll", "Alle anhalten"),
    ("resumeAll", "Alle fortsetzen"),
    ("pause", "Anhalten"),
    ("resume", "Fortsetzen"),
    ("cancel", "Abbrechen"),
    ("retry", "Erneut versuchen"),
    ("download", "Herunterladen"),
    ("allFiles", "Alle Dateien"),
    ("progressOf", "Hochladen von {name}"),
    ("statusQueued", "wartet"),
    ("statusHashing", "wird vorbereitet"),
    ("statusUploading", "wird hochgeladen"),
    ("statusPaused", "angehalten"),
    ("statusDone", "fertig"),
    ("statusFailed", "fehlgeschlagen"),
    ("statusCancelled", "abgebrochen"),
    ("timeLeft", "noch {time}"),
    ("announceDone", "{name} hochgeladen."),
    ("announceFailed", "{name} fehlgeschlagen: {message}"),
    ("announceManyDone", "{count} Dateien hochgeladen."),
    ("announceMany", "Hochgeladen: {done}. Fehlgeschlagen: {failed}."),
    (
        "announceRejected",
        "{name} wurde nicht hinzugefügt: {message}",
    ),
    (
        "rejectType",
        "Dateien dieses Typs werden hier nicht angenommen.",
    ),
    ("rejectSize", "Diese Datei ist größer als {limit}."),
    (
        "rejectCount",
        "Es können höchstens {limit} Dateien hinzugefügt werden.",
    ),
    (
        "rejectTotal",
        "Alle Dateien zusammen dürfen {limit} nicht überschreiten.",
    ),
    (
        "offline",
        "Offline: angehalten, geht weiter, sobald das Netz zurück ist.",
    ),
    (
        "unfinished",
        "Unfertige Uploads: dieselbe Datei erneut wählen, um dort weiterzumachen.",
    ),
    (
        "unfinishedItem",
        "{name} ({size}): {done} von {count} Teilen gespeichert",
    ),
    (
        "noteResumed",
        "Fortgesetzt: {stored} von {count} Teilen waren schon gespeichert.",
    ),
    (
        "noteGone",
        "Der frühere Upload dieser Datei ist nicht mehr im Speicher; beginnt neu.",
    ),
    (
        "noteUnchecked",
        "Der frühere Upload ließ sich nicht prüfen; beginnt neu.",
    ),
    (
        "recordCorrupt",
        "Ein gespeicherter Upload war unlesbar und wurde verworfen.",
    ),
    (
        "recordOtherVersion",
        "Ein gespeicherter Upload einer anderen Version wurde verworfen.",
    ),
    (
        "recordExpired",
        "Ein gespeicherter Upload war abgelaufen und wurde verworfen.",
    ),
    (
        "recordInconsistent",
        "Ein gespeicherter Upload war widersprüchlich und wurde verworfen.",
    ),
    (
        "errorNetwork",
        "Die Verbindung brach immer wieder ab. Netz prüfen, dann erneut versuchen.",
    ),
    (
        "errorTimeout",
        "Der Server antwortet nicht mehr. Gleich erneut versuchen.",
    ),
    (
        "errorUrlExpired",
        "Upload-Links liefen vor der Nutzung ab: die Uhr dieses Computers geht womöglich falsch.",
    ),
    (
        "errorUnreadable",
        "Die Datei ließ sich nicht lesen. Wurde sie verschoben oder geändert?",
    ),
    (
        "errorTooLarge",
        "Diese Datei überschreitet die Größengrenze des Servers.",
    ),
    (
        "errorType",
        "Der Server nimmt Dateien dieses Typs nicht an.",
    ),
    ("errorQuota", "Ihr Speicherkontingent ist aufgebraucht."),
    (
        "errorSignIn",
        "Der Upload-Server hat die Anmeldung abgelehnt; bitte neu anmelden.",
    ),
    ("errorGeneric", "Das Hochladen ist fehlgeschlagen."),
    ("errorHttp", "Das Hochladen wurde abgelehnt (HTTP {status})."),
    ("errorPartGaveUp", "Teil {part} ist {attempts}-mal fehlgeschlagen; zuletzt: {last}"),
    ("errorChecksum", "Ein Teil der Datei kam beschädigt an und wurde abgelehnt. Erneut versuchen, um ihn neu zu senden."),
    ("processingPending", "Die Datei wird geprüft …"),
    ("processingQuarantined", "Der Server hat diese Datei unter Quarantäne gestellt: {reason}"),
    ("processingFailed", "Der Server konnte diese Datei nicht prüfen."),
];

const FR: &[(&str, &str)] = &[
    (
        "dropHint",
        "Déposez des fichiers ici, collez-les ou appuyez pour choisir",
    ),
    ("dropHintDisabled", "L’envoi est désactivé"),
    ("pauseAll", "Tout suspendre"),
    ("resumeAll", "Tout reprendre"),
    ("pause", "Suspendre"),
    ("resume", "Reprendre"),
    ("cancel", "Annuler"),
    ("retry", "Réessayer"),
    ("download", "Télécharger"),
    ("allFiles", "Tous les fichiers"),
    ("progressOf", "Envoi de {name}"),
    ("statusQueued", "en attente"),
    ("statusHashing", "préparation"),
    ("statusUploading", "envoi"),
    ("statusPaused", "suspendu"),
    ("statusDone", "terminé"),
    ("statusFailed", "échec"),
    ("statusCancelled", "annulé"),
    ("timeLeft", "{time} restantes"),
    ("announceDone", "{name} envoyé."),
    ("announceFailed", "Échec de {name} : {message}"),
    ("announceManyDone", "{count} fichiers envoyés."),
    ("announceMany", "Envoyés : {done}. En échec : {failed}."),
    ("announceRejected", "{name} n’a pas été ajouté : {message}"),
    ("rejectType", "Ce type de fichier n’est pas accepté ici."),
    ("rejectSize", "Ce fichier dépasse {limit}."),
    ("rejectCount", "Pas plus de {limit} fichiers."),
    (
        "rejectTotal",
        "L’ensemble des fichiers ne peut dépasser {limit}.",
    ),
    (
        "offline",
        "Hors ligne : suspendu, reprendra au retour du réseau.",
    ),
    (
        "unfinished",
        "Envois inachevés : choisissez à nouveau le même fichier pour reprendre.",
    ),
    (
        "unfinishedItem",
        "{name} ({size}) : {done} parties sur {count} stockées",
    ),    ("noteResumed", "Repris : {stored} parties sur {count} étaient déjà stockées."),
    ("noteGone", "L’envoi précédent de ce fichier n’est plus stocké ; reprise depuis le début."),
    ("noteUnchecked", "Impossible de vérifier l’envoi précédent ; reprise depuis le début."),
    ("recordCorrupt", "Un envoi enregistré était illisible et a été abandonné."),
    ("recordOtherVersion", "Un envoi enregistré par une autre version a été abandonné."),
    ("recordExpired", "Un envoi enregistré avait expiré et a été abandonné."),
    ("recordInconsistent", "Un envoi enregistré était incohérent et a été abandonné."),
    ("errorNetwork", "La connexion échoue sans cesse. Vérifiez le réseau, puis réessayez."),
    ("errorTimeout", "Le serveur ne répond plus. Réessayez dans un instant."),
    ("errorUrlExpired", "Les liens d’envoi expiraient avant usage : l’horloge de cet ordinateur est peut-être fausse."),
    ("errorUnreadable", "Le fichier est illisible. A-t-il été déplacé ou modifié ?"),
    ("errorTooLarge", "Ce fichier dépasse la taille maximale du serveur."),
    ("errorType", "Le serveur n’accepte pas ce type de fichier."),
    ("errorQuota", "Votre quota de stockage est épuisé."),
    ("errorSignIn", "Le serveur d’envoi a refusé la connexion ; reconnectez-vous."),
    ("errorGeneric", "L’envoi a échoué."),
    ("errorHttp", "L’envoi a été refusé (HTTP {status})."),
    ("errorPartGaveUp", "La partie {part} a échoué {attempts} fois ; dernière erreur : {last}"),
    ("errorChecksum", "Une partie du fichier est arrivée abîmée et a été refusée. Réessayez pour la renvoyer."),
    ("processingPending", "Vérification du fichier…"),
    ("processingQuarantined", "Le serveur a mis ce fichier en quarantaine : {reason}"),
    ("processingFailed", "Le serveur n’a pas pu vérifier ce fichier."),
];

/// The words of one element: its locale's table under the page's overrides.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Messages {
    locale: &'static str,
    overrides: HashMap<String, String>,
}

impl Messages {
    /// Messages for a BCP 47 tag (`de-CH` uses `de`); unknown languages get English.
    pub fn new(tag: &str, overrides: HashMap<String, String>) -> Self {
        let lang = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let locale = LOCALES.into_iter().find(|l| *l == lang).unwrap_or("en");
        Messages { locale, overrides }
    }

    /// The locale in use (`en`, `de`, `fr`).
    pub fn locale(&self) -> &'static str {
        self.locale
    }

    /// The text of `key`, with `{name}`-style placeholders filled from `args`.
    pub fn get(&self, key: &str, args: &[(&str, &str)]) -> String {
        let table = match self.locale {
            "de" => DE,
            "fr" => FR,
            _ => EN,
        };
        let lookup =
            |t: &[(&str, &'static str)]| t.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let template = self
            .overrides
            .get(key)
            .map(String::as_str)
            .or_else(|| lookup(table))
            .or_else(|| lookup(EN))
            .unwrap_or(key);
        args.iter()
            .fold(template.to_string(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// What the live region says of files that ended together, each as `(failed, its
    /// sentence)`: one file's sentence, or for several the counts, which a screen reader
    /// can read out.
    pub fn endings(&self, mut endings: Vec<(bool, String)>) -> Option<String> {
        if endings.len() < 2 {
            return endings.pop().map(|(_, sentence)| sentence);
        }
        let failed = endings.iter().filter(|(failed, _)| *failed).count();
        let done = (endings.len() - failed).to_string();
        Some(match failed {
            0 => self.get("announceManyDone", &[("count", &done)]),
            _ => self.get(
                "announceMany",
                &[("done", &done), ("failed", &failed.to_string())],
            ),
        })
    }

    /// The word for a status.
    pub fn status(&self, status: FileStatus) -> String {
        let key = match status {
            FileStatus::Queued => "statusQueued",
            FileStatus::Hashing => "statusHashing",
            FileStatus::Uploading => "statusUploading",
            FileStatus::Paused => "statusPaused",
            FileStatus::Done => "statusDone",
            FileStatus::Failed => "statusFailed",
            FileStatus::Cancelled => "statusCancelled",
        };
        self.get(key, &[])
    }

    /// A note on a row.
    pub fn note(&self, note: &Note) -> String {
        match note {
            Note::Resumed { stored, count } => self.get(
                "noteResumed",
                &[
                    ("stored", &stored.to_string()),
                    ("count", &count.to_string()),
                ],
            ),
            Note::Gone => self.get("noteGone", &[]),
            Note::Unchecked => self.get("noteUnchecked", &[]),
            Note::Dropped(reason) => self.dropped(reason),
        }
    }

    /// Why a saved upload was dropped.
    pub fn dropped(&self, reason: &RecordError) -> String {
        let key = match reason {
            RecordError::Corrupt(_) => "recordCorrupt",
            RecordError::OtherSchema(_) => "recordOtherVersion",
            RecordError::Expired => "recordExpired",
            RecordError::Inconsistent => "recordInconsistent",
        };
        self.get(key, &[])
    }

    /// Why a file failed, for the person: the sentence of its code, or, for codes with
    /// none (server trouble, a refusal the element worded itself), its reason in words.
    pub fn failure(&self, code: Option<FailCode>, reason: Option<&FailReason>) -> String {
        let key = match code {
            Some(FailCode::Network) => "errorNetwork",
            Some(FailCode::Timeout) => "errorTimeout",
            Some(FailCode::UrlExpired) => "errorUrlExpired",
            Some(FailCode::Unreadable) => "errorUnreadable",
            Some(FailCode::Server(ErrorCode::FileTooLarge)) => "errorTooLarge",
            Some(FailCode::Server(ErrorCode::TypeNotAllowed)) => "errorType",
            Some(FailCode::Server(ErrorCode::QuotaExceeded)) => "errorQuota",
            Some(FailCode::Server(ErrorCode::Unauthorized)) => "errorSignIn",
            Some(FailCode::Server(ErrorCode::ChecksumMismatch)) => "errorChecksum",
            _ => return reason.map_or_else(|| self.get("errorGeneric", &[]), |r| self.reason(r)),
        };
        self.get(key, &[])
    }

    /// A failure's reason in words.
    pub fn reason(&self, reason: &FailReason) -> String {
        match reason {
            FailReason::Told { words } if !words.is_empty() => words.clone(),
            FailReason::Told { .. } => self.get("errorGeneric", &[]),
            FailReason::Status { status } => {
                self.get("errorHttp", &[("status", &status.to_string())])
            }
            FailReason::Network => self.get("errorNetwork", &[]),
            FailReason::Timeout => self.get("errorTimeout", &[]),
            FailReason::PartGaveUp {
                part,
                attempts,
                last,
            } => self.get(
                "errorPartGaveUp",
                &[
                    ("part", &part.to_string()),
                    ("attempts", &attempts.to_string()),
                    ("last", &self.reason(last)),
                ],
            ),
            FailReason::UrlsKeptExpiring { .. } => self.get("errorUrlExpired", &[]),
        }
    }

    /// `1536` → `1.5 KiB` (`1,5 KiB` where the locale writes a decimal comma).
    pub fn bytes(&self, n: u64) -> String {
        let text = crate::core::format::bytes(n);
        if self.locale == "en" {
            text
        } else {
            text.replacen('.', ",", 1)
        }
    }

    /// Bytes per second, or nothing before there is a speed.
    pub fn speed(&self, bytes_per_second: f64) -> String {
        if bytes_per_second < 1.0 {
            return String::new();
        }
        format!("{}/s", self.bytes(bytes_per_second as u64))
    }

    /// Time left (`3 min 05 s left`), or nothing when unknown.
    pub fn eta(&self, left: Option<Duration>) -> String {
        let Some(left) = left else {
            return String::new();
        };
        let time = crate::core::format::duration(left);
        self.get("timeLeft", &[("time", &time)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_key() {
        for table in [DE, FR] {
            for (key, _) in EN {
                assert!(table.iter().any(|(k, _)| k == key), "{key}");
            }
            assert_eq!(table.len(), EN.len());
        }
    }

    #[test]
    fn the_typescript_declarations_name_every_key() {
        let dts = include_str!("../../www/npm/partway-upload.d.ts");
        for (key, _) in EN {
            assert!(
                dts.contains(&format!("'{key}'")),
                "{key} missing from PartwayMessageKey"
            );
        }
    }

    #[test]
    fn files_that_end_together_are_counted_not_read_out_one_by_one() {
        let en = Messages::new("en", HashMap::new());
        assert_eq!(en.endings(Vec::new()), None);
        let one = vec![(false, "a.bin uploaded.".to_string())];
        assert_eq!(en.endings(one).as_deref(), Some("a.bin uploaded."));
        let done = |n| {
            (0..n)
                .map(|i| (false, format!("{i} uploaded.")))
                .collect::<Vec<_>>()
        };
        assert_eq!(en.endings(done(3)).as_deref(), Some("3 files uploaded."));
        let mut mixed = done(2);
        mixed.push((true, "c failed.".into()));
        assert_eq!(
            en.endings(mixed.clone()).as_deref(),
            Some("Uploaded: 2. Failed: 1.")
        );
        let de = Messages::new("de", HashMap::new());
        assert_eq!(
            de.endings(mixed).as_deref(),
            Some("Hochgeladen: 2. Fehlgeschlagen: 1.")
        );
    }

    #[test]
    fn locale_overrides_and_placeholders() {
        let de = Messages::new("de-CH", HashMap::new());
        assert_eq!(de.locale(), "de");
        assert_eq!(de.get("cancel", &[]), "Abbrechen");
        assert_eq!(de.bytes(1536), "1,5 KiB");
        assert_eq!(de.speed(2.0 * 1024.0 * 1024.0), "2,0 MiB/s");
        assert_eq!(de.eta(Some(Duration::from_secs(42))), "noch 42 s");
        assert_eq!(de.speed(0.5), "");
        assert_eq!(Messages::new("ja", HashMap::new()).locale(), "en");
        let custom = Messages::new(
            "en",
            [("cancel".to_string(), "Stop {name}".to_string())].into(),
        );
        assert_eq!(custom.get("cancel", &[("name", "a.txt")]), "Stop a.txt");
        assert_eq!(custom.get("no-such-key", &[]), "no-such-key");
    }

    #[test]
    fn failures_and_notes_are_worded_per_locale() {
        let fr = Messages::new("fr", HashMap::new());
        let en = Messages::new("en", HashMap::new());
        let de = Messages::new("de", HashMap::new());
        let told = FailReason::told("Bad gateway.");
        assert!(fr.failure(Some(FailCode::Network), None).contains("réseau"));
        assert!(en
            .failure(Some(FailCode::Server(ErrorCode::FileTooLarge)), Some(&told))
            .contains("limit"));
        // Trouble without a sentence of its own shows the server's words.
        assert_eq!(
            en.failure(Some(FailCode::Http(502)), Some(&told)),
            "Bad gateway."
        );
        assert_eq!(en.failure(None, None), "The upload failed.");
        let gave_up = FailReason::PartGaveUp {
            part: crate::core::PartNumber(5),
            attempts: 3,
            last: Box::new(FailReason::Status { status: 500 }),
        };
        assert_eq!(
            en.failure(Some(FailCode::Http(500)), Some(&gave_up)),
            "Part 5 failed 3 times; last error: The upload was refused (HTTP 500)."
        );
        assert!(de
            .failure(Some(FailCode::Http(500)), Some(&gave_up))
            .contains("Teil 5"));
        let resumed = Note::Resumed {
            stored: 3,
            count: 8,
        };
        assert_eq!(
            en.note(&resumed),
            "Resumed: 3 of 8 parts were already stored."
        );
        assert!(Messages::new("de", HashMap::new())
            .note(&Note::Dropped(RecordError::Expired))
            .contains("abgelaufen"));
    }
}
